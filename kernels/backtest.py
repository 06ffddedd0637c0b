"""Backtest simulation: one semantics for single runs and (later) parameter sweeps.

Signals are decided on a bar's close. By default an order fills at the NEXT bar's open (no
look-ahead); ``fill_close`` fills at the signal bar's close instead (vectorbt's default, used
for peer comparisons). ``direction``: 0 long only, 1 short only, 2 long and short (a long exit
signal reverses into a short). Costs: ``commission`` is a fraction of traded value plus
``commission_fixed`` per order; ``slippage`` moves every fill against the trader by that
fraction. ``stop_loss`` / ``take_profit`` are fractions of the entry fill (0 = none), checked
against each later bar's low/high: a gap through the level fills at the open, and when both
are touched in one bar the stop is assumed first (pessimistic). Each entry commits
``size_fraction`` of equity; an open position is closed at the last close.

Metrics come from the close-to-close equity curve: Sharpe and Sortino are annualised with the
number of bars per year the data spans (``n / years``; the first return is against the
initial cash), drawdowns are positive
fractions, ratios without a denominator (no losing trade, no drawdown) are NaN.
"""

from __future__ import annotations

import numpy as np
from numba import njit

LONG_ONLY, SHORT_ONLY, LONG_SHORT = 0, 1, 2
YEAR_S = 365.25 * 86400
METRICS = (
    "total_return", "cagr", "sharpe", "sortino", "calmar", "max_drawdown",
    "max_drawdown_bars", "num_trades", "win_rate", "profit_factor", "expectancy",
    "avg_trade_return", "exposure",
)
TRADE_FIELDS = ("entry_index", "exit_index", "side", "entry_price", "exit_price", "units",
                "pnl", "return")


@njit(cache=True, nogil=True)
def _fill(price, buying, slippage):
    return price * (1.0 + slippage) if buying else price * (1.0 - slippage)


@njit(cache=True, nogil=True)
def simulate(t, o, h, l, c, enter, leave, direction, fill_close, commission,
             commission_fixed, slippage, stop_loss, take_profit, size_fraction, initial_cash):
    """Run one backtest. Returns ``(equity, trades, metrics)``: equity at every close, one row
    per trade in :data:`TRADE_FIELDS` order, and :data:`METRICS` in order."""
    n = t.size
    equity = np.empty(n)
    trades = np.empty((n + 1, 8))
    cash = initial_cash
    units = 0.0                       # signed: > 0 long, < 0 short
    entry_fill = entry_value = entry_fee = 0.0
    entry_index = -1
    pending = 0                       # target position after the next open: -1, 0, 1
    has_pending = False
    count = 0
    in_market = 0
    for i in range(n):
        # 1. Orders decided at the previous close fill at this open.
        if has_pending:
            has_pending = False
            side = 1 if units > 0 else (-1 if units < 0 else 0)
            if side != 0 and pending != side:
                cash, count = _exit(cash, units, o[i], i, entry_index, entry_fill, entry_value,
                                    entry_fee, commission, commission_fixed, slippage,
                                    trades, count)
                units = 0.0
            if pending != 0 and units == 0.0 and cash > 0.0:
                units, cash, entry_fill, entry_value, entry_fee = _enter(
                    cash, pending, o[i], commission, commission_fixed, slippage, size_fraction)
                entry_index = i
        # 2. Stops and targets inside this bar (positions opened before its close).
        if units != 0.0 and (stop_loss > 0.0 or take_profit > 0.0):
            exit_price = np.nan
            if units > 0:
                stop = entry_fill * (1.0 - stop_loss)
                target = entry_fill * (1.0 + take_profit)
                if stop_loss > 0.0 and l[i] <= stop:
                    exit_price = min(o[i], stop)
                elif take_profit > 0.0 and h[i] >= target:
                    exit_price = max(o[i], target)
            else:
                stop = entry_fill * (1.0 + stop_loss)
                target = entry_fill * (1.0 - take_profit)
                if stop_loss > 0.0 and h[i] >= stop:
                    exit_price = max(o[i], stop)
                elif take_profit > 0.0 and l[i] <= target:
                    exit_price = min(o[i], target)
            if not np.isnan(exit_price) and not (fill_close and entry_index == i):
                cash, count = _exit(cash, units, exit_price, i, entry_index, entry_fill,
                                    entry_value, entry_fee, commission, commission_fixed,
                                    slippage, trades, count)
                units = 0.0
        # 3. Signals on this close.
        side = 1 if units > 0 else (-1 if units < 0 else 0)
        target_side = side
        if direction == LONG_ONLY:
            if side == 0 and enter[i]:
                target_side = 1
            elif side == 1 and leave[i]:
                target_side = 0
        elif direction == SHORT_ONLY:
            if side == 0 and leave[i]:
                target_side = -1
            elif side == -1 and enter[i]:
                target_side = 0
        else:
            if enter[i] and not leave[i]:
                target_side = 1
            elif leave[i] and not enter[i]:
                target_side = -1
        if target_side != side:
            if fill_close:
                if side != 0:
                    cash, count = _exit(cash, units, c[i], i, entry_index, entry_fill,
                                        entry_value, entry_fee, commission, commission_fixed,
                                        slippage, trades, count)
                    units = 0.0
                if target_side != 0 and cash > 0.0:
                    units, cash, entry_fill, entry_value, entry_fee = _enter(
                        cash, target_side, c[i], commission, commission_fixed, slippage,
                        size_fraction)
                    entry_index = i
            elif i + 1 < n:
                pending = target_side
                has_pending = True
        # 4. Mark to market at the close; close what is open at the end.
        if i == n - 1 and units != 0.0:
            cash, count = _exit(cash, units, c[i], i, entry_index, entry_fill, entry_value,
                                entry_fee, commission, commission_fixed, slippage, trades,
                                count)
            units = 0.0
        if units != 0.0:
            in_market += 1
        equity[i] = cash + units * c[i]
    return equity, trades[:count].copy(), _metrics(t, equity, trades[:count], in_market,
                                                   initial_cash)


