"""How an optimization walks its grid: every combination, a seeded random sample, or Bayesian
search (Optuna: TPE, CMA-ES when every swept parameter is a float) in ask/tell batches.

A search hands out batches of grid positions (indices into ``Grid.combinations``, so bounds
and constraints hold by construction) and is told their objective values; it is done once it
has handed out ``trials`` distinct combinations, or the whole grid. Pure Python + Optuna: no
Ray, Redis or web framework.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from deployments.optimize.grid import Grid

METHODS = ("grid", "random", "bayesian")
ASKS_PER_TRIAL = 20
"""A Bayesian search gives up after this many asks per trial that only repeat known cells."""


class Search(Protocol):
    """Batches of grid positions to evaluate, and what came of them."""

    done: bool

    def ask(self, size: int) -> list[int]:
        """Up to ``size`` positions not handed out before (empty once done)."""

    def tell(self, positions: Sequence[int], values: Sequence[float]) -> None:
        """The objective of each position asked (NaN: it does not count, e.g. too few
        trades)."""


class GridSearch:
    """Every combination, in grid order."""

    def __init__(self, grid: Grid) -> None:
        self._next, self._size = 0, len(grid)
        self.done = self._size == 0

    def ask(self, size: int) -> list[int]:
        """The next ``size`` positions in grid order."""
        first, self._next = self._next, min(self._size, self._next + size)
        self.done = self._next >= self._size
        return list(range(first, self._next))

    def tell(self, positions: Sequence[int], values: Sequence[float]) -> None:
        """Nothing to learn."""


class RandomSearch(GridSearch):
    """``trials`` distinct combinations drawn at random (reproducible for a ``seed``)."""

    def __init__(self, grid: Grid, trials: int, seed: int) -> None:
        super().__init__(grid)
        order = np.random.default_rng(seed).permutation(len(grid))[:trials]
        self._order = order.tolist()
        self._size = len(self._order)
        self.done = self._size == 0

    def ask(self, size: int) -> list[int]:
        """The next ``size`` drawn positions."""
        return [self._order[k] for k in super().ask(size)]


def _evenly_spaced(values: list[Any]) -> bool:
    if len(values) < 2 or not all(isinstance(v, int | float) and not isinstance(v, bool)
                                  for v in values):
        return False
    steps = np.diff(np.asarray(values, dtype=np.float64))
    return bool(np.allclose(steps, steps[0], rtol=1e-9, atol=1e-12) and steps[0] > 0)


def distributions(grid: Grid) -> dict[str, Any]:
    """An Optuna distribution per axis: integer or float steps for evenly spaced numbers (so
    the sampler sees their order), categories otherwise."""
    import optuna

    out: dict[str, Any] = {}
    for name in grid.names:
        values = grid.axes[name]
        if _evenly_spaced(values) and all(isinstance(v, int) for v in values):
            out[name] = optuna.distributions.IntDistribution(
                values[0], values[-1], step=values[1] - values[0])
        elif _evenly_spaced(values):
            out[name] = optuna.distributions.FloatDistribution(
                values[0], values[-1], step=(values[-1] - values[0]) / (len(values) - 1))
        else:
            out[name] = optuna.distributions.CategoricalDistribution(values)
    return out


class BayesianSearch:
    """Optuna ask/tell over the grid's axes: TPE, or CMA-ES when every axis is a float range of
    two or more parameters. A proposal outside the grid (a broken constraint) is told as failed
    and asked again; one that repeats a known combination is told its known value."""

    def __init__(self, grid: Grid, trials: int, seed: int, maximize: bool) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._grid = grid
        self._where = {tuple(row): k for k, row in enumerate(grid.index.tolist())}
        self._distributions = distributions(grid)
        floats = all(isinstance(d, optuna.distributions.FloatDistribution)
                     for d in self._distributions.values())
        sampler = (optuna.samplers.CmaEsSampler(seed=seed)
                   if floats and len(grid.names) >= 2
                   else optuna.samplers.TPESampler(seed=seed, constant_liar=True))
        self.sampler = type(sampler).__name__
        self._study = optuna.create_study(direction="maximize" if maximize else "minimize",
                                          sampler=sampler)
        self._trials = min(trials, len(grid))
        self._asked: dict[int, Any] = {}  # position -> its open Optuna trial
        self._known: dict[int, float] = {}
        self._handed = 0
        self._asks_left = ASKS_PER_TRIAL * max(1, self._trials)
        self.done = self._trials == 0

    def _position(self, params: dict[str, Any]) -> int | None:
        key = []
        for name in self._grid.names:
            values = self._grid.axes[name]
            value = params[name]
            if isinstance(value, float) and not isinstance(values[0], str):
                k = int(np.argmin(np.abs(np.asarray(values, np.float64) - value)))
            else:
                k = values.index(value)
            key.append(k)
        return self._where.get(tuple(key))

    def ask(self, size: int) -> list[int]:
        """Up to ``size`` new positions proposed by the sampler."""
        import optuna

        batch: list[int] = []
        while len(batch) < size and self._handed < self._trials and self._asks_left > 0:
            self._asks_left -= 1
            trial = self._study.ask(self._distributions)
            position = self._position(trial.params)
            if position is None:
                self._study.tell(trial, state=optuna.trial.TrialState.FAIL)
            elif position in self._known:
                self._tell(trial, self._known[position])
            elif position in self._asked or position in batch:
                self._study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                self._asked[position] = trial
                batch.append(position)
                self._handed += 1
        self.done = self._handed >= self._trials or self._asks_left <= 0
        if self._asks_left <= 0:
            logging.getLogger(__name__).info("bayesian search: the sampler kept proposing "
                                             "known combinations; %d evaluated", self._handed)
        return batch

    def _tell(self, trial: Any, value: float) -> None:
        import optuna

        if math.isfinite(value):
            self._study.tell(trial, value)
        else:
            self._study.tell(trial, state=optuna.trial.TrialState.FAIL)

    def tell(self, positions: Sequence[int], values: Sequence[float]) -> None:
        """The objectives of asked positions."""
        for position, value in zip(positions, values, strict=True):
            self._known[position] = float(value)
            self._tell(self._asked.pop(position), float(value))


def make_search(method: str, grid: Grid, trials: int | None, seed: int,
                maximize: bool) -> Search:
    """The search ``method`` over ``grid`` (``trials`` defaults to the whole grid)."""
    count = len(grid) if trials is None else trials
    if method == "random":
        return RandomSearch(grid, count, seed)
    if method == "bayesian":
        return BayesianSearch(grid, count, seed, maximize)
    return GridSearch(grid)
