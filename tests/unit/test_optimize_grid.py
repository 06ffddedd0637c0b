"""Grids, rankings and walk-forward windows of an optimization (no cluster needed)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from deployments.common.errors import FieldError
from deployments.optimize.chunks import chunk_bounds
from deployments.optimize.grid import expand_grid
from deployments.optimize.result import ranking, walk_forward_segments
from strategies.bollinger_reversion import STRATEGY as BOLLINGER
from strategies.sma_cross import STRATEGY as SMA


def test_ranges_and_lists_expand_with_constraints_and_defaults():
    grid = expand_grid(SMA, {"fast": {"min": 10, "max": 30, "step": 10}, "slow": [40, 20, 20]},
                       1000)
    assert grid.axes == {"fast": [10, 20, 30], "slow": [20, 40]}  # sorted, deduplicated
    assert grid.combinations == [{"fast": 10, "slow": 20}, {"fast": 10, "slow": 40},
                                 {"fast": 20, "slow": 40}, {"fast": 30, "slow": 40}]
    assert grid.index.tolist() == [[0, 0], [0, 1], [1, 1], [2, 1]]
    only_fast = expand_grid(SMA, {"fast": [5, 6]}, 1000)
    assert [c["slow"] for c in only_fast.combinations] == [30, 30]  # the default


def test_float_steps_do_not_drift():
    name = next(p.name for p in BOLLINGER.params if p.kind == "float")
    param = next(p for p in BOLLINGER.params if p.name == name)
    low = param.min if param.min is not None else 0.5
    grid = expand_grid(BOLLINGER, {name: {"min": low, "max": low + 1.0, "step": 0.1}}, 1000)
    values = grid.axes[name]
    assert len(values) == 11 and values[-1] == pytest.approx(low + 1.0, abs=1e-12)
    assert values[3] == round(low + 0.3, 10)


def test_the_limit_counts_before_expanding():
    with pytest.raises(FieldError, match="holds 997002 combinations") as error:
        expand_grid(SMA, {"fast": {"min": 2, "max": 500, "step": 1},
                          "slow": {"min": 3, "max": 2000, "step": 1}}, 100_000)
    assert error.value.field == "grid"


def test_ranking_puts_nan_last_and_minimises_drawdown():
    values = np.array([0.5, np.nan, 2.0, 0.5, -1.0])
    assert ranking(values, "sharpe").tolist() == [2, 0, 3, 4, 1]
    assert ranking(values, "max_drawdown").tolist() == [4, 0, 3, 2, 1]


def test_walk_forward_windows_cover_the_range_in_order():
    windows = walk_forward_segments(103, 3, 0.25)
    assert windows == [((0, 26), (26, 34)), ((34, 60), (60, 68)), ((68, 94), (94, 103))]
    assert walk_forward_segments(10, 3, 0.5) == []  # a part would hold fewer than two bars


def test_chunks_cover_every_combination_once():
    for total, slots in ((1, 4), (100, 4), (10_000, 3), (12_345, 64)):
        bounds = chunk_bounds(total, slots, 3)
        assert bounds[0][0] == 0 and bounds[-1][1] == total
        assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))


@pytest.mark.parametrize("axis", [{"min": 0, "max": 1e308, "step": 1e-10},
                                  {"min": -1e308, "max": 1e308, "step": 1},
                                  {"min": 0, "max": 10, "step": 5e-324}])
def test_an_overflowing_range_is_a_field_error(axis):
    with pytest.raises(FieldError, match="at most") as error:
        expand_grid(SMA, {"fast": axis}, 100_000)
    assert error.value.field == "grid.fast"
