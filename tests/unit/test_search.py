"""Search methods over a grid: random draws and Bayesian proposals stay on the grid (bounds and
constraints), stop at their trials and repeat for a seed."""

from __future__ import annotations

import numpy as np
import pytest

from deployments.optimize.grid import expand_grid
from deployments.optimize.search import BayesianSearch, GridSearch, RandomSearch, make_search
from strategies.registry import load_registry

SMA = load_registry().strategies["sma_cross"]
GRID = expand_grid(SMA, {"fast": {"min": 2, "max": 40, "step": 1},
                         "slow": {"min": 5, "max": 80, "step": 5}}, None)


def _run(search, objective, grid=GRID, batch: int = 16) -> list[int]:
    seen = []
    while not search.done:
        positions = search.ask(batch)
        if not positions:
            break
        search.tell(positions, [objective(grid.combinations[k]) for k in positions])
        seen += positions
    return seen


def _peak(values: dict) -> float:
    return -((values["fast"] - 12) ** 2) - ((values["slow"] - 50) / 5) ** 2


def test_grid_search_hands_out_every_combination_once():
    assert _run(GridSearch(GRID), _peak, batch=100) == list(range(len(GRID)))


@pytest.mark.parametrize("method", ["random", "bayesian"])
def test_sampled_searches_stop_at_their_trials_on_the_grid_and_repeat_for_a_seed(method):
    first = _run(make_search(method, GRID, 60, seed=5, maximize=True), _peak)
    assert len(first) == len(set(first)) == 60
    assert all(GRID.combinations[k]["fast"] < GRID.combinations[k]["slow"] for k in first)
    assert first == _run(make_search(method, GRID, 60, seed=5, maximize=True), _peak)
    assert first != _run(make_search(method, GRID, 60, seed=6, maximize=True), _peak)


def test_bayesian_search_finds_more_of_the_peak_than_random_draws():
    bayes = _run(BayesianSearch(GRID, 120, seed=1, maximize=True), _peak)
    draws = _run(RandomSearch(GRID, 120, seed=1), _peak)
    score = {name: np.mean(sorted(_peak(GRID.combinations[k]) for k in found)[-20:])
             for name, found in (("bayes", bayes), ("random", draws))}
    assert score["bayes"] > score["random"]


def test_a_search_never_asks_for_more_than_the_grid_holds():
    small = expand_grid(SMA, {"fast": [3, 5], "slow": [4, 10]}, None)  # 3 pairs: fast < slow
    for method in ("random", "bayesian"):
        asked = _run(make_search(method, small, 50, seed=0, maximize=True),
                     lambda values: float(values["fast"]), grid=small, batch=8)
        assert sorted(asked) == list(range(len(small)))
