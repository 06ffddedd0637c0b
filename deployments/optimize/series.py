"""Interval and symbol as sweep axes: the bar series of a job and the grid that spans them.

A job sweeps its strategy parameters over one or more bar series, one per (symbol, interval).
When more than one interval (or symbol) is asked for, ``interval`` (``symbol``) becomes an axis
of the grid like a parameter: each combination names its series, and the surface, the top
table and the heatmap carry it. Pure: no Ray, Redis or web framework.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from deployments.optimize.grid import Grid
from kernels.backtest import Context

SERIES_AXES = ("interval", "symbol")
"""Grid axes that name a bar series rather than a strategy parameter."""


@dataclass(frozen=True, eq=False)
class Series:
    """One symbol's bars at one interval, with their kernel context (None: none needed)."""

    symbol: str
    interval: str
    bars: tuple[np.ndarray, ...]
    context: Context | None

    @property
    def key(self) -> tuple[str, str]:
        """``(symbol, interval)``."""
        return self.symbol, self.interval


def with_series_axes(grid: Grid, symbols: list[str], intervals: list[str]) -> Grid:
    """``grid`` times the intervals and symbols that are swept (more than one value each): the
    new axes come last, the parameters vary fastest."""
    extra = [(name, values) for name, values in (("interval", intervals), ("symbol", symbols))
             if len(values) > 1]
    if not extra:
        return grid
    names = grid.names + tuple(name for name, _ in extra)
    axes = {**grid.axes, **{name: list(values) for name, values in extra}}
    combinations, index = [], []
    for outer in np.ndindex(*(len(values) for _, values in extra)):
        labels = {name: values[k] for (name, values), k in zip(extra, outer, strict=True)}
        combinations += [{**values, **labels} for values in grid.combinations]
        index.append(np.hstack([grid.index, np.tile(np.array(outer, np.int32),
                                                    (len(grid), 1))]))
    return Grid(names, axes, combinations, np.vstack(index).astype(np.int32))


def series_of(values: dict[str, Any], symbol: str, interval: str) -> tuple[str, str]:
    """The ``(symbol, interval)`` a combination runs on (the job's own unless swept)."""
    return values.get("symbol", symbol), values.get("interval", interval)


def strategy_params(values: dict[str, Any]) -> dict[str, Any]:
    """A combination's strategy parameters (its series labels left out)."""
    return {name: value for name, value in values.items() if name not in SERIES_AXES}
