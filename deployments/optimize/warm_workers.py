"""Warm optimization workers: the kernels a job runs, compiled ahead and loaded in the worker
processes before the first job comes.

``python -m deployments.optimize.warm_workers`` (run by ``make install``) compiles every sweep
kernel once so Numba's cache holds them. At start the ``optimize-scheduler`` actor runs
:func:`warm_optimizer`: one orchestrator-shaped and one chunk-shaped task per slot, each
loading those kernels from the cache; Ray keeps the idle worker processes, and the first job's
tasks run in them instead of starting, importing and loading from scratch.
"""

from __future__ import annotations

import time

import numpy as np
import ray

from deployments.common.settings import Settings

WARM_BARS = 300


def _tiny_bars() -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(0)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, WARM_BARS)))
    o = np.r_[c[0], c[:-1]]
    t = 1_700_000_000 + 60 * np.arange(WARM_BARS, dtype=np.int64)
    return t, o, np.maximum(o, c) * 1.001, np.minimum(o, c) * 0.999, c, np.ones(WARM_BARS)


def warm_kernels(device: str = "cpu") -> float:
    """Run every sweep kernel an optimization uses once on a few bars (compiling it, or
    loading it from Numba's cache) and the single run of its top rows; the seconds it took."""
    from kernels.backtest import pack_params, simulate_packed
    from strategies.registry import load_registry

    began = time.perf_counter()
    bars = _tiny_bars()
    params = pack_params(0, False, 0.0005, 0.0, 0.0, 0.0, 0.0, 1.0, 100_000.0)
    strategies = load_registry().strategies
    for name in ("sma_cross", "ema_cross", "rsi_reversion"):  # window, line, signal matrices
        spec = strategies[name]
        combination = spec.validate({})
        spec.sweep_segments(bars, [combination], params, [(0, WARM_BARS)], device)
        enter, leave = spec.signals(*bars[1:], **combination)
        simulate_packed(bars[0], *bars[1:5], enter, leave, params)
    return time.perf_counter() - began


@ray.remote(num_cpus=0, max_retries=0)
def _warm_orchestrator() -> float:
    import deployments.optimize.runner  # noqa: F401  (what an orchestrator imports)

    return warm_kernels("cpu")


@ray.remote(max_retries=0)
def _warm_chunk(device: str) -> float:
    import deployments.optimize.chunks  # noqa: F401  (what a chunk task imports)

    return warm_kernels(device)


def warm_optimizer(settings: Settings) -> list[ray.ObjectRef]:
    """Start the warm-up tasks (see the module docstring); their refs, each the seconds its
    warm-up took."""
    from deployments.optimize.chunks import plan_placement

    placement = plan_placement(settings)
    refs = [_warm_orchestrator.options(name="optimize:warm-up:orchestrator").remote()]
    refs += [_warm_chunk.options(name=f"optimize:warm-up:chunk-{n}",
                                 **placement.options).remote(placement.device)
             for n in range(placement.slots)]
    return refs


if __name__ == "__main__":
    print(f"sweep kernels compiled (Numba cache filled) in {warm_kernels():.1f} s")
