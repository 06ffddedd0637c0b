"""Dedicated sweeps (SMA and EMA crossover) give the numbers of the signal-matrix sweep: on the
CPU over random bars, every trading option and segments that start mid-series; on the CUDA
simulator; and through ``StrategySpec.sweep_segments``, the call /optimize's chunk tasks make.
Pure: no Ray."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deployments.common.settings import PROJECT_ROOT
from kernels import backtest_core as core
from kernels.backtest import METRICS, TRADE_FIELDS, pack_params
from kernels.crossover_sweep import line_tiles, sweep_ema_cross, sweep_sma_cross
from kernels.indicators import prefix_sum, sma_at
from kernels.strategy_sweep import sweep_segments
from strategies.ema_cross import STRATEGY as EMA_CROSS
from strategies.registry import load_registry
from strategies.sma_cross import STRATEGY as SMA_CROSS
from strategies.spec import DedicatedSweep, StrategySpec
from tests.support.backtest_reference import random_ohlc, trading_options

DEDICATED = {"sma_cross": (SMA_CROSS, sweep_sma_cross), "ema_cross": (EMA_CROSS, sweep_ema_cross)}
PAIRS = [(f, s) for f in (2, 3, 5, 8) for s in (6, 10, 17, 29)] + [(4, 4), (12, 6), (1, 40)]
# Every value trading_options() (tests/support/backtest_reference.py) draws from, as a product,
# plus the explicit option sets of the sweep tests (tests/unit/test_sweeps.py).
OPTION_VALUES = ([0, 1, 2], [False, True], [0.0, 0.0005, 0.003], [0.0, 1.0], [0.0, 0.0007],
                 [0.0, 0.005, 0.03], [0.0, 0.01, 0.05], [1.0, 0.3], [10_000.0])
# The trailing stop and the time exit cycle through their four combinations along the product
# (so every other option meets each of them without multiplying the runs by four).
EXITS = [(0.0, 0), (0.004, 0), (0.0, 7), (0.004, 7)]
EVERY_OPTION = [*(options + EXITS[k % len(EXITS)]
                  for k, options in enumerate(itertools.product(*OPTION_VALUES))),
                (0, False, 0.0005, 0.0, 0.0, 0.0, 0.0, 1.0, 100_000.0),
                (2, True, 0.001, 1.0, 0.0005, 0.02, 0.04, 0.5, 50_000.0, 0.01, 3)]


def _bars(seed: int, size: int, flat: bool = False) -> tuple[np.ndarray, ...]:
    """Random consistent bars; ``flat`` holds the close still for stretches (the lines then
    nearly touch, where a crossing hangs on the last bits)."""
    rng = np.random.default_rng(seed)
    o, h, l, c = random_ohlc(rng, size, volatility=0.015)
    if flat:
        for first in range(size // 5, size, size // 3):
            c[first:first + size // 8] = c[first]
            o[first + 1:first + size // 8] = c[first]
            h[first:first + size // 8] = np.maximum(h[first:first + size // 8], c[first])
            l[first:first + size // 8] = np.minimum(l[first:first + size // 8], c[first])
    t = np.sort(rng.choice(10_000_000, size, replace=False)).astype(np.int64) + 1_600_000_000
    return t, o, h, l, c, np.full(size, 100.0)


def _segments(size: int) -> list[tuple[int, int]]:
    return [(0, size), (0, size // 2), (size // 3, size), (size // 2, size // 2),
            (size - 1, size), (1, size)]


def _combinations(pairs) -> list[dict[str, int]]:
    return [{"fast": f, "slow": s} for f, s in pairs]


def _matrix_sweep(spec: StrategySpec, bars, pairs, params, segments) -> np.ndarray:
    return sweep_segments(spec.signals, bars, _combinations(pairs), params, segments)


def _dedicated(name: str, bars, pairs, params, segments, **options) -> np.ndarray:
    fasts, slows = zip(*pairs, strict=True)
    return DEDICATED[name][1](*bars[:5], fasts, slows, params, segments, **options)


def _assert_same_metrics(got: np.ndarray, expected: np.ndarray, context: object = "") -> None:
    assert got.shape == expected.shape
    for k, name in enumerate(METRICS):
        np.testing.assert_allclose(got[..., k], expected[..., k], rtol=1e-9, atol=1e-12,
                                   equal_nan=True, err_msg=f"{name} {context}")


@pytest.mark.parametrize("name", sorted(DEDICATED))
def test_dedicated_sweep_equals_signal_matrices_for_every_trading_option(name):
    spec = DEDICATED[name][0]
    cases = [(_bars(7, 260), _segments(260)), (_bars(8, 180, flat=True), _segments(180))]
    traded = 0
    for options in EVERY_OPTION:
        params = pack_params(*options)
        for bars, segments in cases:
            expected = _matrix_sweep(spec, bars, PAIRS, params, segments)
            _assert_same_metrics(_dedicated(name, bars, PAIRS, params, segments), expected,
                                 options)
            traded += int((expected[0, :, core.M_NUM_TRADES] > 0).sum())
    assert traded > len(EVERY_OPTION) * len(PAIRS)  # most runs trade: the check has teeth


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(2, 400), options=trading_options(),
       cuts=st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=4),
       flat=st.booleans())
def test_random_dedicated_sweeps_equal_signal_matrices(seed, size, options, cuts, flat):
    bars = _bars(seed, size, flat=flat and size >= 16)
    segments = [tuple(sorted((int(a * size), int(b * size)))) for a, b in cuts]
    params = pack_params(*options)
    for name, (spec, _) in DEDICATED.items():
        _assert_same_metrics(_dedicated(name, bars, PAIRS, params, segments),
                             _matrix_sweep(spec, bars, PAIRS, params, segments), name)


def test_ema_lines_swept_in_tiles_give_the_same_numbers():
    bars = _bars(11, 300)
    pairs = [(f, s) for f in range(2, 12) for s in range(13, 40, 3)]
    params = pack_params(2, False, 0.0005, 1.0, 0.0007, 0.03, 0.05, 1.0, 10_000.0)
    fasts, slows = (np.array(v) for v in zip(*pairs, strict=True))
    assert len(line_tiles(fasts, slows, max_lines=5)) > 4
    whole = _dedicated("ema_cross", bars, pairs, params, _segments(300))
    tiled = _dedicated("ema_cross", bars, pairs, params, _segments(300), max_bytes=5 * 8 * 300)
    np.testing.assert_array_equal(tiled, whole)
    _assert_same_metrics(whole, _matrix_sweep(EMA_CROSS, bars, pairs, params, _segments(300)))


def test_line_tiles_cover_every_pair_once_within_the_line_budget():
    rng = np.random.default_rng(4)
    fasts, slows = rng.integers(2, 60, 500), rng.integers(2, 200, 500)
    for max_lines in (2, 3, 7, 40, 1000):
        tiles = line_tiles(fasts, slows, max_lines)
        assert sorted(np.concatenate(tiles).tolist()) == list(range(500))
        assert all(np.union1d(fasts[t], slows[t]).size <= max_lines for t in tiles)


def test_the_strategy_spec_runs_the_dedicated_sweep_that_equals_signal_matrices():
    bars = _bars(3, 240)
    params = pack_params(1, False, 0.003, 0.0, 0.0007, 0.005, 0.0, 0.3, 10_000.0)
    for spec in (SMA_CROSS, EMA_CROSS):
        got = spec.sweep_segments(bars, _combinations(PAIRS), params, _segments(240), "cpu")
        _assert_same_metrics(got, _matrix_sweep(spec, bars, PAIRS, params, _segments(240)))
    calls = []

    def spy(t, o, h, l, c, fasts, slows, params, segments):
        calls.append((fasts.tolist(), slows.tolist(), segments.tolist()))
        return sweep_sma_cross(t, o, h, l, c, fasts, slows, params, segments)

    spied = dataclasses.replace(SMA_CROSS, sweep=DedicatedSweep(("fast", "slow"), spy))
    spied.sweep_segments(bars, _combinations([(2, 6), (3, 10)]), params, [(0, 240)])
    assert calls == [([2, 3], [6, 10], [[0, 240]])]


def test_a_strategy_without_a_dedicated_sweep_runs_signal_matrices():
    spec = load_registry().strategies["rsi_reversion"]
    assert spec.sweep is None
    bars = _bars(5, 200)
    grid = [{"window": 7, "lower": 30.0, "upper": 70.0}, {"window": 14, "lower": 40.0,
                                                          "upper": 60.0}]
    params = pack_params(2, True, 0.0005, 0.0, 0.0, 0.0, 0.0, 1.0, 10_000.0)
    np.testing.assert_array_equal(spec.sweep_segments(bars, grid, params, _segments(200)),
                                  sweep_segments(spec.signals, bars, grid, params,
                                                 _segments(200)))


def test_a_dedicated_sweep_declaration_is_checked():
    for sweep in (DedicatedSweep(("fast", "window"), sweep_sma_cross),
                  DedicatedSweep((), sweep_sma_cross),
                  DedicatedSweep(("fast", "slow"), sweep_sma_cross, cuda="kernels.backtest_cuda")):
        with pytest.raises(ValueError, match="dedicated sweep"):
            dataclasses.replace(SMA_CROSS, sweep=sweep)


def test_dedicated_sweeps_refuse_what_the_kernels_would_misread():
    t, o, h, l, c, _ = _bars(1, 50)
    params = pack_params(0, False, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 10_000.0)
    for sweep in (sweep_sma_cross, sweep_ema_cross):
        with pytest.raises(ValueError, match="segments"):
            sweep(t, o, h, l, c, [2], [5], params, [(0, 51)])
        with pytest.raises(ValueError, match="segments"):
            sweep(t, o, h, l, c, [2], [5], params, [(30, 20)])
        with pytest.raises(ValueError, match="windows"):
            sweep(t, o, h, l, c, [0], [5], params, [(0, 50)])
        with pytest.raises(ValueError, match="windows"):
            sweep(t, o, h, l, c, [2, 3], [5], params, [(0, 50)])


def test_the_cores_window_mean_is_the_indicators_sma_bit_for_bit():
    rng = np.random.default_rng(9)
    x = rng.normal(0, 1, 3000) * 10.0 ** rng.integers(-2, 6, 3000)
    prefix = prefix_sum(x)
    for window in (1, 2, 7, 250, 2999, 3000, 3001):
        ours = np.array([core.window_mean(prefix, i, window) for i in range(x.size)])
        theirs = np.array([sma_at(prefix, i, window) for i in range(x.size)])
        np.testing.assert_array_equal(ours, theirs)


def test_metric_and_trade_slots_are_named_in_the_order_of_the_public_names():
    assert len(METRICS) == core.METRIC_COUNT and len(TRADE_FIELDS) == core.TRADE_WIDTH
    for name in METRICS:
        assert getattr(core, f"M_{name.upper()}") == METRICS.index(name)
    for name in TRADE_FIELDS:
        assert getattr(core, f"T_{name.upper()}") == TRADE_FIELDS.index(name)


CUDA_SCRIPT = """
import json
import numpy as np
from kernels.backtest import METRICS, pack_params
from kernels.backtest_cuda import sweep_ema_cross_cuda, sweep_sma_cross_cuda
from kernels.crossover_sweep import sweep_ema_cross, sweep_sma_cross
from strategies.ema_cross import STRATEGY as EMA_CROSS
from strategies.sma_cross import STRATEGY as SMA_CROSS
from tests.support.backtest_reference import random_ohlc
worst = 0.0
trades = 0
pairs = [(2, 6), (3, 10), (5, 17), (4, 9)]
fasts, slows = [f for f, _ in pairs], [s for _, s in pairs]
combinations = [{"fast": f, "slow": s} for f, s in pairs]
kernels = [(sweep_sma_cross, sweep_sma_cross_cuda, SMA_CROSS),
           (sweep_ema_cross, sweep_ema_cross_cuda, EMA_CROSS)]
