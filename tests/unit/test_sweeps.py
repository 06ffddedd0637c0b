"""Sweeps: the CPU parallel sweep and the CUDA sweep (on the CUDA simulator) give exactly the
single-run metrics of every combination."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deployments.common.settings import PROJECT_ROOT
from kernels.backtest import METRICS, pack_params, simulate
from kernels.crossover_sweep import sweep_sma_cross as sweep_sma_segments
from strategies.sma_cross import signals
from tests.support.backtest_reference import random_ohlc, trading_options

RNG = np.random.default_rng(21)
N = 600
CLOSE = 100 * np.exp(np.cumsum(RNG.normal(0, 0.01, N)))
OPEN = CLOSE * np.exp(RNG.normal(0, 0.003, N))
HIGH = np.maximum(OPEN, CLOSE) * (1 + RNG.random(N) * 0.01)
LOW = np.minimum(OPEN, CLOSE) * (1 - RNG.random(N) * 0.01)
T = np.arange(N, dtype=np.int64) * 60 + 1_700_000_000
PAIRS = [(f, s) for f in range(3, 15, 3) for s in range(8, 40, 7) if f < s]
OPTIONS = [
    (0, False, 0.0005, 0.0, 0.0, 0.0, 0.0, 1.0, 100_000.0),
    (2, True, 0.001, 1.0, 0.0005, 0.02, 0.04, 0.5, 50_000.0),
]


def sweep_sma_cross(t, o, h, l, c, fasts, slows, params) -> np.ndarray:
    """The dedicated SMA sweep over all bars (one segment): ``(pairs, metrics)``."""
    return sweep_sma_segments(t, o, h, l, c, fasts, slows, params, [(0, t.size)])[0]


def _single_runs(options) -> np.ndarray:
    rows = []
    for fast, slow in PAIRS:
        enter, leave = signals(OPEN, HIGH, LOW, CLOSE, None, fast, slow)
        rows.append(simulate(T, OPEN, HIGH, LOW, CLOSE, enter, leave, *options)[2])
    return np.array(rows)


def _on_cuda_simulator(script: str, stdin: str = "") -> str:
    """Run ``script`` in a fresh Python with Numba's CUDA simulator; return its last line."""
    result = subprocess.run(
        [sys.executable, "-c", script], input=stdin, cwd=PROJECT_ROOT,
        env={**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}, capture_output=True, text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1]


def _assert_equal_metrics(got: np.ndarray, expected: np.ndarray) -> None:
    for k, name in enumerate(METRICS):
        np.testing.assert_allclose(got[:, k], expected[:, k], rtol=1e-9, atol=1e-12,
                                   equal_nan=True, err_msg=name)


@pytest.mark.parametrize("options", OPTIONS)
def test_cpu_sweep_equals_single_runs(options):
    fasts, slows = zip(*PAIRS, strict=True)
    swept = sweep_sma_cross(T, OPEN, HIGH, LOW, CLOSE, fasts, slows, pack_params(*options))
    _assert_equal_metrics(swept, _single_runs(options))
    assert (swept[:, METRICS.index("num_trades")] > 0).all()


CUDA_SCRIPT = """
import json, sys
import numpy as np
from kernels.backtest_cuda import sweep_sma_cross_cuda
from kernels.backtest import pack_params
data = json.loads(sys.stdin.read())
arrays = [np.array(data[k]) for k in ("t", "o", "h", "l", "c")]
arrays[0] = arrays[0].astype(np.int64)
out = sweep_sma_cross_cuda(*arrays, data["fasts"], data["slows"], pack_params(*data["options"]),
                           [(0, arrays[0].size)])[0]
print(json.dumps(np.where(np.isnan(out), None, out).tolist()))
"""


@pytest.mark.parametrize("options", OPTIONS)
def test_cuda_sweep_on_the_simulator_equals_single_runs(options):
    fasts, slows = zip(*PAIRS[:6], strict=True)
    payload = {"t": T[:200].tolist(), "o": OPEN[:200].tolist(), "h": HIGH[:200].tolist(),
               "l": LOW[:200].tolist(), "c": CLOSE[:200].tolist(), "fasts": fasts,
               "slows": slows, "options": options}
    output = _on_cuda_simulator(CUDA_SCRIPT, json.dumps(payload))
    swept = np.array(json.loads(output), dtype=float)
    expected = sweep_sma_cross(T[:200], OPEN[:200], HIGH[:200], LOW[:200], CLOSE[:200],
                               fasts, slows, pack_params(*options))
    _assert_equal_metrics(swept, expected)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(30, 400), options=trading_options())
def test_random_sweeps_equal_single_runs(seed, size, options):
    rng = np.random.default_rng(seed)
    opens, high, low, close = random_ohlc(rng, size, volatility=0.015)
    t = np.sort(rng.choice(10_000_000, size, replace=False)).astype(np.int64) + 1_600_000_000
    pairs = [(f, s) for f in (2, 3, 5, 8) for s in (6, 10, 17, 29) if f < s]
    fasts, slows = zip(*pairs, strict=True)
    swept = sweep_sma_cross(t, opens, high, low, close, fasts, slows, pack_params(*options))
    single = np.array([
        simulate(t, opens, high, low, close, *signals(opens, high, low, close, None, f, s),
                 *options)[2] for f, s in pairs])
    _assert_equal_metrics(swept, single)


