"""The parameter sweep on an NVIDIA GPU: one CUDA thread per parameter combination.

The per-bar core is :mod:`kernels.backtest_core` compiled as CUDA device functions from the
same source as the CPU build, so a sweep gives the CPU's numbers. Without a GPU, set
``NUMBA_ENABLE_CUDASIM=1`` before importing Numba to run it on the CUDA simulator (slow: small
data only).
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda, float64

from kernels import backtest_core as core
from kernels.backtest import years_spanned
from kernels.core_compiler import compile_core
from kernels.indicators import prefix_sum, sma_at

_gpu = compile_core(lambda f: cuda.jit(device=True)(f))
_reset, _step, _finish, _quiet = _gpu.reset, _gpu.step, _gpu.finish, _gpu.quiet_bar
_sma_at = cuda.jit(device=True)(sma_at.py_func)
_STATE, _METRICS = core.STATE_SIZE, core.METRIC_COUNT
THREADS_PER_BLOCK = 128


@cuda.jit
def _sweep_sma_cross_kernel(o, h, l, c, prefix, fasts, slows, params, years, no_trades, out):
    k = cuda.grid(1)
    if k >= fasts.size:
        return
    state = cuda.local.array(_STATE, float64)
    _reset(state, params)
    n = c.size
    previous = math.nan
    for i in range(n):
        diff = _sma_at(prefix, i, fasts[k]) - _sma_at(prefix, i, slows[k])
        up = previous <= 0.0 < diff
        down = previous >= 0.0 > diff
        if math.isnan(_quiet(state, params, i, n - 1, c[i], up, down)):
            _step(state, params, i, n - 1, o[i], h[i], l[i], c[i], up, down, no_trades, False)
        previous = diff
    _finish(state, params, years, out[k])


@cuda.jit
def _sweep_signals_kernel(o, h, l, c, enter, leave, params, years, no_trades, out):
    k = cuda.grid(1)
    if k >= enter.shape[1]:
        return
    state = cuda.local.array(_STATE, float64)
    _reset(state, params)
    n = c.size
    for i in range(n):
        if math.isnan(_quiet(state, params, i, n - 1, c[i], enter[i, k], leave[i, k])):
            _step(state, params, i, n - 1, o[i], h[i], l[i], c[i], enter[i, k], leave[i, k],
                  no_trades, False)
    _finish(state, params, years, out[k])


def sweep_signals_cuda(t, o, h, l, c, enter, leave, params) -> np.ndarray:
    """:func:`kernels.backtest.sweep_signals` on the GPU: same inputs, same numbers."""
    combos = enter.shape[1]
    out = cuda.device_array((combos, _METRICS), dtype=np.float64)
    blocks = max(1, math.ceil(combos / THREADS_PER_BLOCK))
    _sweep_signals_kernel[blocks, THREADS_PER_BLOCK](
        cuda.to_device(o), cuda.to_device(h), cuda.to_device(l), cuda.to_device(c),
        cuda.to_device(np.ascontiguousarray(enter, np.bool_)),
        cuda.to_device(np.ascontiguousarray(leave, np.bool_)), cuda.to_device(params),
        years_spanned(t), cuda.to_device(np.empty((1, 8))), out,
    )
    return out.copy_to_host()


def gpu_available() -> bool:
    """True when a CUDA GPU (or the CUDA simulator) can run the sweep."""
    try:
        return cuda.is_available()
    except Exception:  # no driver, no toolkit: no GPU
        return False


def sweep_sma_cross_cuda(t, o, h, l, c, fasts, slows, params) -> np.ndarray:
    """:func:`kernels.backtest.sweep_sma_cross` on the GPU: same inputs, same numbers."""
    fasts = np.asarray(fasts, np.int64)
    out = cuda.device_array((fasts.size, _METRICS), dtype=np.float64)
    blocks = max(1, math.ceil(fasts.size / THREADS_PER_BLOCK))
    _sweep_sma_cross_kernel[blocks, THREADS_PER_BLOCK](
        cuda.to_device(o), cuda.to_device(h), cuda.to_device(l), cuda.to_device(c),
        cuda.to_device(prefix_sum(c)), cuda.to_device(fasts),
        cuda.to_device(np.asarray(slows, np.int64)), cuda.to_device(params),
        years_spanned(t), cuda.to_device(np.empty((1, 8))), out,
    )
    return out.copy_to_host()
