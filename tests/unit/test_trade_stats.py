"""Trade statistics and the buy-and-hold benchmark against hand computations on small cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deployments.backtest import trade_stats as ts
from deployments.backtest.metric_values import named_json, values_or_null
from kernels.backtest import TRADE_FIELDS, simulate

NAN_WITHOUT_TRADES = ("sqn", "kelly", "avg_trade_bars", "max_trade_bars", "best_trade",
                      "worst_trade")


def _trades(rows: list[tuple[int, int, int, float]]) -> np.ndarray:
    """Trade records from (entry bar, exit bar, side, return): 1000 committed, pnl = 1000 r."""
    records = [(entry, exit_, side, 10.0, 10.0 * (1 + side * ret), 100.0, 1000.0 * ret, ret)
               for entry, exit_, side, ret in rows]
    return np.array(records, dtype=np.float64).reshape(-1, 8)


FIVE = _trades([(0, 3, 1, 0.10), (4, 5, -1, -0.05), (6, 12, 1, 0.20), (13, 14, 1, -0.05),
                (15, 20, -1, -0.10)])
FLAT = np.full(21, 1000.0)


def _stats(trades: np.ndarray, equity=FLAT, closes=None, per_year=252.0) -> dict[str, float]:
    closes = np.linspace(100, 120, equity.size) if closes is None else closes
    return ts.trade_stats(trades, equity, closes, per_year)


def test_the_column_layout_is_the_kernels():
    columns = ("ENTRY_INDEX", "EXIT_INDEX", "SIDE", "ENTRY_PRICE", "EXIT_PRICE", "UNITS", "PNL",
               "RETURN", "EXIT_REASON")
    assert [getattr(ts, name) for name in columns] == list(range(len(TRADE_FIELDS)))
    assert tuple(name.lower() for name in columns) == TRADE_FIELDS


def test_five_trades_by_hand():
    stats = _stats(FIVE)
    # returns 0.10 -0.05 0.20 -0.05 -0.10: mean 0.02, squared deviations sum to 0.063
    assert stats["sqn"] == pytest.approx(math.sqrt(5) * 0.02 / math.sqrt(0.063 / 4))
    # W = 2/5, average win 0.15, average loss 0.2/3, R = 2.25: 0.4 - 0.6 / 2.25 = 2/15
    assert stats["kelly"] == pytest.approx(2 / 15)
    assert stats["avg_trade_bars"] == pytest.approx((3 + 1 + 6 + 1 + 5) / 5)
    assert stats["max_trade_bars"] == 6
    assert stats["max_consecutive_losses"] == 2
    assert stats["best_trade"] == pytest.approx(0.20)
    assert stats["worst_trade"] == pytest.approx(-0.10)
    assert (stats["long_trades"], stats["short_trades"]) == (3, 2)
    assert set(stats) == set(ts.TRADE_STATS)


def test_no_trades():
    stats = _stats(np.empty((0, 8)))
    for name in NAN_WITHOUT_TRADES:
        assert math.isnan(stats[name]), name
    assert stats["max_consecutive_losses"] == stats["long_trades"] == stats["short_trades"] == 0
    assert stats["buy_hold_return"] == pytest.approx(0.2)
    assert named_json(stats)["sqn"] is None and named_json(stats)["long_trades"] == 0


def test_one_trade():
    stats = _stats(_trades([(2, 9, -1, -0.03)]))
    assert math.isnan(stats["sqn"]) and math.isnan(stats["kelly"])
    assert stats["best_trade"] == stats["worst_trade"] == pytest.approx(-0.03)
    assert stats["avg_trade_bars"] == stats["max_trade_bars"] == 7
    assert stats["max_consecutive_losses"] == 1
    assert (stats["long_trades"], stats["short_trades"]) == (0, 1)


def test_only_winners_or_equal_returns_are_undefined():
    winners = _stats(_trades([(0, 1, 1, 0.05), (2, 3, 1, 0.05), (4, 5, 1, 0.05)]))
    assert math.isnan(winners["kelly"]) and math.isnan(winners["sqn"])  # no loser; std 0
    assert winners["max_consecutive_losses"] == 0


def test_a_flat_trade_ends_a_losing_streak_and_is_no_win():
    stats = _stats(_trades([(0, 1, 1, -0.1), (1, 2, 1, 0.0), (2, 3, 1, -0.1), (3, 4, 1, 0.3)]))
    assert stats["max_consecutive_losses"] == 1
    # W = 1/4 (the flat trade counts in N), R = 0.3 / 0.1 = 3: 0.25 - 0.75 / 3 = 0
    assert stats["kelly"] == pytest.approx(0.0, abs=1e-12)


def test_alpha_and_beta_by_hand():
    # market returns 0.1, -0.1 (mean 0, variance 0.02); ours 0.05, 0 (mean 0.025); cov 0.005
    alpha, beta = ts.alpha_beta(np.array([1000.0, 1050.0, 1050.0]),
                                np.array([100.0, 110.0, 99.0]), 252.0)
    assert beta == pytest.approx(0.25)
    assert alpha == pytest.approx(0.025 * 252)
    assert ts.buy_hold_return(np.array([100.0, 110.0, 99.0])) == pytest.approx(-0.01)


def test_a_linear_function_of_the_market_has_that_beta_and_intercept():
    market = np.array([0.01, -0.02, 0.03, 0.0, -0.01, 0.02])
    closes = 50 * np.cumprod(np.r_[1.0, 1 + market])
    equity = 1e4 * np.cumprod(np.r_[1.0, 1 + (1.5 * market + 0.0004)])
    alpha, beta = ts.alpha_beta(equity, closes, 1000.0)
    assert beta == pytest.approx(1.5)
    assert alpha == pytest.approx(0.0004 * 1000)


def test_buying_and_holding_has_beta_one_and_no_alpha():
    closes = np.array([20.0, 21.0, 19.5, 22.0, 22.5])
    alpha, beta = ts.alpha_beta(closes * 7, closes, 252.0)
    assert beta == pytest.approx(1.0) and alpha == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    ("closes", "per_year", "beta_defined"),
    [(np.full(5, 10.0), 252.0, False),            # flat market: no variance
     (np.array([10.0, 11.0]), 252.0, False),      # one return: no variance
     (np.array([10.0, 11.0, 10.5]), math.nan, True)],  # no time spanned: no annual alpha
)
def test_undefined_benchmark_statistics_are_nan(closes, per_year, beta_defined):
    alpha, beta = ts.alpha_beta(np.linspace(100, 110, closes.size), closes, per_year)
    assert math.isnan(alpha)
    assert math.isfinite(beta) == beta_defined


def test_buy_and_hold_of_no_price_is_nan():
    assert math.isnan(ts.buy_hold_return(np.array([0.0, 1.0])))
    assert math.isnan(ts.buy_hold_return(np.array([])))


def test_null_for_nan_and_infinities():
    assert values_or_null(np.array([1.5, np.nan, np.inf, -np.inf])) == [1.5, None, None, None]
    assert named_json({"a": math.inf, "b": 2.0}) == {"a": None, "b": 2.0}


def test_on_a_kernel_run_the_counts_add_up_to_the_kernels():
    rng = np.random.default_rng(5)
    c = 100 + np.cumsum(rng.normal(0, 1, 400))
    t = np.arange(c.size, dtype=np.int64) * 86_400
    enter, leave = rng.random(c.size) < 0.05, rng.random(c.size) < 0.05
    equity, trades, _ = simulate(t, c, c + 1, c - 1, c, enter, leave, 2, False, 0.001, 0.0,
                                 0.0, 0.0, 0.0, 1.0, 1e4)
    stats = ts.trade_stats(trades, equity, c, c.size / (t[-1] / (365.25 * 86_400)))
    assert stats["long_trades"] + stats["short_trades"] == trades.shape[0] > 2
    assert stats["best_trade"] == trades[:, 7].max()
    assert stats["max_trade_bars"] == (trades[:, 1] - trades[:, 0]).max()
