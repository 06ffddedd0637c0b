"""Sweeps any strategy over a parameter grid: signals chunk by chunk, metrics in parallel.

For each chunk of combinations the strategy's own signal function fills two ``(bars, chunk)``
boolean matrices, and :func:`kernels.backtest.sweep_signals` (CPU) or
:func:`kernels.backtest_cuda.sweep_signals_cuda` (GPU) simulates every column at once. Memory
stays O(bars x chunk + combinations) however large the grid. Arrays in, arrays out; the
signal function is passed in, so this module knows no strategy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from kernels.backtest import checked_signals, sweep_signals
from kernels.backtest_core import METRIC_COUNT

Sweep = Callable[..., np.ndarray]


def sweep_strategy(
    signals: Callable[..., tuple[np.ndarray, np.ndarray]],
    bars: tuple[np.ndarray, ...],
    combinations: Sequence[dict[str, Any]],
    params: np.ndarray,
    chunk: int = 256,
    sweep: Sweep = sweep_signals,
) -> np.ndarray:
    """Metrics (one row per combination) of ``signals`` over ``bars`` = ``(t, o, h, l, c, v)``.

    >>> sweep_strategy(rsi.signals, bars, [{"window": 14, "lower": 30.0, "upper": 70.0}],
    ...                params)  # doctest: +SKIP
    """
    t, o, h, l, c, v = bars
    rows = []
    for first in range(0, len(combinations), chunk):
        part = combinations[first:first + chunk]
        enter = np.empty((t.size, len(part)), dtype=np.bool_)
        leave = np.empty((t.size, len(part)), dtype=np.bool_)
        for k, values in enumerate(part):
            enter[:, k], leave[:, k] = checked_signals(*signals(o, h, l, c, v, **values),
                                                       t.size)
        rows.append(sweep(t, o, h, l, c, enter, leave, params))
    return np.concatenate(rows) if rows else np.empty((0, METRIC_COUNT))
