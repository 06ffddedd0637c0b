"""A plain-Python reference of the backtest semantics (kernels/backtest.py's docstring), written
separately from the kernel to check it: one bar at a time, no arrays, no shared helpers."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

YEAR_S = 365.25 * 86400


REASONS = ("signal", "stop", "target", "trailing", "time", "session_end", "end_of_data")


def reference_backtest(t, o, h, l, c, enter, leave, direction, fill_close, commission,
                       commission_fixed, slippage, stop_loss, take_profit, size_fraction,
                       initial_cash, trailing_stop=0.0, exit_after_bars=0):
    """``(equity list, trades list of dicts, metrics dict)`` for the same inputs as simulate."""
    cash, units, equity, trades = initial_cash, 0.0, [], []
    position = None  # dict(side, fill, value, fee, index)
    pending = None
    bars_in = 0

    def buy_price(p):
        return p * (1 + slippage)

    def sell_price(p):
        return p * (1 - slippage)

    def open_position(side, price, index):
        nonlocal cash, units, position
        committed = size_fraction * cash
        if committed <= commission_fixed:
            return
        fill = buy_price(price) if side == 1 else sell_price(price)
        value = (committed - commission_fixed) / (1 + commission)  # value + fee = committed
        fee = commission * value + commission_fixed
        size = value / fill
        if side == 1:
            cash -= value + fee
            units = size
        else:
            cash += value - fee
            units = -size
        position = {"side": side, "fill": fill, "value": value, "fee": fee, "index": index,
                    "best": fill}

    def close_position(price, index, reason):
        nonlocal cash, units, position
        side, size = position["side"], abs(units)
        fill = sell_price(price) if side == 1 else buy_price(price)
        fee = commission * size * fill + commission_fixed
        if side == 1:
            cash += size * fill - fee
            pnl = (fill - position["fill"]) * size - position["fee"] - fee
        else:
            cash -= size * fill + fee
            pnl = (position["fill"] - fill) * size - position["fee"] - fee
        trades.append({"entry_index": position["index"], "exit_index": index, "side": side,
                       "entry_price": position["fill"], "exit_price": fill, "units": size,
                       "pnl": pnl, "return": pnl / position["value"],
                       "exit_reason": REASONS.index(reason)})
        units, position = 0.0, None

    n = len(t)
    for i in range(n):
        if pending is not None:
            target, pending = pending, None
            if position is not None and position["side"] != target:
                close_position(o[i], i, "signal")
            if target != 0 and position is None:
                open_position(target, o[i], i)
        if position is not None and (stop_loss > 0 or take_profit > 0 or trailing_stop > 0):
            entry, long = position["fill"], position["side"] == 1
            # The stop: the fixed one, or the trailing one where it is tighter.
            stop, stop_kind = None, "stop"
            if stop_loss > 0:
                stop = entry * (1 - stop_loss) if long else entry * (1 + stop_loss)
            if trailing_stop > 0:
                best = position["best"]
                trail = best * (1 - trailing_stop) if long else best * (1 + trailing_stop)
                if stop is None or (trail > stop if long else trail < stop):
                    stop, stop_kind = trail, "trailing"
            levels = []  # (kind, level) in priority order: the stop first (pessimistic)
            if stop is not None:
                levels.append((stop_kind, stop))
            if take_profit > 0:
                target = entry * (1 + take_profit) if long else entry * (1 - take_profit)
                levels.append(("target", target))
            hit = None
            for kind, level in levels:  # a gap beyond a level fills at the open
                adverse = kind != "target"
                beyond = (o[i] <= level) if adverse == long else (o[i] >= level)
                if beyond and hit is None:
                    hit = (o[i], kind)
            if hit is None:
                for kind, level in levels:
                    adverse = kind != "target"
                    if (l[i] <= level) if adverse == long else (h[i] >= level):
                        hit = (level, kind)
                        break
            if hit is not None:
                close_position(hit[0], i, hit[1])
            elif long:
                position["best"] = max(position["best"], h[i])
            else:
                position["best"] = min(position["best"], l[i])
        if (position is not None and exit_after_bars > 0
                and i - position["index"] >= exit_after_bars):
            close_position(c[i], i, "time")
        side = 0 if position is None else position["side"]
        target = side
        if direction == 0:
            if side == 0 and enter[i]:
                target = 1
            elif side == 1 and leave[i]:
                target = 0
        elif direction == 1:
            if side == 0 and leave[i]:
                target = -1
            elif side == -1 and enter[i]:
                target = 0
        elif enter[i] != leave[i]:
            target = 1 if enter[i] else -1
        if target != side:
            if fill_close:
                if position is not None:
                    close_position(c[i], i, "signal")
                if target != 0:
                    open_position(target, c[i], i)
            elif i + 1 < n:
                pending = target
        if i == n - 1 and position is not None:
            close_position(c[i], i, "end_of_data")
        if position is not None:
            bars_in += 1
        equity.append(cash + units * c[i])
    return equity, trades, _metrics(t, equity, trades, bars_in, initial_cash)


def _metrics(t, equity, trades, bars_in, initial_cash):
    n = len(equity)
    total = equity[-1] / initial_cash - 1
    years = (t[-1] - t[0]) / YEAR_S
    cagr = (1 + total) ** (1 / years) - 1 if years > 0 and total > -1 else math.nan
    returns = [equity[0] / initial_cash - 1] + [equity[i] / equity[i - 1] - 1
                                                 for i in range(1, n)]
    mean = sum(returns) / n
    sharpe = sortino = math.nan
    if years > 0 and n > 1:
        std = math.sqrt(sum((r - mean) ** 2 for r in returns) / (n - 1))
        down = math.sqrt(sum(min(r, 0) ** 2 for r in returns) / n)
        per_year = n / years
        sharpe = mean / std * math.sqrt(per_year) if std > 0 else math.nan
        sortino = mean / down * math.sqrt(per_year) if down > 0 else math.nan
    peak, worst, below, longest = initial_cash, 0.0, 0, 0
    for value in equity:
        if value >= peak:
            peak, below = value, 0
        else:
            below += 1
            longest = max(longest, below)
            worst = max(worst, 1 - value / peak)
    pnl = [trade["pnl"] for trade in trades]
    losses = -sum(p for p in pnl if p < 0)
    return {
        "total_return": total, "cagr": cagr, "sharpe": sharpe, "sortino": sortino,
        "calmar": cagr / worst if worst > 0 else math.nan, "max_drawdown": worst,
        "max_drawdown_bars": longest, "num_trades": len(trades),
        "win_rate": sum(p > 0 for p in pnl) / len(pnl) if pnl else math.nan,
        "profit_factor": sum(p for p in pnl if p > 0) / losses if losses > 0 else math.nan,
        "expectancy": sum(pnl) / len(pnl) if pnl else math.nan,
        "avg_trade_return": sum(tr["return"] for tr in trades) / len(trades) if trades
        else math.nan,
        "exposure": bars_in / n,
    }


def random_ohlc(rng: np.random.Generator, size: int, volatility: float = 0.02
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Consistent random ``(open, high, low, close)``: a geometric walk, opens near closes."""
    close = 100 * np.exp(np.cumsum(rng.normal(0, volatility, size)))
    opens = close * np.exp(rng.normal(0, volatility / 2, size))
    high = np.maximum(opens, close) * (1 + rng.random(size) * volatility)
    low = np.minimum(opens, close) * (1 - rng.random(size) * volatility)
    return opens, high, low, close


def trading_options() -> st.SearchStrategy:
    """Every trading setting of a backtest, as the tuple ``simulate`` takes after the signals
    (direction, fill_close, commission, fixed, slippage, stop, target, size, cash, trailing
    stop, exit after bars)."""
    return st.tuples(
        st.sampled_from([0, 1, 2]), st.booleans(), st.sampled_from([0.0, 0.0005, 0.003]),
        st.sampled_from([0.0, 1.0]), st.sampled_from([0.0, 0.0007]),
        st.sampled_from([0.0, 0.005, 0.03]), st.sampled_from([0.0, 0.01, 0.05]),
        st.sampled_from([1.0, 0.3]), st.just(10_000.0),
        st.sampled_from([0.0, 0.004, 0.02]), st.sampled_from([0, 1, 7]),
    )
