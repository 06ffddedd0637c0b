"""A plain-Python reference of the backtest semantics (kernels/backtest.py's docstring), written
separately from the kernel to check it: one bar at a time, no arrays, no shared helpers."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

YEAR_S = 365.25 * 86400


REASONS = ("signal", "stop", "target", "trailing", "time", "session_end", "end_of_data")
ENTRIES = ("market", "limit", "stop")
SIZINGS = ("equity_fraction", "cash", "units", "risk")


def reference_backtest(t, o, h, l, c, enter, leave, direction, fill_close, commission,
                       commission_fixed, slippage, stop_loss, take_profit, size,
                       initial_cash, trailing_stop=0.0, exit_after_bars=0, *, entry_type=0,
                       entry_offset=0.0, entry_valid_bars=1, flat_at_close=False,
                       sizing_mode=0, whole_units=False, session_end=None, base=None):
    """``(equity list, trades list of dicts, metrics dict)`` for the same inputs as simulate
    (``session_end`` and ``base`` as ``bar_context`` takes them)."""
    cash, units, equity, trades = initial_cash, 0.0, [], []
    position = None  # dict(side, fill, value, fee, index, best)
    pending = None
    order = None  # dict(side, level, until)
    bars_in = resolved = 0
    ends = [False] * len(t) if session_end is None else list(session_end)
    entry_kind = ENTRIES[entry_type]
    sizing = SIZINGS[sizing_mode]

    def buy_price(p):
        return p * (1 + slippage)

    def sell_price(p):
        return p * (1 - slippage)

    def open_position(side, price, index):
        nonlocal cash, units, position
        fill = buy_price(price) if side == 1 else sell_price(price)
        if sizing in ("equity_fraction", "cash"):
            committed = size * cash if sizing == "equity_fraction" else min(size, cash)
            if committed <= commission_fixed:
                return
            value = (committed - commission_fixed) / (1 + commission)  # value + fee = committed
            amount = value / fill
        else:
            affordable = (cash - commission_fixed) / (1 + commission)
            if affordable <= 0:
                return
            if sizing == "units":
                amount = min(size, affordable / fill)
            else:
                distances = [d for d in (stop_loss, trailing_stop) if d > 0]
                amount = affordable / fill
                if distances:
                    amount = min(size * cash / (fill * min(distances)), amount)
            value = amount * fill
        if whole_units:
            amount = math.floor(amount)
            value = amount * fill
        if amount <= 0:
            return
        fee = commission * value + commission_fixed
        if side == 1:
            cash -= value + fee
            units = amount
        else:
            cash += value - fee
            units = -amount
        position = {"side": side, "fill": fill, "value": value, "fee": fee, "index": index,
                    "best": fill}

    def close_position(price, index, reason):
        nonlocal cash, units, position
        side, amount = position["side"], abs(units)
        fill = sell_price(price) if side == 1 else buy_price(price)
        fee = commission * amount * fill + commission_fixed
        if side == 1:
            cash += amount * fill - fee
            pnl = (fill - position["fill"]) * amount - position["fee"] - fee
        else:
            cash -= amount * fill + fee
            pnl = (position["fill"] - fill) * amount - position["fee"] - fee
        trades.append({"entry_index": position["index"], "exit_index": index, "side": side,
                       "entry_price": position["fill"], "exit_price": fill, "units": amount,
                       "pnl": pnl, "return": pnl / position["value"],
                       "exit_reason": REASONS.index(reason)})
        units, position = 0.0, None

    watching = stop_loss > 0 or take_profit > 0 or trailing_stop > 0

    def stop_of(side, entry, best):
        """(price, kind) of the stop: the fixed one, or the trailing one where tighter."""
        stop, kind = None, "stop"
        if stop_loss > 0:
            stop = entry * (1 - stop_loss) if side == 1 else entry * (1 + stop_loss)
        if trailing_stop > 0:
            trail = best * (1 - trailing_stop) if side == 1 else best * (1 + trailing_stop)
            if stop is None or (trail > stop if side == 1 else trail < stop):
                stop, kind = trail, "trailing"
        return stop, kind

    def target_of(side, entry):
        if take_profit <= 0:
            return None
        return entry * (1 + take_profit) if side == 1 else entry * (1 - take_profit)

    def adverse_reached(side, level, low, high):
        return level is not None and (low <= level if side == 1 else high >= level)

    def favourable_reached(side, level, low, high):
        return level is not None and (high >= level if side == 1 else low <= level)

    def order_price(bar_open, high, low):
        """Where the working order fills on a bar, or None: buying below (a long limit, a short
        stop's mirror) needs the price to fall to the level."""
        falls_to = (entry_kind == "limit") == (order["side"] == 1)
        level = order["level"]
        if falls_to:
            return bar_open if bar_open <= level else (level if low <= level else None)
        return bar_open if bar_open >= level else (level if high >= level else None)

    def exits(bar_open, high, low, index):
        """Stop, trailing stop and target of a position held from this bar's open."""
        side = position["side"]
        stop, kind = stop_of(side, position["fill"], position["best"])
        target = target_of(side, position["fill"])
        if stop is not None and (bar_open <= stop if side == 1 else bar_open >= stop):
            close_position(bar_open, index, kind)
        elif target is not None and (bar_open >= target if side == 1 else bar_open <= target):
            close_position(bar_open, index, "target")
        elif adverse_reached(side, stop, low, high):
            close_position(stop, index, kind)
        elif favourable_reached(side, target, low, high):
            close_position(target, index, "target")
        elif side == 1:
            position["best"] = max(position["best"], high)
        else:
            position["best"] = min(position["best"], low)

    def one_bar(bar_open, high, low, index):
        """The working order, then the exits, on one bar or one base bar."""
        nonlocal order
        if order is not None and position is None:
            price = order_price(bar_open, high, low)
            if price is None:
                return
            side, order = order["side"], None
            open_position(side, price, index)
            if position is None or not watching:
                return
            if price != bar_open:  # filled inside the range: only the stop can be known
                stop, kind = stop_of(side, position["fill"], position["best"])
                if adverse_reached(side, stop, low, high):
                    close_position(stop, index, kind)
                return
        if position is not None and watching:
            exits(bar_open, high, low, index)

    def undecided(bar_open, high, low):
        """More than one level in this bar's range, its open settling nothing."""
        def both(side, entry, best):
            stop, _ = stop_of(side, entry, best)
            target = target_of(side, entry)
            stop = stop if stop is not None else (-math.inf if side == 1 else math.inf)
            target = target if target is not None else (math.inf if side == 1 else -math.inf)
            between = (stop < bar_open < target) if side == 1 else (target < bar_open < stop)
            return (between and adverse_reached(side, stop, low, high)
                    and favourable_reached(side, target, low, high))
        if position is not None:
            return both(position["side"], position["fill"], position["best"])
        if order is None or not watching:
            return False
        price = order_price(bar_open, high, low)
        if price is None:
            return False
        side = order["side"]
        fill = buy_price(price) if side == 1 else sell_price(price)
        if price == bar_open:
            return both(side, fill, fill)
        stop, _ = stop_of(side, fill, fill)
        return (adverse_reached(side, stop, low, high)
                or favourable_reached(side, target_of(side, fill), low, high))

    n = len(t)
    for i in range(n):
        if pending is not None:
            target, pending = pending, None
            if position is not None and position["side"] != target:
                close_position(o[i], i, "signal")
            if target != 0 and position is None:
                open_position(target, o[i], i)
        if order is not None or (position is not None and watching):
            first, stop_at = (base[0][i], base[0][i + 1]) if base is not None else (0, 0)
            if stop_at > first and undecided(o[i], h[i], l[i]):
                resolved += 1
                for j in range(first, stop_at):
                    if position is None and order is None:
                        break
                    one_bar(base[1][j], base[2][j], base[3][j], i)
            else:
                one_bar(o[i], h[i], l[i], i)
            if order is not None and i >= order["until"]:
                order = None
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
        if order is not None and ((order["side"] == 1 and leave[i])
                                  or (order["side"] == -1 and enter[i])):
            order = None
        day_ends = bool(ends[i]) and flat_at_close
        if target != side:
            opening = 0 if day_ends else target
            if fill_close:
                if position is not None:
                    close_position(c[i], i, "signal")
                if opening != 0 and entry_kind == "market":
                    open_position(opening, c[i], i)
            elif i + 1 < n:
                wanted = opening if entry_kind == "market" else 0
                if wanted != side:
                    pending = wanted
            if opening != 0 and entry_kind != "market" and i + 1 < n:
                below = (entry_kind == "limit") == (opening == 1)
                level = c[i] * (1 - entry_offset) if below else c[i] * (1 + entry_offset)
                order = {"side": opening, "level": level, "until": i + entry_valid_bars}
        if day_ends:
            if position is not None:
                close_position(c[i], i, "session_end")
            order = None
        if i == n - 1 and position is not None:
            close_position(c[i], i, "end_of_data")
        if position is not None:
            bars_in += 1
        equity.append(cash + units * c[i])
    metrics = _metrics(t, equity, trades, bars_in, initial_cash)
    metrics["intrabar_resolved"] = resolved
    return equity, trades, metrics


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


SIZES = {0: (1.0, 0.3), 1: (2_500.0, 50_000.0), 2: (7.0, 1e6), 3: (0.01, 0.5)}
"""Values of ``size`` for each sizing mode: one within the cash, one beyond it."""


def order_options() -> st.SearchStrategy:
    """The order-model keywords of ``simulate`` (entry type, offset and validity, flat at the
    close, sizing mode and whole units) and ``size`` matched to the sizing mode, as a dict."""
    def with_size(mode: int) -> st.SearchStrategy:
        return st.fixed_dictionaries({
            "sizing_mode": st.just(mode), "size": st.sampled_from(SIZES[mode]),
            "entry_type": st.sampled_from([0, 1, 2]),
            "entry_offset": st.sampled_from([0.0, 0.002, 0.01]),
            "entry_valid_bars": st.sampled_from([1, 3]),
            "flat_at_close": st.booleans(), "whole_units": st.booleans(),
        })
    return st.sampled_from([0, 1, 2, 3]).flatmap(with_size)


def random_sessions(rng: np.random.Generator, size: int) -> np.ndarray:
    """Session-end flags: a session ends after every few bars (never on the last bar)."""
    ends = rng.random(size) < 0.15
    if size:
        ends[-1] = False
    return ends


def random_base_bars(rng: np.random.Generator, o, h, l, c, per_bar: int = 6
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(bounds, base_o, base_h, base_l)``: a random path of up to ``per_bar`` base bars
    inside each bar (some bars have none) from its open to its close through its high and low;
    each base bar opens where the one before closed."""
    bounds, opens, highs, lows = [0], [], [], []
    for i in range(len(o)):
        count = int(rng.integers(0, per_bar + 1))
        if count == 1:
            opens.append(o[i])
            highs.append(h[i])
            lows.append(l[i])
        elif count > 1:
            middle = rng.uniform(l[i], h[i], 2 * count - 1)
            middle[rng.permutation(middle.size)[:2]] = h[i], l[i]
            path = np.r_[o[i], middle, c[i]]
            for k in range(count):
                piece = path[2 * k:2 * k + 3]
                opens.append(piece[0])
                highs.append(piece.max())
                lows.append(piece.min())
        bounds.append(len(opens))
    return (np.array(bounds, np.int64), np.array(opens or [0.0]), np.array(highs or [0.0]),
            np.array(lows or [0.0]))