for seed, options in enumerate([(2, False, 5e-4, 1.0, 7e-4, 0.03, 0.05, 1.0, 10_000.0),
                                (0, True, 3e-3, 0.0, 0.0, 0.0, 0.01, 0.3, 10_000.0)]):
    rng = np.random.default_rng(seed)
    size = 90
    o, h, l, c = random_ohlc(rng, size, volatility=0.015)
    t = 1_600_000_000 + np.cumsum(rng.integers(1, 5000, size)).astype(np.int64)
    segments = [(0, size), (size // 3, size)]
    params = pack_params(*options)
    for cpu_sweep, gpu_sweep, spec in kernels:
        cpu = cpu_sweep(t, o, h, l, c, fasts, slows, params, segments)
        gpu = gpu_sweep(t, o, h, l, c, fasts, slows, params, segments)
        spec_gpu = spec.sweep_segments((t, o, h, l, c, c), combinations, params, segments, "gpu")
        for got in (gpu, spec_gpu):
            if got.shape != cpu.shape or not (np.isnan(cpu) == np.isnan(got)).all():
                worst = float("inf")
                continue
            scale = np.maximum(np.abs(cpu), 1e-12)
            rel = np.where(np.isnan(cpu), 0.0, np.abs(got - cpu) / scale)
            worst = max(worst, float(rel.max()))
        trades += int(cpu[..., METRICS.index("num_trades")].sum())
print(json.dumps({"worst_relative": worst, "trades": trades}))
"""


def test_dedicated_cuda_sweeps_equal_the_cpu_ones_on_the_simulator():
    result = subprocess.run(
        [sys.executable, "-c", CUDA_SCRIPT], cwd=PROJECT_ROOT,
        env={**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}, capture_output=True, text=True,
        timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["worst_relative"] <= 1e-9 and answer["trades"] > 0
