"""Statistics of one backtest beyond the kernel's 13 metrics: trade quality, durations, streaks
and a buy-and-hold benchmark of the same symbol over the same bars.

Pure NumPy over the kernel's outputs (the trade records of ``kernels.backtest.TRADE_FIELDS``,
the equity at every close) and the closes; no Ray, Redis or web framework. Every value is a
float (counts too, as the metrics are); NaN where a statistic is undefined (no trades, one
trade, no losing trade, a flat benchmark). Annualisation uses the caller's bars per year, the
factor the kernel's Sharpe uses (bars / years spanned). Risk-free rate: zero, as for Sharpe.

Left to other libraries: risk-free rates, rolling statistics, Monte Carlo of the trade list.
"""

from __future__ import annotations

import math

import numpy as np

# Trade record columns, the order of ``kernels.backtest.TRADE_FIELDS`` (a test checks it).
ENTRY_INDEX, EXIT_INDEX, SIDE, ENTRY_PRICE, EXIT_PRICE, UNITS, PNL, RETURN, EXIT_REASON = range(9)
TRADE_STATS = (
    "sqn", "kelly", "buy_hold_return", "alpha", "beta", "avg_trade_bars", "max_trade_bars",
    "max_consecutive_losses", "best_trade", "worst_trade", "long_trades", "short_trades",
)


def sqn(returns: np.ndarray) -> float:
    """Van Tharp's system quality number: ``sqrt(N) * mean / std(ddof=1)`` of trade returns
    (NaN for fewer than two trades or when they all returned the same).

    >>> round(sqn(np.array([0.1, -0.05, 0.02])), 6)
    0.538462
    """
    returns = np.asarray(returns, dtype=np.float64)
    if returns.size < 2 or returns.min() == returns.max():  # equal returns: no deviation
        return math.nan
    std = float(np.std(returns, ddof=1))
    return math.sqrt(returns.size) * float(np.mean(returns)) / std


def kelly(returns: np.ndarray) -> float:
    """Kelly fraction ``W - (1 - W) / R``: W the share of winning trades, R the mean winning
    return over the mean losing one (in magnitude); NaN without a winner and a loser.

    >>> kelly(np.array([0.2, -0.1, 0.2, -0.1]))
    0.25
    """
    returns = np.asarray(returns, dtype=np.float64)
    wins, losses = returns[returns > 0], returns[returns < 0]
    if wins.size == 0 or losses.size == 0:
        return math.nan
    win_rate = wins.size / returns.size
    ratio = float(np.mean(wins)) / -float(np.mean(losses))
    return win_rate - (1.0 - win_rate) / ratio


def max_consecutive_losses(pnl: np.ndarray) -> float:
    """The longest run of losing trades (pnl < 0) in trade order; 0 without a loss.

    >>> max_consecutive_losses(np.array([-1.0, 2.0, -1.0, -3.0, 0.0, -1.0]))
    2.0
    """
    longest = run = 0
    for losing in np.asarray(pnl) < 0:
        run = run + 1 if losing else 0
        longest = max(longest, run)
    return float(longest)


def buy_hold_return(c: np.ndarray) -> float:
    """Return of buying at the first close and holding to the last: ``c[-1] / c[0] - 1``.

    >>> buy_hold_return(np.array([10.0, 9.0, 15.0]))
    0.5
    """
    if c.size < 1 or not c[0] > 0:
        return math.nan
    return float(c[-1] / c[0] - 1.0)


def _bar_returns(x: np.ndarray) -> np.ndarray:
    """``x[i] / x[i - 1] - 1`` for ``i >= 1`` (0 after a zero, as the kernel's accounting)."""
    before, after = x[:-1], x[1:]
    safe = np.where(before != 0, before, 1.0)
    return np.where(before != 0, after / safe - 1.0, 0.0)


def alpha_beta(equity: np.ndarray, c: np.ndarray, bars_per_year: float
               ) -> tuple[float, float]:
    """``(alpha, beta)`` of the per-bar equity returns against buy and hold (the closes' per-bar
    returns) over bars 1..n-1: ``beta = cov / var`` (ddof=1) and ``alpha = (mean(r) - beta *
    mean(r_bh)) * bars_per_year`` (arithmetic, risk-free 0).

    >>> c = np.array([10.0, 11.0, 9.9, 10.89])
    >>> alpha, beta = alpha_beta(100 * c / 10, c, 252.0)
    >>> round(alpha, 12), round(beta, 12)
    (0.0, 1.0)
    """
    ours = _bar_returns(np.asarray(equity, dtype=np.float64))
    market = _bar_returns(np.asarray(c, dtype=np.float64))
    if market.size < 2:
        return math.nan, math.nan
    variance = float(np.var(market, ddof=1))
    if not variance > 0:
        return math.nan, math.nan
    beta = float(np.cov(ours, market, ddof=1)[0, 1]) / variance
    if not (math.isfinite(bars_per_year) and bars_per_year > 0):
        return math.nan, beta
    alpha = (float(np.mean(ours)) - beta * float(np.mean(market))) * bars_per_year
    return alpha, beta


def _extreme(values: np.ndarray, pick) -> float:
    """``pick(values)`` as a float, NaN for no values."""
    return float(pick(values)) if values.size else math.nan


def trade_stats(trades: np.ndarray, equity: np.ndarray, c: np.ndarray,
                bars_per_year: float) -> dict[str, float]:
    """The :data:`TRADE_STATS` of one run by name, from its trade records ``(N, 8 or 9)``, equity at
    every close, the closes and the bars per year of its Sharpe.

    >>> trades = np.array([[0, 2, 1, 10, 11, 1, 1, 0.1], [3, 4, -1, 11, 12, 1, -1, -0.09]])
    >>> stats = trade_stats(trades, np.array([10., 10.5, 11, 11, 10]), np.ones(5), 252.0)
    >>> stats["long_trades"], stats["short_trades"], stats["max_trade_bars"]
    (1.0, 1.0, 2.0)
    """
    trades = np.asarray(trades, dtype=np.float64)
    trades = trades.reshape(-1, trades.shape[-1] if trades.ndim == 2 else RETURN + 1)
    returns = trades[:, RETURN]
    durations = trades[:, EXIT_INDEX] - trades[:, ENTRY_INDEX]
    alpha, beta = alpha_beta(equity, c, bars_per_year)
    return {
        "sqn": sqn(returns),
        "kelly": kelly(returns),
        "buy_hold_return": buy_hold_return(np.asarray(c, dtype=np.float64)),
        "alpha": alpha,
        "beta": beta,
        "avg_trade_bars": _extreme(durations, np.mean),
        "max_trade_bars": _extreme(durations, np.max),
        "max_consecutive_losses": max_consecutive_losses(trades[:, PNL]),
        "best_trade": _extreme(returns, np.max),
        "worst_trade": _extreme(returns, np.min),
        "long_trades": float(np.count_nonzero(trades[:, SIDE] > 0)),
        "short_trades": float(np.count_nonzero(trades[:, SIDE] < 0)),
    }
