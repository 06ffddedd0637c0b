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

from kernels.backtest import Context, bar_context, checked_signals, slice_context, sweep_signals
from kernels.backtest_core import METRIC_COUNT

Sweep = Callable[..., np.ndarray]


def sweep_strategy(
    signals: Callable[..., tuple[np.ndarray, np.ndarray]],
    bars: tuple[np.ndarray, ...],
    combinations: Sequence[dict[str, Any]],
    params: np.ndarray,
    chunk: int = 256,
    sweep: Sweep = sweep_signals,
    context: Context | None = None,
) -> np.ndarray:
    """Metrics (one row per combination) of ``signals`` over ``bars`` = ``(t, o, h, l, c, v)``.

    >>> from kernels.backtest import METRICS, pack_params
    >>> t, c = np.arange(6) * 86_400, np.array([10.0, 11.0, 12.0, 11.0, 12.0, 13.0])
    >>> def above(o, h, l, c, v, level):  # in while the close is above level
    ...     return c > level, c < level
    >>> params = pack_params(0, True, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 100.0)
    >>> metrics = sweep_strategy(above, (t, c, c, c, c, c), [{"level": 10.5}, {"level": 99.0}],
    ...                          params)
    >>> metrics[:, [METRICS.index("total_return"), METRICS.index("num_trades")]].round(4)
    array([[0.1818, 1.    ],
           [0.    , 0.    ]])
    """
    return sweep_segments(signals, bars, combinations, params, [(0, bars[0].size)], chunk,
                          sweep, context)[0]


def sweep_segments(
    signals: Callable[..., tuple[np.ndarray, np.ndarray]],
    bars: tuple[np.ndarray, ...],
    combinations: Sequence[dict[str, Any]],
    params: np.ndarray,
    segments: Sequence[tuple[int, int]],
    chunk: int = 256,
    sweep: Sweep = sweep_signals,
    context: Context | None = None,
) -> np.ndarray:
    """Metrics of every combination over each bar range ``[start, end)`` of ``segments``:
    shape ``(segments, combinations, metrics)``.

    Signals are computed once over all bars and sliced, so a segment's indicators are warmed
    up by the bars before it (signals must be causal, as every strategy's are); a segment
    trades as a backtest of only its own bars would. ``context`` is the bars'
    :func:`kernels.backtest.bar_context`.
    """
    t, o, h, l, c, v = bars
    context = bar_context(t.size) if context is None else context
    out = np.empty((len(segments), len(combinations), METRIC_COUNT))
    for first in range(0, len(combinations), chunk):
        part = combinations[first:first + chunk]
        enter = np.empty((t.size, len(part)), dtype=np.bool_)
        leave = np.empty((t.size, len(part)), dtype=np.bool_)
        for k, values in enumerate(part):
            enter[:, k], leave[:, k] = checked_signals(*signals(o, h, l, c, v, **values),
                                                       t.size)
        for s, (start, end) in enumerate(segments):
            out[s, first:first + len(part)] = sweep(
                t[start:end], o[start:end], h[start:end], l[start:end], c[start:end],
                enter[start:end], leave[start:end], params,
                slice_context(context, start, end))
    return out
