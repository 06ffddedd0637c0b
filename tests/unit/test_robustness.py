"""Robustness of an optimization's best: neighbourhood scores, the deflated Sharpe ratio by
hand, Monte Carlo bands, and the ranking rules (min_trades, select)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from deployments.optimize import robustness
from deployments.optimize.grid import Grid
from deployments.optimize.result import build_result
from deployments.optimize.robustness import deflated_sharpe, monte_carlo, neighbourhood
from kernels.backtest import METRICS


def _brute_neighbourhood(index, values):
    mean, worst = [], []
    for row in index:
        near = [values[j] for j, other in enumerate(index)
                if np.abs(other - row).max() <= 1 and np.isfinite(values[j])]
        mean.append(np.mean(near) if near else np.nan)
        worst.append(min(near) if near else np.nan)
    return np.array(mean), np.array(worst)


@pytest.mark.parametrize("dense", [True, False])
def test_neighbourhood_scores_are_the_mean_and_minimum_over_adjacent_cells(dense, monkeypatch):
    rng = np.random.default_rng(3)
    cells = np.array([(a, b, c) for a in range(6) for b in range(5) for c in range(3)])
    index = cells[rng.random(len(cells)) < 0.7]  # constraints leave holes in the grid
    values = rng.normal(size=len(index))
    values[rng.random(len(index)) < 0.1] = np.nan
    if not dense:
        monkeypatch.setattr(robustness, "DENSE_CELLS", 1)
    mean, worst = neighbourhood(index, values)
    expected_mean, expected_worst = _brute_neighbourhood(index, values)
    np.testing.assert_allclose(mean, expected_mean, equal_nan=True)
    np.testing.assert_allclose(worst, expected_worst, equal_nan=True)


def test_the_deflated_sharpe_ratio_by_hand():
    rng = np.random.default_rng(11)
    returns = rng.standard_t(5, 500) * 0.01 + 0.0012
    trials = np.array([0.01, 0.05, -0.02, 0.08, 0.03, 0.0, 0.04, -0.01])
    # Bailey & Lopez de Prado (2014), eq. 2 and the expected maximum of N trials:
    sr = returns.mean() / returns.std(ddof=1)
    skew = stats.skew(returns)
    kurt = stats.kurtosis(returns, fisher=False)
    n, gamma = len(trials), 0.5772156649015329
    sr0 = math.sqrt(trials.var(ddof=1)) * (
        (1 - gamma) * stats.norm.ppf(1 - 1 / n) + gamma * stats.norm.ppf(1 - 1 / (n * math.e)))
    z = (sr - sr0) * math.sqrt(len(returns) - 1) / math.sqrt(
        1 - skew * sr + (kurt - 1) / 4 * sr ** 2)
    assert deflated_sharpe(returns, trials) == pytest.approx(stats.norm.cdf(z), rel=1e-9)
    # More trials with a wider spread make the same best less convincing.
    assert deflated_sharpe(returns, np.r_[trials, rng.normal(0, 0.1, 200)]) < stats.norm.cdf(z)
    assert math.isnan(deflated_sharpe(np.ones(10), trials))


def test_monte_carlo_bands_are_reproducible_and_exact_when_every_trade_is_alike():
    returns = np.array([0.04, -0.03, 0.02, -0.05, 0.06])
    first, again = monte_carlo(returns, 500, seed=9), monte_carlo(returns, 500, seed=9)
    assert first == again and first["paths"] == 500 and first["trades"] == 5
    assert monte_carlo(returns, 500, seed=10) != first
    bands = first["final_return"]
    assert bands["p5"] < bands["p50"] < bands["p95"]
    assert 0 <= first["max_drawdown"]["p5"] <= first["max_drawdown"]["p95"] <= 1
    fan = first["fan"]
    assert fan["trades"] == [0, 1, 2, 3, 4, 5] and fan["p5"][0] == fan["p95"][0] == 1.0
    assert fan["p50"][-1] == pytest.approx(1 + bands["p50"])
    assert all(a <= b <= c for a, b, c in zip(fan["p5"], fan["p50"], fan["p95"], strict=True))
    alike = monte_carlo(np.full(3, 0.1), 100, seed=0)
    assert alike["final_return"] == {key: pytest.approx(1.1 ** 3 - 1) for key in
                                     ("p5", "p50", "p95")}
    assert alike["max_drawdown"] == {"p5": 0.0, "p50": 0.0, "p95": 0.0}


def _grid(values: list[float], trades: list[int]) -> tuple[Grid, np.ndarray]:
    combos = [{"x": x} for x in range(len(values))]
    grid = Grid(("x",), {"x": list(range(len(values)))}, combos,
                np.arange(len(values)).reshape(-1, 1))
    metrics = np.full((1, len(values), len(METRICS)), np.nan)
    metrics[0, :, METRICS.index("sharpe")] = values
    metrics[0, :, METRICS.index("num_trades")] = trades
    return grid, metrics


def test_too_few_trades_never_rank_and_the_plateau_can_choose_the_best():
    # A lone spike at x=1 (3 trades), a lucky cell at x=5 with weak neighbours, and a broad
    # plateau around x=8.
    values = [0.1, 9.0, 0.2, 0.1, 0.0, 3.0, 0.0, 1.9, 2.0, 1.5]
    grid, metrics = _grid(values, [20, 3, 20, 20, 20, 20, 20, 20, 20, 20])
    t = np.arange(10)
    peak = build_result(grid, metrics, "sharpe", 3, t, None, min_trades=10)
    assert peak["best"]["params"] == {"x": 5} and peak["below_min_trades"] == 1
    assert [row["params"]["x"] for row in peak["top"]] == [5, 8, 7]
    assert peak["surface"]["objective"][1] == 9.0, "it stays on the surface"
    plateau = build_result(grid, metrics, "sharpe", 3, t, None, min_trades=10,
                           select="plateau")
    assert plateau["best"]["params"] == {"x": 8}
    assert plateau["best"]["plateau"] == {"mean": pytest.approx(5.4 / 3), "worst": 1.5}
    assert plateau["surface"]["plateau"][5] == pytest.approx(1.0)
    nothing = build_result(grid, metrics, "sharpe", 3, t, None, min_trades=1000)
    assert nothing["best"] is None and nothing["top"] == [] and nothing["ranked"] == 0


def test_a_fixed_axis_keeps_neighbourhoods_apart():
    index = np.array([[0, 0], [1, 0], [0, 1], [1, 1]])  # axis 1: the symbol
    mean, worst = neighbourhood(index, np.array([1.0, 3.0, 10.0, 30.0]), fixed=(1,))
    assert mean.tolist() == [2.0, 2.0, 20.0, 20.0] and worst.tolist() == [1.0, 1.0, 10.0, 10.0]
