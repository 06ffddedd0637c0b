"""Dedicated sweeps of crossover strategies: a fast line against a slow line, for many pairs.

They give the numbers of the signal-matrix sweep (:func:`kernels.strategy_sweep.sweep_segments`
over ``crossings(line(c, fast), line(c, slow))``) without its ``(bars, pairs)`` signal
matrices: each pair's signals are decided inside the per-bar loop of
:func:`kernels.backtest_core.cross_bar`, from indicator values computed once and shared by
every pair that uses them.

- SMA: both means come from one prefix sum of the closes, O(bars) memory for any windows.
- EMA (or any other line): each distinct span's line is computed once by the very function the
  strategy's signals use, so the values are the same bits; pairs index into those lines. Lines
  take ``bars x 8`` bytes each: a grid whose lines exceed ``max_bytes`` is swept in tiles of
  pairs that each need at most that much (a line may then be computed once per tile).

Every result is ``(segments, pairs, metrics)``: ``segments`` are ``[start, end)`` bar ranges;
the indicators warm up on the bars before a segment, which trades as a backtest of its own
bars would (the rule of the signal-matrix sweep). Arrays in, arrays out.

Pitfalls: an EMA is recursive, so prefix sums cannot give it exactly. A GPU compiler may fuse
its multiply-add (one rounding instead of two) and land an ulp away, which flips a crossing
where the two lines nearly touch (flat prices); so the CUDA sweep is handed the lines computed
here on the CPU, never computes them itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from kernels import backtest_core as core
from kernels.backtest import Context, bar_context
from kernels.indicators import ema, prefix_sum

LINE_BYTES = 256 * 2**20
"""Default most bytes of indicator lines held at once by a line sweep."""

Line = Callable[[np.ndarray, int], np.ndarray]
Run = Callable[..., np.ndarray]


def checked_segments(segments: Sequence[tuple[int, int]] | np.ndarray, bars: int) -> np.ndarray:
    """``segments`` as an ``(S, 2)`` int64 array of ``0 <= start <= end <= bars``; ValueError
    otherwise (the kernels do no bounds checks)."""
    array = np.asarray(segments, dtype=np.int64).reshape(-1, 2)
    if array.size and (array.min() < 0 or array.max() > bars
                       or (array[:, 0] > array[:, 1]).any()):
        raise ValueError(f"segments must be [start, end) ranges inside 0..{bars}")
    return np.ascontiguousarray(array)


def segment_years(t: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Years each segment spans, first to last bar (0 for fewer than two bars)."""
    return np.array([float(t[end - 1] - t[start]) / core.YEAR_S if end - start > 1 else 0.0
                     for start, end in segments], dtype=np.float64)


def checked_pairs(fasts, slows) -> tuple[np.ndarray, np.ndarray]:
    """``fasts`` and ``slows`` as equally long int64 arrays of windows of at least 1 bar."""
    fasts, slows = np.asarray(fasts, np.int64).ravel(), np.asarray(slows, np.int64).ravel()
    if fasts.size != slows.size or (fasts.size and min(fasts.min(), slows.min()) < 1):
        raise ValueError("fasts and slows must be equally long windows of at least 1 bar")
    return fasts, slows


def line_tiles(fasts: np.ndarray, slows: np.ndarray, max_lines: int) -> list[np.ndarray]:
    """Indices of the pairs, in groups that each need at most ``max_lines`` (>= 2) distinct
    lines: one group when the whole grid fits, else tiles of the fast x slow values.

    >>> [tile.tolist() for tile in line_tiles(np.array([2, 2, 3]), np.array([5, 6, 6]), 4)]
    [[0, 1, 2]]
    >>> [tile.tolist() for tile in line_tiles(np.array([2, 2, 3]), np.array([5, 6, 6]), 2)]
    [[0], [1], [2]]
    """
    if np.union1d(fasts, slows).size <= max_lines:
        return [np.arange(fasts.size)]
    per_fast = max(1, max_lines // 2)
    per_slow = max(1, max_lines - per_fast)
    fast_tile = np.searchsorted(np.unique(fasts), fasts) // per_fast
    slow_tile = np.searchsorted(np.unique(slows), slows) // per_slow
    key = fast_tile * (int(slow_tile.max()) + 1) + slow_tile
    return [np.flatnonzero(key == tile) for tile in np.unique(key)]


def sweep_sma_cross(t, o, h, l, c, fasts, slows, params, segments,
                    context: Context | None = None) -> np.ndarray:
    """Metrics ``(segments, pairs, metrics)`` of the SMA crossover for every ``(fasts[k],
    slows[k])`` pair over each segment, in parallel on the CPU; memory O(bars + pairs).
    ``context``: the bars' :func:`kernels.backtest.bar_context`."""
    fasts, slows = checked_pairs(fasts, slows)
    segments = checked_segments(segments, c.size)
    context = bar_context(c.size) if context is None else context
    return core.sweep_window_cross(o, h, l, c, prefix_sum(c), fasts, slows, params, segments,
                                   segment_years(t, segments), *context)


def sweep_line_cross(line: Line, t, o, h, l, c, fasts, slows, params, segments,
                     max_bytes: int = LINE_BYTES, run: Run = core.sweep_line_cross,
                     context: Context | None = None) -> np.ndarray:
    """Metrics ``(segments, pairs, metrics)`` of the crossover of ``line(c, fasts[k])`` over
    ``line(c, slows[k])`` for every pair.

    Each distinct span's line is computed once (per tile), then ``run`` (the CPU driver, or a
    GPU one with its signature) sweeps the pairs."""
    fasts, slows = checked_pairs(fasts, slows)
    segments = checked_segments(segments, c.size)
    years = segment_years(t, segments)
    context = bar_context(c.size) if context is None else context
    out = np.empty((segments.shape[0], fasts.size, core.METRIC_COUNT))
    max_lines = max(2, max_bytes // (8 * max(1, c.size)))
    for tile in line_tiles(fasts, slows, max_lines):
        spans = np.union1d(fasts[tile], slows[tile])
        lines = np.empty((spans.size, c.size))
        for row, span in enumerate(spans):
            lines[row] = line(c, span)
        first = np.searchsorted(spans, fasts[tile])
        second = np.searchsorted(spans, slows[tile])
        out[:, tile] = run(o, h, l, c, lines, first, second, params, segments, years, *context)
    return out


def sweep_ema_cross(t, o, h, l, c, fasts, slows, params, segments,
                    max_bytes: int = LINE_BYTES, context: Context | None = None) -> np.ndarray:
    """Metrics ``(segments, pairs, metrics)`` of the EMA crossover for every ``(fasts[k],
    slows[k])`` pair of spans over each segment, in parallel on the CPU.

    Each distinct span's EMA is computed once (``bars x spans`` float64, tiled to at most
    ``max_bytes``)."""
    return sweep_line_cross(ema, t, o, h, l, c, fasts, slows, params, segments, max_bytes,
                            context=context)
