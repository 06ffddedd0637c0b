"""CUDA sweeps at 1,000,000 bars x 10,000 combinations: bar-evaluations per second next to the
device's memory-bandwidth bound and the CPU sweep on the same bars.

The SMA and EMA crossover sweeps an optimization's GPU chunk tasks run
(:mod:`kernels.backtest_cuda`), 0.05% fee, next-open fills. One bar-evaluation is one
combination stepped over one bar. The bound: if every thread streamed its own open, high, low,
close and two prefix-sum (or two line) values from device memory for each bar (48 bytes), the
device could not go faster than ``bandwidth / 48`` bar-evaluations/s; threads of a warp read the
same bar at once, so a kernel near or past it is served from cache, i.e. compute bound.

Without a CUDA device it prints the README's roofline estimate and exits (it never runs on the
CUDA simulator: 10^10 bar-evaluations would take days there).
"""

from __future__ import annotations

import time

import numpy as np

from bench.sweep import _bars

BARS, COMBINATIONS = 1_000_000, 10_000
BYTES_PER_BAR_EVALUATION = 48
CPU_SAMPLE = 200
"""Combinations the CPU sweep runs on the same bars (its rate is per combination)."""


def _grid() -> tuple[np.ndarray, np.ndarray]:
    fasts, slows = np.meshgrid(np.arange(2, 102), np.arange(105, 205), indexing="ij")
    return fasts.ravel()[:COMBINATIONS], slows.ravel()[:COMBINATIONS]


def bandwidth_bytes_per_s() -> float:
    """The current device's peak memory bandwidth from its clock and bus width."""
    from numba import cuda

    device = cuda.get_current_device()
    clock_hz = device.MEMORY_CLOCK_RATE * 1e3  # reported in kHz
    return 2 * clock_hz * device.GLOBAL_MEMORY_BUS_WIDTH / 8  # double data rate


def main() -> None:
    """Time the CUDA sweeps (or print the estimate without a device)."""
    from numba import cuda

    if not cuda.is_available():
        print("no CUDA device here: not measured. Roofline estimate (README, 'GPU sweeps'): "
              "an H100/H200-class device (3.3-4.8 TB/s) bounds a sweep that streamed 48 bytes "
              "per bar-evaluation at 7e10-1e11 bar-evaluations/s; the SMA sweep reads each "
              "bar once per warp, so it is compute bound below that")
        return
    from kernels.backtest import METRICS, pack_params
    from kernels.backtest_cuda import sweep_ema_cross_cuda, sweep_sma_cross_cuda
    from kernels.crossover_sweep import sweep_sma_cross

    t, o, h, l, c = _bars(BARS)  # bench.sweep's one-minute walk
    fasts, slows = _grid()
    params = pack_params(0, False, 0.0005, 0.0, 0.0, 0.0, 0.0, 1.0, 100_000.0)
    whole = [(0, BARS)]
    name = getattr(cuda.get_current_device(), "name", "CUDA device")
    name = name.decode() if isinstance(name, bytes) else name
    bound = bandwidth_bytes_per_s() / BYTES_PER_BAR_EVALUATION
    print(f"{name}: memory bandwidth {bandwidth_bytes_per_s() / 1e12:.2f} TB/s -> streaming "
          f"bound {bound:.2e} bar-evaluations/s")
    evaluations = BARS * COMBINATIONS
    warm = min(5000, BARS)
    out, rates = {}, {}
    for label, sweep in (("SMA", sweep_sma_cross_cuda), ("EMA", sweep_ema_cross_cuda)):
        sweep(t[:warm], o[:warm], h[:warm], l[:warm], c[:warm], fasts[:64], slows[:64], params,
              [(0, warm)])  # compile
        times = []
        for _ in range(2):
            began = time.perf_counter()
            out[label] = sweep(t, o, h, l, c, fasts, slows, params, whole)[0]
            times.append(time.perf_counter() - began)
        rates[label] = evaluations / min(times)
        print(f"CUDA {label} crossover {BARS:,} bars x {COMBINATIONS:,}: {min(times):7.3f} s  "
              f"{rates[label]:.2e} bar-evaluations/s = {rates[label] / bound:.2f}x the "
              "streaming bound")
    sweep_sma_cross(t[:warm], o[:warm], h[:warm], l[:warm], c[:warm], fasts[:8], slows[:8],
                    params, [(0, warm)])
    began = time.perf_counter()
    cpu = sweep_sma_cross(t, o, h, l, c, fasts[:CPU_SAMPLE], slows[:CPU_SAMPLE], params,
                          whole)[0]
    cpu_rate = BARS * CPU_SAMPLE / (time.perf_counter() - began)
    column = METRICS.index("total_return")
    difference = np.nanmax(np.abs(out["SMA"][:CPU_SAMPLE, column] - cpu[:, column]))
    print(f"CPU SMA sweep (this host, {CPU_SAMPLE} combinations): {cpu_rate:.2e} "
          f"bar-evaluations/s; the GPU is {rates['SMA'] / cpu_rate:.0f}x; largest total-return "
          f"difference GPU vs CPU {difference:.1e}")


if __name__ == "__main__":
    main()
