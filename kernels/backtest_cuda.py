"""The parameter sweep on an NVIDIA GPU: one CUDA thread per parameter combination.

The per-bar core is :mod:`kernels.backtest_core` compiled as CUDA device functions from the
same source as the CPU build, so a sweep gives the CPU's numbers: the signal-matrix sweep and
the dedicated crossover sweeps of :mod:`kernels.crossover_sweep` (whose EMA lines are computed
on the CPU and handed over, see its pitfalls). Without a GPU, set
``NUMBA_ENABLE_CUDASIM=1`` before importing Numba to run it on the CUDA simulator (slow: small
data only).
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda, float64

from kernels import backtest_core as core
from kernels.backtest import Context, bar_context, years_spanned
from kernels.core_compiler import compile_core
from kernels.crossover_sweep import (
    LINE_BYTES,
    checked_pairs,
    checked_segments,
    segment_years,
    sweep_line_cross,
)
from kernels.indicators import ema, prefix_sum

_gpu = compile_core(lambda f: cuda.jit(device=True)(f))
_reset, _finish, _quiet, _step = _gpu.reset, _gpu.finish, _gpu.quiet_bar, _gpu.step
_cross_bar, _window_mean = _gpu.cross_bar, _gpu.window_mean
_STATE, _METRICS = core.STATE_SIZE, core.METRIC_COUNT
THREADS_PER_BLOCK = 128


@cuda.jit
def _sweep_signals_kernel(o, h, l, c, enter, leave, params, years, no_trades, ends, bounds,
                          base_o, base_h, base_l, out):
    k = cuda.grid(1)
    if k >= enter.shape[1]:
        return
    state = cuda.local.array(_STATE, float64)
    _reset(state, params)
    n = c.size
    for i in range(n):
        if math.isnan(_quiet(state, params, i, n - 1, c[i], enter[i, k], leave[i, k],
                             ends[i])):
            _step(state, params, i, n - 1, o[i], h[i], l[i], c[i], enter[i, k], leave[i, k],
                  no_trades, False, ends[i], base_o, base_h, base_l, bounds[i], bounds[i + 1])
    _finish(state, params, years, out[k])


@cuda.jit
def _sweep_window_cross_kernel(o, h, l, c, prefix, fasts, slows, params, segments, years,
                               no_trades, ends, bounds, base_o, base_h, base_l, out):
    job = cuda.grid(1)
    pairs = fasts.size
    if job >= segments.shape[0] * pairs:
        return
    g, k = job // pairs, job % pairs
    start, end = segments[g, 0], segments[g, 1]
    fast, slow = fasts[k], slows[k]
    state = cuda.local.array(_STATE, float64)
    _reset(state, params)
    previous = math.nan
    if start > 0:
        previous = _window_mean(prefix, start - 1, fast) - _window_mean(prefix, start - 1, slow)
    for i in range(start, end):
        diff = _window_mean(prefix, i, fast) - _window_mean(prefix, i, slow)
        _cross_bar(state, params, i - start, end - start - 1, o[i], h[i], l[i], c[i], previous,
                   diff, no_trades, i, ends, bounds, base_o, base_h, base_l)
        previous = diff
    _finish(state, params, years[g], out[g, k])


@cuda.jit
def _sweep_line_cross_kernel(o, h, l, c, lines, first, second, params, segments, years,
                             no_trades, ends, bounds, base_o, base_h, base_l, out):
    job = cuda.grid(1)
    pairs = first.size
    if job >= segments.shape[0] * pairs:
        return
    g, k = job // pairs, job % pairs
    start, end = segments[g, 0], segments[g, 1]
    fast, slow = first[k], second[k]
    state = cuda.local.array(_STATE, float64)
    _reset(state, params)
    previous = math.nan
    if start > 0:
        previous = lines[fast, start - 1] - lines[slow, start - 1]
    for i in range(start, end):
        diff = lines[fast, i] - lines[slow, i]
        _cross_bar(state, params, i - start, end - start - 1, o[i], h[i], l[i], c[i], previous,
                   diff, no_trades, i, ends, bounds, base_o, base_h, base_l)
        previous = diff
    _finish(state, params, years[g], out[g, k])


def _blocks(threads: int) -> int:
    return max(1, math.ceil(threads / THREADS_PER_BLOCK))


def _on_device(bars: int, context: Context | None) -> tuple:
    """The bars' context (:func:`kernels.backtest.bar_context`) as device arrays."""
    return tuple(cuda.to_device(array) for array in
                 (bar_context(bars) if context is None else context))


