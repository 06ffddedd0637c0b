"""Recompiles the scalar backtest core (:mod:`kernels.backtest_core`) for another target.

Each CPU-compiled core function's Python code is rebuilt over one shared globals dict in which
the core's names point to the new target's versions, so the functions call each other's
compiled forms: the CPU and the CUDA builds come from one source and cannot drift apart.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from types import SimpleNamespace

from numba.core.dispatcher import Dispatcher

from kernels import backtest_core


def compile_core(decorate: Callable[[Callable], Callable]) -> SimpleNamespace:
    """The core's functions wrapped by ``decorate`` (e.g. ``cuda.jit(device=True)``)."""
    shared = dict(vars(backtest_core))
    for name, value in vars(backtest_core).items():
        if (isinstance(value, Dispatcher) and name not in backtest_core.CPU_DRIVERS
                and value.py_func.__module__ == backtest_core.__name__):
            source = value.py_func
            rebuilt = types.FunctionType(source.__code__, shared, name, source.__defaults__,
                                         source.__closure__)
            shared[name] = decorate(rebuilt)
    return SimpleNamespace(**shared)