RANDOM_CUDA_SCRIPT = """
import json
import numpy as np
from kernels.backtest import pack_params
from kernels.backtest_cuda import sweep_sma_cross_cuda
from kernels.crossover_sweep import sweep_sma_cross
worst = 0.0
for seed in range(12):
    rng = np.random.default_rng(seed)
    size = int(rng.integers(30, 160))
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.015, size)))
    opens = close * np.exp(rng.normal(0, 0.005, size))
    high = np.maximum(opens, close) * (1 + rng.random(size) * 0.01)
    low = np.minimum(opens, close) * (1 - rng.random(size) * 0.01)
    t = 1_600_000_000 + np.cumsum(rng.integers(1, 5000, size)).astype(np.int64)
    params = pack_params(int(rng.integers(0, 3)), bool(rng.integers(0, 2)),
                         float(rng.choice([0, 5e-4, 3e-3])), float(rng.choice([0, 2])),
                         float(rng.choice([0, 7e-4])), float(rng.choice([0, 5e-3, 3e-2])),
                         float(rng.choice([0, 1e-2, 5e-2])), float(rng.choice([1, 0.3])),
                         10_000.0)
    fasts, slows = [2, 3, 5, 2, 4], [6, 10, 17, 29, 9]
    segments = [(0, size), (size // 3, size)]
    cpu = sweep_sma_cross(t, opens, high, low, close, fasts, slows, params, segments)
    gpu = sweep_sma_cross_cuda(t, opens, high, low, close, fasts, slows, params, segments)
    same_nan = np.isnan(cpu) == np.isnan(gpu)
    scale = np.maximum(np.abs(cpu), 1e-12)
    rel = np.where(np.isnan(cpu), 0.0, np.abs(gpu - cpu) / scale)
    worst = max(worst, float(rel.max()) if same_nan.all() else float("inf"))
print(json.dumps({"worst_relative": worst}))
"""


def test_random_cuda_sweeps_equal_cpu_sweeps_on_the_simulator():
    output = _on_cuda_simulator(RANDOM_CUDA_SCRIPT)
    assert json.loads(output)["worst_relative"] <= 1e-9


GRIDS = {
    "sma_cross": [{"fast": 3, "slow": 10}, {"fast": 5, "slow": 21}],
    "ema_cross": [{"fast": 3, "slow": 10}, {"fast": 8, "slow": 30}],
    "rsi_reversion": [{"window": 7, "lower": 30.0, "upper": 70.0},
                      {"window": 14, "lower": 40.0, "upper": 60.0}],
    "bollinger_reversion": [{"window": 10, "width": 1.0}, {"window": 20, "width": 2.0}],
    "donchian_breakout": [{"entry_window": 10, "exit_window": 5},
                          {"entry_window": 20, "exit_window": 10}],
    "macd_cross": [{"fast": 5, "slow": 13, "signal": 4}, {"fast": 12, "slow": 26, "signal": 9}],
}


@pytest.mark.parametrize("name", sorted(GRIDS))
def test_any_strategy_sweeps_to_its_single_runs(name):
    from kernels.strategy_sweep import sweep_strategy
    from strategies.registry import load_registry

    spec = load_registry().strategies[name]
    options = OPTIONS[1]
    bars = (T, OPEN, HIGH, LOW, CLOSE, np.full(N, 1000.0))
    swept = sweep_strategy(spec.signals, bars, GRIDS[name], pack_params(*options), chunk=1)
    single = np.array([
        simulate(T, OPEN, HIGH, LOW, CLOSE, *spec.signals(*bars[1:], **values), *options)[2]
        for values in GRIDS[name]])
    _assert_equal_metrics(swept, single)
    assert (swept[:, METRICS.index("num_trades")] > 0).all()


CUDA_SIGNALS_SCRIPT = """
import json
import numpy as np
from kernels.backtest import METRICS, pack_params, sweep_signals
from kernels.backtest_cuda import sweep_signals_cuda
rng = np.random.default_rng(3)
n, combos = 150, 5
close = 50 * np.exp(np.cumsum(rng.normal(0, 0.015, n)))
opens = close * np.exp(rng.normal(0, 0.005, n))
high = np.maximum(opens, close) * 1.004
low = np.minimum(opens, close) * 0.996
t = 1_600_000_000 + 60 * np.arange(n, dtype=np.int64)
enter = rng.random((n, combos)) < 0.1
leave = rng.random((n, combos)) < 0.1
params = pack_params(2, False, 5e-4, 1.0, 1e-4, 0.01, 0.03, 0.8, 10_000.0)
cpu = sweep_signals(t, opens, high, low, close, enter, leave, params)
gpu = sweep_signals_cuda(t, opens, high, low, close, enter, leave, params)
ok = bool(np.allclose(cpu, gpu, rtol=1e-9, atol=1e-12, equal_nan=True))
print(json.dumps({"equal": ok, "trades": cpu[:, METRICS.index("num_trades")].tolist()}))
"""


def test_cuda_signal_sweep_equals_cpu_on_the_simulator():
    output = _on_cuda_simulator(CUDA_SIGNALS_SCRIPT)
    answer = json.loads(output)
    assert answer["equal"] and min(answer["trades"]) > 0