def sweep_signals_cuda(t, o, h, l, c, enter, leave, params,
                       context: Context | None = None) -> np.ndarray:
    """:func:`kernels.backtest.sweep_signals` on the GPU: same inputs, same numbers."""
    combos = enter.shape[1]
    out = cuda.device_array((combos, _METRICS), dtype=np.float64)
    _sweep_signals_kernel[_blocks(combos), THREADS_PER_BLOCK](
        cuda.to_device(o), cuda.to_device(h), cuda.to_device(l), cuda.to_device(c),
        cuda.to_device(np.ascontiguousarray(enter, np.bool_)),
        cuda.to_device(np.ascontiguousarray(leave, np.bool_)), cuda.to_device(params),
        years_spanned(t), cuda.to_device(np.empty((1, core.TRADE_WIDTH))),
        *_on_device(c.size, context), out,
    )
    return out.copy_to_host()


def sweep_sma_cross_cuda(t, o, h, l, c, fasts, slows, params, segments,
                         context: Context | None = None) -> np.ndarray:
    """:func:`kernels.crossover_sweep.sweep_sma_cross` on the GPU: same inputs, same numbers."""
    fasts, slows = checked_pairs(fasts, slows)
    segments = checked_segments(segments, c.size)
    out = cuda.device_array((segments.shape[0], fasts.size, _METRICS), dtype=np.float64)
    _sweep_window_cross_kernel[_blocks(segments.shape[0] * fasts.size), THREADS_PER_BLOCK](
        cuda.to_device(o), cuda.to_device(h), cuda.to_device(l), cuda.to_device(c),
        cuda.to_device(prefix_sum(c)), cuda.to_device(fasts), cuda.to_device(slows),
        cuda.to_device(params), cuda.to_device(segments),
        cuda.to_device(segment_years(t, segments)),
        cuda.to_device(np.empty((1, core.TRADE_WIDTH))), *_on_device(c.size, context), out,
    )
    return out.copy_to_host()


def _run_line_cross(o, h, l, c, lines, first, second, params, segments, years,
                    *context) -> np.ndarray:
    """:func:`kernels.backtest_core.sweep_line_cross` on the GPU (lines computed by the CPU)."""
    out = cuda.device_array((segments.shape[0], first.size, _METRICS), dtype=np.float64)
    _sweep_line_cross_kernel[_blocks(segments.shape[0] * first.size), THREADS_PER_BLOCK](
        cuda.to_device(o), cuda.to_device(h), cuda.to_device(l), cuda.to_device(c),
        cuda.to_device(lines), cuda.to_device(first), cuda.to_device(second),
        cuda.to_device(params), cuda.to_device(segments), cuda.to_device(years),
        cuda.to_device(np.empty((1, core.TRADE_WIDTH))), *_on_device(c.size, context), out,
    )
    return out.copy_to_host()


def sweep_ema_cross_cuda(t, o, h, l, c, fasts, slows, params, segments,
                         max_bytes: int = LINE_BYTES, context: Context | None = None
                         ) -> np.ndarray:
    """:func:`kernels.crossover_sweep.sweep_ema_cross` on the GPU: same inputs, same numbers
    (the EMA lines are computed on the CPU, ``max_bytes`` of them on the device at once)."""
    return sweep_line_cross(ema, t, o, h, l, c, fasts, slows, params, segments, max_bytes,
                            run=_run_line_cross, context=context)
