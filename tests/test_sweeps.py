"""Sweeps: the CPU parallel sweep and the CUDA sweep (on the CUDA simulator) give exactly the
single-run metrics of every combination."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from deployments.config import PROJECT_ROOT
from kernels.backtest import METRICS, pack_params, simulate, sweep_sma_cross
from strategies.sma_cross import signals

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


def _single_runs(options) -> np.ndarray:
    rows = []
    for fast, slow in PAIRS:
        enter, leave = signals(OPEN, HIGH, LOW, CLOSE, None, fast, slow)
        rows.append(simulate(T, OPEN, HIGH, LOW, CLOSE, enter, leave, *options)[2])
    return np.array(rows)


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
out = sweep_sma_cross_cuda(*arrays, data["fasts"], data["slows"], pack_params(*data["options"]))
print(json.dumps(np.where(np.isnan(out), None, out).tolist()))
"""


@pytest.mark.parametrize("options", OPTIONS)
def test_cuda_sweep_on_the_simulator_equals_single_runs(options):
    fasts, slows = zip(*PAIRS[:6], strict=True)
    payload = {"t": T[:200].tolist(), "o": OPEN[:200].tolist(), "h": HIGH[:200].tolist(),
               "l": LOW[:200].tolist(), "c": CLOSE[:200].tolist(), "fasts": fasts,
               "slows": slows, "options": options}
    result = subprocess.run(
        [sys.executable, "-c", CUDA_SCRIPT], input=json.dumps(payload), cwd=PROJECT_ROOT,
        env={**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}, capture_output=True, text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    swept = np.array(json.loads(result.stdout), dtype=float)
    expected = sweep_sma_cross(T[:200], OPEN[:200], HIGH[:200], LOW[:200], CLOSE[:200],
                               fasts, slows, pack_params(*options))
    _assert_equal_metrics(swept, expected)
