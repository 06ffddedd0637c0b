"""How much an optimization's best can be trusted: neighbourhood (plateau) scores over the grid,
the deflated Sharpe ratio of the best, and Monte Carlo bands from its trades.

Pure NumPy over the metrics matrix, the grid's index and the trades of single runs; no Ray,
Redis or web framework.
"""

from __future__ import annotations

import itertools
import math
from statistics import NormalDist

import numpy as np

EULER_GAMMA = 0.5772156649015329
FAN_STEPS = 41
"""Trade counts a Monte Carlo fan is given at (the start and the end included)."""
DENSE_CELLS = 20_000_000
"""Largest dense grid the neighbourhood scores are computed on; sparser grids use a lookup."""


def neighbourhood(index: np.ndarray, values: np.ndarray, fixed: tuple[int, ...] = ()
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, worst)`` of ``values`` over each combination's grid neighbours: every
    combination whose position on each axis is within one step (itself included; on the
    ``fixed`` axes, e.g. the symbol, the same position). NaN values and missing neighbours are
    left out; ``worst`` is the minimum (NaN where none is finite).

    >>> index = np.array([[0, 0], [1, 0], [2, 0], [2, 1]])
    >>> mean, worst = neighbourhood(index, np.array([1.0, 2.0, 6.0, np.nan]))
    >>> mean.tolist(), worst.tolist()
    ([1.5, 3.0, 4.0, 4.0], [1.0, 1.0, 2.0, 2.0])
    """
    index = np.asarray(index, np.int64).reshape(len(values), -1)
    values = np.asarray(values, np.float64)
    if values.size == 0:
        return values.copy(), values.copy()
    shape = tuple(int(n) for n in index.max(axis=0) + 1)
    offsets = list(itertools.product(*((0,) if axis in fixed else (-1, 0, 1)
                                       for axis in range(index.shape[1]))))
    if math.prod(shape) <= DENSE_CELLS:
        return _dense_neighbourhood(index, values, shape, offsets)
    return _sparse_neighbourhood(index, values, offsets)


def _dense_neighbourhood(index, values, shape, offsets) -> tuple[np.ndarray, np.ndarray]:
    cells = np.full(shape, np.nan)
    cells[tuple(index.T)] = values
    padded = np.pad(cells, 1, constant_values=np.nan)
    total = np.zeros(shape)
    count = np.zeros(shape)
    worst = np.full(shape, np.inf)
    for offset in offsets:
        window = padded[tuple(slice(1 + d, 1 + d + n) for d, n in zip(offset, shape,
                                                                      strict=True))]
        finite = np.isfinite(window)
        total += np.where(finite, window, 0.0)
        count += finite
        worst = np.where(finite, np.minimum(worst, window), worst)
    at = tuple(index.T)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count[at] > 0, total[at] / count[at], np.nan)
    return mean, np.where(np.isinf(worst[at]), np.nan, worst[at])


def _sparse_neighbourhood(index, values, offsets) -> tuple[np.ndarray, np.ndarray]:
    where = {tuple(row): k for k, row in enumerate(index.tolist())}
    mean = np.full(values.size, np.nan)
    worst = np.full(values.size, np.nan)
    for k, row in enumerate(index.tolist()):
        near = [values[j] for offset in offsets
                if (j := where.get(tuple(a + d for a, d in zip(row, offset, strict=True))))
                is not None and math.isfinite(values[j])]
        if near:
            mean[k], worst[k] = sum(near) / len(near), min(near)
    return mean, worst


def expected_max_sharpe(trial_sharpes: np.ndarray) -> float:
    """The Sharpe ratio the best of N unskilled trials reaches by luck (Bailey & Lopez de
    Prado's SR0): sqrt(var) x ((1 - g) z(1 - 1/N) + g z(1 - 1/(N e))), g Euler's constant."""
    finite = trial_sharpes[np.isfinite(trial_sharpes)]
    n = finite.size
    if n < 2:
        return 0.0
    z = NormalDist().inv_cdf
    spread = math.sqrt(float(np.var(finite, ddof=1)))
    return spread * ((1 - EULER_GAMMA) * z(1 - 1 / n) + EULER_GAMMA * z(1 - 1 / (n * math.e)))


def deflated_sharpe(returns: np.ndarray, trial_sharpes: np.ndarray) -> float:
    """The probability (0..1) that the best's per-bar Sharpe ratio beats what the best of the
    trials would show by luck, given the skew and kurtosis of its per-bar ``returns`` and the
    per-bar Sharpe ratios of all ``trial_sharpes`` (Bailey & Lopez de Prado, 2014). NaN for
    fewer than three returns or no dispersion.

    >>> rng = np.random.default_rng(1)
    >>> best = rng.normal(0.001, 0.01, 2000)  # a per-bar Sharpe ratio of about 0.1
    >>> round(deflated_sharpe(best, rng.normal(0, 0.02, 50)), 3)  # 50 trials, spread 0.02
    0.961
    """
    returns = np.asarray(returns, np.float64)
    returns = returns[np.isfinite(returns)]
    t = returns.size
    if t < 3:
        return math.nan
    std = float(returns.std(ddof=1))
    if std == 0:
        return math.nan
    sharpe = float(returns.mean()) / std
    centred = returns - returns.mean()
    moment2 = float(np.mean(centred ** 2))
    skew = float(np.mean(centred ** 3)) / moment2 ** 1.5
    kurtosis = float(np.mean(centred ** 4)) / moment2 ** 2
    denominator = 1 - skew * sharpe + (kurtosis - 1) / 4 * sharpe ** 2
    if denominator <= 0:
        return math.nan
    z = (sharpe - expected_max_sharpe(np.asarray(trial_sharpes, np.float64))) * math.sqrt(
        t - 1) / math.sqrt(denominator)
    return NormalDist().cdf(z)


def account_returns(pnl: np.ndarray, equity_before: np.ndarray) -> np.ndarray:
    """Each trade's pnl as a fraction of the equity it was entered with."""
    return np.asarray(pnl, np.float64) / np.asarray(equity_before, np.float64)


def monte_carlo(returns: np.ndarray, paths: int, seed: int) -> dict:
    """Bootstrap of the trade sequence: ``paths`` sequences of as many trades, drawn with
    replacement from ``returns`` (fractions of the account), compounded. Answers
    ``{paths, trades, final_return: {p5, p50, p95}, max_drawdown: {p5, p50, p95}, fan}``, the
    fan holding the 5/50/95% equity (1 = the start) after ``trades`` of up to ``FAN_STEPS``
    evenly spaced trade counts; reproducible for a ``seed``.

    >>> bands = monte_carlo(np.array([0.1, -0.05]), 2000, seed=7)
    >>> bands["final_return"]["p5"] < bands["final_return"]["p50"] < bands["final_return"]["p95"]
    True
    """
    returns = np.asarray(returns, np.float64)
    if returns.size == 0:
        return {"paths": 0, "trades": 0, "final_return": None, "max_drawdown": None,
                "fan": None}
    rng = np.random.default_rng(seed)
    draws = returns[rng.integers(0, returns.size, size=(paths, returns.size))]
    equity = np.cumprod(1.0 + draws, axis=1)
    peak = np.maximum.accumulate(np.maximum(equity, 1.0), axis=1)
    drawdown = (1.0 - equity / peak).max(axis=1)
    final = equity[:, -1] - 1.0

    def bands(sample: np.ndarray) -> dict[str, float]:
        p5, p50, p95 = np.percentile(sample, [5, 50, 95])
        return {"p5": float(p5), "p50": float(p50), "p95": float(p95)}

    steps = np.unique(np.linspace(0, returns.size, min(FAN_STEPS, returns.size + 1)).round()
                      ).astype(np.int64)
    start = np.ones((paths, 1))
    at = np.hstack([start, equity])[:, steps]
    low, mid, high = np.percentile(at, [5, 50, 95], axis=0)
    fan = {"trades": steps.tolist(), "p5": low.tolist(), "p50": mid.tolist(),
           "p95": high.tolist()}
    return {"paths": int(paths), "trades": int(returns.size), "final_return": bands(final),
            "max_drawdown": bands(drawdown), "fan": fan}