@njit(cache=True, nogil=True)
def _enter(cash, side, price, commission, commission_fixed, slippage, size_fraction):
    """Open ``side`` (1 long, -1 short) with ``size_fraction`` of equity (= cash when flat)."""
    fill = _fill(price, side > 0, slippage)
    value = size_fraction * cash
    units = value / fill
    fee = commission * value + commission_fixed
    if side > 0:
        return units, cash - value - fee, fill, value, fee
    return -units, cash + value - fee, fill, value, fee


@njit(cache=True, nogil=True)
def _exit(cash, units, price, i, entry_index, entry_fill, entry_value, entry_fee, commission,
          commission_fixed, slippage, trades, count):
    """Close ``units`` at ``price`` (plus slippage and fees) and record the trade."""
    long = units > 0
    fill = _fill(price, not long, slippage)
    size = abs(units)
    fee = commission * size * fill + commission_fixed
    if long:
        cash += size * fill - fee
        pnl = (fill - entry_fill) * size - entry_fee - fee
    else:
        cash -= size * fill + fee
        pnl = (entry_fill - fill) * size - entry_fee - fee
    row = trades[count]
    row[0], row[1], row[2] = entry_index, i, 1.0 if long else -1.0
    row[3], row[4], row[5] = entry_fill, fill, size
    row[6], row[7] = pnl, pnl / entry_value if entry_value > 0 else np.nan
    return cash, count + 1


@njit(cache=True, nogil=True)
def _metrics(t, equity, trades, in_market, initial_cash):
    n = equity.size
    out = np.full(len(METRICS), np.nan)
    if n == 0:
        return out
    total = equity[n - 1] / initial_cash - 1.0
    years = (t[n - 1] - t[0]) / YEAR_S
    out[0] = total
    if years > 0 and total > -1.0:
        out[1] = (1.0 + total) ** (1.0 / years) - 1.0
    # Close-to-close returns (Welford for mean/variance), downside, drawdown.
    mean = m2 = down = 0.0
    peak = initial_cash
    worst = 0.0
    below = longest = 0
    previous = initial_cash
    for i in range(n):
        r = equity[i] / previous - 1.0 if previous != 0 else 0.0
        previous = equity[i]
        delta = r - mean
        mean += delta / (i + 1)
        m2 += delta * (r - mean)
        down += min(r, 0.0) ** 2
        if equity[i] >= peak:
            peak = equity[i]
            below = 0
        else:
            below += 1
            longest = max(longest, below)
            worst = max(worst, 1.0 - equity[i] / peak)
    if years > 0 and n > 1:
        per_year = n / years
        std = np.sqrt(m2 / (n - 1))
        out[2] = mean / std * np.sqrt(per_year) if std > 0 else np.nan
        downside = np.sqrt(down / n)
        out[3] = mean / downside * np.sqrt(per_year) if downside > 0 else np.nan
    out[5] = worst
    out[6] = longest
    out[4] = out[1] / worst if worst > 0 else np.nan
    k = trades.shape[0]
    out[7] = k
    if k > 0:
        pnl = trades[:, 6]
        wins = pnl > 0
        out[8] = wins.sum() / k
        gross_loss = -pnl[pnl < 0].sum()
        out[9] = pnl[wins].sum() / gross_loss if gross_loss > 0 else np.nan
        out[10] = pnl.mean()
        out[11] = trades[:, 7].mean()
    out[12] = in_market / n
    return out
