"""The order model in every implementation: a CPU single run, the CPU sweeps (signal matrices
and the dedicated crossovers, over segments) and the CUDA sweeps on the simulator give the same
metrics for random bars, random session ends and base bars, and every option combination."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.backtest import (
    bar_context,
    pack_params,
    simulate,
    slice_context,
    sweep_signals,
)
from kernels.crossover_sweep import sweep_ema_cross, sweep_sma_cross
from strategies import ema_cross, sma_cross
from tests.support.backtest_reference import (
    order_options,
    random_base_bars,
    random_ohlc,
    random_sessions,
    trading_options,
)
from tests.unit.test_sweeps import _assert_equal_metrics, _on_cuda_simulator

FASTS, SLOWS = (2, 3, 5, 2, 4), (6, 10, 17, 29, 9)


def _case(seed: int, size: int, intrabar: bool):
    rng = np.random.default_rng(seed)
    opens, high, low, close = random_ohlc(rng, size, volatility=0.015)
    t = 1_600_000_000 + np.cumsum(rng.integers(1, 5000, size)).astype(np.int64)
    base = random_base_bars(rng, opens, high, low, close) if intrabar else None
    context = bar_context(size, random_sessions(rng, size), base)
    return t, opens, high, low, close, context


def _split(options: tuple, orders: dict) -> tuple[tuple, dict]:
    """Positional settings with the order model's ``size`` in place, and its keywords."""
    keywords = {k: v for k, v in orders.items() if k != "size"}
    return (*options[:7], orders["size"], *options[8:]), keywords


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(30, 300), options=trading_options(),
       orders=order_options(), intrabar=st.booleans())
def test_single_runs_signal_sweeps_and_crossover_sweeps_agree(seed, size, options, orders,
                                                              intrabar):
    t, o, h, l, c, context = _case(seed, size, intrabar)
    positional, keywords = _split(options, orders)
    params = pack_params(*positional, **keywords)
    start = size // 3
    segments = [(0, size), (start, size)]
    for module, sweep in ((sma_cross, sweep_sma_cross), (ema_cross, sweep_ema_cross)):
        signals = [module.signals(o, h, l, c, None, f, s) for f, s in zip(FASTS, SLOWS,
                                                                          strict=True)]
        single = np.array([simulate(t, o, h, l, c, *pair, *positional, context=context,
                                    **keywords)[2] for pair in signals])
        enter = np.stack([pair[0] for pair in signals], axis=1)
        leave = np.stack([pair[1] for pair in signals], axis=1)
        matrices = sweep_signals(t, o, h, l, c, enter, leave, params, context)
        dedicated = sweep(t, o, h, l, c, FASTS, SLOWS, params, segments, context=context)
        _assert_equal_metrics(matrices, single)
        _assert_equal_metrics(dedicated[0], single)
        later = sweep_signals(t[start:], o[start:], h[start:], l[start:], c[start:],
                              enter[start:], leave[start:], params,
                              slice_context(context, start, size))
        _assert_equal_metrics(dedicated[1], later)


CUDA_SCRIPT = """
import json
import numpy as np
from hypothesis import given, settings, strategies as st
from kernels.backtest import pack_params, sweep_signals
from kernels.backtest_cuda import sweep_ema_cross_cuda, sweep_signals_cuda, sweep_sma_cross_cuda
from kernels.crossover_sweep import sweep_ema_cross, sweep_sma_cross
from strategies import sma_cross
from tests.support.backtest_reference import order_options, trading_options
from tests.unit.test_order_model_sweeps import FASTS, SLOWS, _case, _split
worst, cases = 0.0, 0

def compare(cpu, gpu):
    global worst
    same_nan = (np.isnan(cpu) == np.isnan(gpu)).all()
    rel = np.where(np.isnan(cpu), 0.0, np.abs(gpu - cpu) / np.maximum(np.abs(cpu), 1e-12))
    worst = max(worst, float(rel.max()) if same_nan else float("inf"))

@settings(max_examples=10, deadline=None, database=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(30, 120), options=trading_options(),
       orders=order_options(), intrabar=st.booleans())
def check(seed, size, options, orders, intrabar):
    global cases
    t, o, h, l, c, context = _case(seed, size, intrabar)
    positional, keywords = _split(options, orders)
    params = pack_params(*positional, **keywords)
    segments = [(0, size), (size // 3, size)]
    for cpu_sweep, gpu_sweep in ((sweep_sma_cross, sweep_sma_cross_cuda),
                                 (sweep_ema_cross, sweep_ema_cross_cuda)):
        compare(cpu_sweep(t, o, h, l, c, FASTS, SLOWS, params, segments, context=context),
                gpu_sweep(t, o, h, l, c, FASTS, SLOWS, params, segments, context=context))
    pairs = [sma_cross.signals(o, h, l, c, None, f, s) for f, s in zip(FASTS, SLOWS)]
    enter = np.stack([p[0] for p in pairs], axis=1)
    leave = np.stack([p[1] for p in pairs], axis=1)
    compare(sweep_signals(t, o, h, l, c, enter, leave, params, context),
            sweep_signals_cuda(t, o, h, l, c, enter, leave, params, context))
    cases += 1

check()
print(json.dumps({"worst_relative": worst, "cases": cases}))
"""


def test_cuda_sweeps_on_the_simulator_equal_the_cpu_for_every_option():
    result = json.loads(_on_cuda_simulator(CUDA_SCRIPT))
    assert result["cases"] == 10 and result["worst_relative"] <= 1e-9
