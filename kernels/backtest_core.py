"""The per-bar state machine of a backtest, written once in scalar Python for every target.

The functions are compiled here for the CPU (single runs and the parallel sweep use them), and
:mod:`kernels.core_compiler` recompiles the very same code as CUDA device functions, so every
implementation runs one semantics (documented in :mod:`kernels.backtest`). Only scalar
arithmetic and array indexing are used: no allocation, no NumPy calls.

State ``s`` (float64, :data:`STATE_SIZE`) and parameters ``p`` (float64, :data:`PARAM_SIZE`)
are flat arrays so that a GPU thread can keep them in local memory; the metrics (float64,
:data:`METRIC_COUNT`) and the trade records (:data:`TRADE_WIDTH` columns) are indexed by the
slot names below as well.

Every driver also takes the bars' context: ``ends[i]`` (bar ``i`` is the last of its session),
``bounds`` (bar ``i``'s base bars are ``bounds[i]:bounds[i + 1]`` of ``base_o/h/l``; all
zeros when there are none, which is the pessimistic intrabar rule).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

# State slots.
CASH, UNITS, ENTRY_FILL, ENTRY_VALUE, ENTRY_FEE, ENTRY_INDEX, PENDING, HAS_PENDING = range(8)
IN_MARKET, MEAN, M2, DOWN, PEAK, WORST, BELOW, LONGEST, PREVIOUS, BARS = range(8, 18)
TRADES, WINS, GROSS_WIN, GROSS_LOSS, SUM_PNL, SUM_RETURN, BEST = range(18, 25)
ORDER_SIDE, ORDER_LEVEL, ORDER_UNTIL, RESOLVED = range(25, 29)
STATE_SIZE = 29
# Parameter slots.
DIRECTION, FILL_CLOSE, COMMISSION, COMMISSION_FIXED, SLIPPAGE = range(5)
STOP_LOSS, TAKE_PROFIT, SIZE, INITIAL_CASH, TRAILING_STOP, EXIT_AFTER = range(5, 11)
ENTRY_TYPE, ENTRY_OFFSET, ENTRY_VALID, FLAT_AT_CLOSE, SIZING, WHOLE_UNITS = range(11, 17)
PARAM_SIZE = 17
# Entry order types and sizing modes (the order of ``kernels.backtest.ENTRY_TYPES`` and
# ``kernels.backtest.SIZING_MODES``).
E_MARKET, E_LIMIT, E_STOP = range(3)
S_EQUITY, S_CASH, S_UNITS, S_RISK = range(4)
# Metric slots (the order of ``kernels.backtest.METRICS``).
M_TOTAL_RETURN, M_CAGR, M_SHARPE, M_SORTINO, M_CALMAR, M_MAX_DRAWDOWN = range(6)
M_MAX_DRAWDOWN_BARS, M_NUM_TRADES, M_WIN_RATE, M_PROFIT_FACTOR, M_EXPECTANCY = range(6, 11)
M_AVG_TRADE_RETURN, M_EXPOSURE, M_INTRABAR_RESOLVED = range(11, 14)
METRIC_COUNT = 14
# Trade record columns (the order of ``kernels.backtest.TRADE_FIELDS``).
T_ENTRY_INDEX, T_EXIT_INDEX, T_SIDE, T_ENTRY_PRICE, T_EXIT_PRICE, T_UNITS, T_PNL = range(7)
T_RETURN, T_EXIT_REASON = 7, 8
TRADE_WIDTH = 9
# Exit reasons (the order of ``kernels.backtest.EXIT_REASONS``).
R_SIGNAL, R_STOP, R_TARGET, R_TRAILING, R_TIME, R_SESSION_END, R_END_OF_DATA = range(7)
YEAR_S = 365.25 * 86400
CPU_DRIVERS = ("run_bars", "sweep_columns", "sweep_window_cross", "sweep_line_cross")
"""CPU loops over the core, kept in this file so that Numba's cache (which checks only the
caller's own file) is invalidated whenever the core changes; not recompiled for CUDA."""


@njit(cache=True, nogil=True)
def reset(s, p):
    """Start a run: all cash, no position, no order, empty accumulators."""
    for k in range(STATE_SIZE):
        s[k] = 0.0
    s[CASH] = p[INITIAL_CASH]
    s[PEAK] = p[INITIAL_CASH]
    s[PREVIOUS] = p[INITIAL_CASH]
    s[ENTRY_INDEX] = -1.0


@njit(cache=True, nogil=True)
def stop_distance(p):
    """The stop's distance from the entry as a fraction: the tighter of the fixed and the
    trailing stop (0 when there is none)."""
    distance = p[STOP_LOSS]
    trailing = p[TRAILING_STOP]
    if trailing > 0.0 and (distance <= 0.0 or trailing < distance):
        distance = trailing
    return distance


@njit(cache=True, nogil=True)
def enter(s, p, side, price, i):
    """Open ``side`` (1 long, -1 short) at ``price``, sized by the SIZING mode (fees
    included, never more than the cash can pay); nothing when that size is nothing."""
    slip = p[SLIPPAGE]
    fill = price * (1.0 + slip) if side > 0 else price * (1.0 - slip)
    cash = s[CASH]
    rate = p[COMMISSION]
    fixed = p[COMMISSION_FIXED]
    mode = p[SIZING]
    if mode <= S_CASH:  # S_EQUITY or S_CASH
        # The position and its entry fee together take the committed cash.
        committed = p[SIZE] * cash if mode == S_EQUITY else min(p[SIZE], cash)
        if committed <= fixed:
            return
        value = (committed - fixed) / (1.0 + rate)
        units = value / fill
    else:
        most = (cash - fixed) / (1.0 + rate)
        if most <= 0.0:
            return
        units = most / fill
        if mode == S_UNITS:
            units = min(p[SIZE], units)
        else:
            distance = stop_distance(p)
            if distance > 0.0:
                units = min(p[SIZE] * cash / (fill * distance), units)
        value = units * fill
    if p[WHOLE_UNITS] > 0.0:
        units = math.floor(units)
        value = units * fill
    if units <= 0.0:
        return
    fee = rate * value + fixed
    if side > 0:
        s[UNITS] = units
        s[CASH] = cash - value - fee
    else:
        s[UNITS] = -units
        s[CASH] = cash + value - fee
    s[ENTRY_FILL] = fill
    s[ENTRY_VALUE] = value
    s[ENTRY_FEE] = fee
    s[ENTRY_INDEX] = i
    s[BEST] = fill


@njit(cache=True, nogil=True)
def leave(s, p, price, i, trades, record, reason):
    """Close the position at ``price`` for ``reason`` (an ``R_`` code); add the trade to the
    accumulators (and to ``trades``)."""
    units = s[UNITS]
    long = units > 0
    slip = p[SLIPPAGE]
    fill = price * (1.0 - slip) if long else price * (1.0 + slip)
    size = abs(units)
    fee = p[COMMISSION] * size * fill + p[COMMISSION_FIXED]
    if long:
        s[CASH] = s[CASH] + size * fill - fee
        pnl = (fill - s[ENTRY_FILL]) * size - s[ENTRY_FEE] - fee
    else:
        s[CASH] = s[CASH] - size * fill - fee
        pnl = (s[ENTRY_FILL] - fill) * size - s[ENTRY_FEE] - fee
    ret = pnl / s[ENTRY_VALUE] if s[ENTRY_VALUE] > 0 else math.nan
    if record:
        row = int(s[TRADES])
        trades[row, T_ENTRY_INDEX] = s[ENTRY_INDEX]
        trades[row, T_EXIT_INDEX] = i
        trades[row, T_SIDE] = 1.0 if long else -1.0
        trades[row, T_ENTRY_PRICE] = s[ENTRY_FILL]
        trades[row, T_EXIT_PRICE] = fill
        trades[row, T_UNITS] = size
        trades[row, T_PNL] = pnl
        trades[row, T_RETURN] = ret
        trades[row, T_EXIT_REASON] = reason
    s[TRADES] += 1.0
    if pnl > 0:
        s[WINS] += 1.0
        s[GROSS_WIN] += pnl
    elif pnl < 0:
        s[GROSS_LOSS] -= pnl
    s[SUM_PNL] += pnl
    s[SUM_RETURN] += ret
    s[UNITS] = 0.0


@njit(cache=True, nogil=True)
def step(s, p, i, last, o, h, l, c, go_long, go_short, trades, record, end, base_o, base_h,
         base_l, b0, b1):
    """Process bar ``i`` (``last`` is the final index, ``end`` true when it is the last of
    its session, ``b0:b1`` its base bars): fills at the open, orders and stops inside the bar,
    the close's signals, marking to market. Returns the equity at the close."""
    if s[HAS_PENDING] > 0:
        s[HAS_PENDING] = 0.0
        target = s[PENDING]
        side = 1.0 if s[UNITS] > 0 else (-1.0 if s[UNITS] < 0 else 0.0)
        if side != 0.0 and target != side:
            leave(s, p, o, i, trades, record, R_SIGNAL)
        if target != 0.0 and s[UNITS] == 0.0:
            enter(s, p, target, o, i)
    if s[ORDER_SIDE] != 0.0 or (s[UNITS] != 0.0 and watched(p)):
        if b1 > b0 and ambiguous(s, p, o, h, l):
            s[RESOLVED] += 1.0
            for j in range(b0, b1):
                if s[UNITS] == 0.0 and s[ORDER_SIDE] == 0.0:
                    break
                inside(s, p, i, base_o[j], base_h[j], base_l[j], trades, record)
        else:
            inside(s, p, i, o, h, l, trades, record)
        if s[ORDER_SIDE] != 0.0 and i >= s[ORDER_UNTIL]:
            s[ORDER_SIDE] = 0.0
    if (s[UNITS] != 0.0 and p[EXIT_AFTER] > 0.0
            and i - s[ENTRY_INDEX] >= p[EXIT_AFTER]):
        leave(s, p, c, i, trades, record, R_TIME)
    side = 1.0 if s[UNITS] > 0 else (-1.0 if s[UNITS] < 0 else 0.0)
    target = side
    direction = p[DIRECTION]
    if direction == 0.0:
        if side == 0.0 and go_long:
            target = 1.0
        elif side == 1.0 and go_short:
            target = 0.0
    elif direction == 1.0:
        if side == 0.0 and go_short:
            target = -1.0
        elif side == -1.0 and go_long:
            target = 0.0
    elif go_long != go_short:
        target = 1.0 if go_long else -1.0
    order = s[ORDER_SIDE]
    if (order > 0.0 and go_short) or (order < 0.0 and go_long):
        s[ORDER_SIDE] = 0.0
    flatten = end and p[FLAT_AT_CLOSE] > 0.0
    if target != side:
        # No order is carried over a session end when flattening.
        entry = 0.0 if flatten else target
        market = p[ENTRY_TYPE] == E_MARKET
        if p[FILL_CLOSE] > 0.0:
            if side != 0.0:
                leave(s, p, c, i, trades, record, R_SIGNAL)
            if entry != 0.0:
                if market:
                    enter(s, p, entry, c, i)
                elif i < last:
                    place(s, p, entry, c, i)
        elif i < last:
            at_open = entry if market else 0.0
            if at_open != side:
                s[PENDING] = at_open
                s[HAS_PENDING] = 1.0
            if entry != 0.0 and not market:
                place(s, p, entry, c, i)
    if flatten:
        if s[UNITS] != 0.0:
            leave(s, p, c, i, trades, record, R_SESSION_END)
        s[ORDER_SIDE] = 0.0
    if i == last and s[UNITS] != 0.0:
        leave(s, p, c, i, trades, record, R_END_OF_DATA)
    if s[UNITS] != 0.0:
        s[IN_MARKET] += 1.0
    equity = s[CASH] + s[UNITS] * c
    _account(s, equity)
    return equity


@njit(cache=True, nogil=True)
def place(s, p, side, c, i):
    """Work an entry order for ``side`` from the close ``c`` of bar ``i``: a limit buys below
    (sells above) it, a stop buys above (sells below) it, by ENTRY_OFFSET, for ENTRY_VALID
    bars."""
    offset = p[ENTRY_OFFSET]
    below = (p[ENTRY_TYPE] == E_LIMIT) == (side > 0.0)
    s[ORDER_LEVEL] = c * (1.0 - offset) if below else c * (1.0 + offset)
    s[ORDER_SIDE] = side
    s[ORDER_UNTIL] = i + p[ENTRY_VALID]


@njit(cache=True, nogil=True)
def order_fill(s, p, o, h, l):
    """The price the working order fills at on a bar with this open, high and low: the open
    when it opens through the level, the level when the range reaches it, else NaN."""
    level = s[ORDER_LEVEL]
    if (p[ENTRY_TYPE] == E_LIMIT) == (s[ORDER_SIDE] > 0.0):
        if o <= level:
            return o
        if l <= level:
            return level
    else:
        if o >= level:
            return o
        if h >= level:
            return level
    return math.nan


@njit(cache=True, nogil=True)
def watched(p):
    """True when a position has price levels to watch inside each bar."""
    return p[STOP_LOSS] > 0.0 or p[TAKE_PROFIT] > 0.0 or p[TRAILING_STOP] > 0.0


@njit(cache=True, nogil=True)
def levels(p, long, entry, best):
    """``(stop, trailing, target)`` of a position: the stop (the tighter of the fixed and the
    trailing one, an infinity when none), whether the trailing one it is, the target."""
    stop_loss = p[STOP_LOSS]
    take_profit = p[TAKE_PROFIT]
    trailing = p[TRAILING_STOP]
    is_trailing = False
    if long:
        stop = entry * (1.0 - stop_loss) if stop_loss > 0.0 else -math.inf
        if trailing > 0.0 and best * (1.0 - trailing) > stop:
            stop = best * (1.0 - trailing)
            is_trailing = True
        target = entry * (1.0 + take_profit) if take_profit > 0.0 else math.inf
    else:
        stop = entry * (1.0 + stop_loss) if stop_loss > 0.0 else math.inf
        if trailing > 0.0 and best * (1.0 + trailing) < stop:
            stop = best * (1.0 + trailing)
            is_trailing = True
        target = entry * (1.0 - take_profit) if take_profit > 0.0 else -math.inf
    return stop, is_trailing, target


@njit(cache=True, nogil=True)
def ambiguous(s, p, o, h, l):
    """True when the bar's range reaches more than one order level (entry, stop, target) and
    its open does not settle which came first, so that base bars must tell."""
    if s[UNITS] != 0.0:
        return opens_between(p, s[UNITS] > 0.0, s[ENTRY_FILL], s[BEST], o, h, l)
    if s[ORDER_SIDE] == 0.0 or not watched(p):
        return False
    price = order_fill(s, p, o, h, l)
    if math.isnan(price):
        return False
    long = s[ORDER_SIDE] > 0.0
    slip = p[SLIPPAGE]
    fill = price * (1.0 + slip) if long else price * (1.0 - slip)
    if price == o:
        return opens_between(p, long, fill, fill, o, h, l)
    stop, _, target = levels(p, long, fill, fill)
    if long:
        return l <= stop or h >= target
    return h >= stop or l <= target


@njit(cache=True, nogil=True)
def opens_between(p, long, entry, best, o, h, l):
    """True when a position held from the open opens between its stop and target and the
    range then reaches both."""
    stop, _, target = levels(p, long, entry, best)
    if long:
        return stop < o < target and l <= stop and h >= target
    return target < o < stop and h >= stop and l <= target


@njit(cache=True, nogil=True)
def inside(s, p, i, o, h, l, trades, record):
    """Inside one bar (or one base bar of it): the working entry order may fill, then the
    position's stop, trailing stop and target. After a fill inside the range (not at the open)
    only the stop is checked, since the target may have been reached before the fill."""
    if s[ORDER_SIDE] != 0.0 and s[UNITS] == 0.0:
        price = order_fill(s, p, o, h, l)
        if math.isnan(price):
            return
        side = s[ORDER_SIDE]
        s[ORDER_SIDE] = 0.0
        enter(s, p, side, price, i)
        if s[UNITS] == 0.0 or not watched(p):
            return
        if price != o:
            long = side > 0.0
            stop, is_trailing, _ = levels(p, long, s[ENTRY_FILL], s[BEST])
            if (l <= stop) if long else (h >= stop):
                leave(s, p, stop, i, trades, record, R_TRAILING if is_trailing else R_STOP)
            return
    if s[UNITS] != 0.0 and watched(p):
        exits_inside(s, p, i, o, h, l, trades, record)


@njit(cache=True, nogil=True)
def exits_inside(s, p, i, o, h, l, trades, record):
    """The stop, trailing stop and target of a position held from the open of bar ``i``: a
    gap through a level fills at the open; inside the bar the stop goes first (pessimistic).
    A position that survives moves its best price to this bar's extreme."""
    long = s[UNITS] > 0
    stop, is_trailing, target = levels(p, long, s[ENTRY_FILL], s[BEST])
    price = math.nan
    reason = R_TRAILING if is_trailing else R_STOP
    if long:
        if o <= stop:
            price = o
        elif o >= target:
            price = o
            reason = R_TARGET
        elif l <= stop:
            price = stop
        elif h >= target:
            price = target
            reason = R_TARGET
    else:
        if o >= stop:
            price = o
        elif o <= target:
            price = o
            reason = R_TARGET
        elif h >= stop:
            price = stop
        elif l <= target:
            price = target
            reason = R_TARGET
    if not math.isnan(price):
        leave(s, p, price, i, trades, record, reason)
    elif long:
        s[BEST] = max(s[BEST], h)
    else:
        s[BEST] = min(s[BEST], l)


@njit(cache=True, nogil=True)
def quiet_bar(s, p, i, last, c, go_long, go_short, end):
    """Fast path for a bar on which nothing can happen: only marking to market. Returns the
    equity, or NaN when the bar needs :func:`step`.

    Nothing can happen when no order is due or working, no signal fires, no stop or exit is
    watched and the bar is not the last."""
    if i == last or s[HAS_PENDING] > 0 or go_long or go_short or s[ORDER_SIDE] != 0.0:
        return math.nan
    units = s[UNITS]
    if units != 0.0:
        if watched(p) or p[EXIT_AFTER] > 0.0 or (end and p[FLAT_AT_CLOSE] > 0.0):
            return math.nan
        s[IN_MARKET] += 1.0
    equity = s[CASH] + units * c
    _account(s, equity)
    return equity


@njit(cache=True, nogil=True)
def _account(s, equity):
    """Fold one close's equity into the return and drawdown accumulators."""
    previous = s[PREVIOUS]
    r = equity / previous - 1.0 if previous != 0 else 0.0
    s[PREVIOUS] = equity
    s[BARS] += 1.0
    delta = r - s[MEAN]
    s[MEAN] += delta / s[BARS]
    s[M2] += delta * (r - s[MEAN])
    s[DOWN] += min(r, 0.0) ** 2
    if equity >= s[PEAK]:
        s[PEAK] = equity
        s[BELOW] = 0.0
    else:
        s[BELOW] += 1.0
        s[LONGEST] = max(s[LONGEST], s[BELOW])
        s[WORST] = max(s[WORST], 1.0 - equity / s[PEAK])


@njit(cache=True, nogil=True)
def finish(s, p, years, out):
    """Write the run's metrics (the order of ``kernels.backtest.METRICS``) into ``out``."""
    for k in range(METRIC_COUNT):
        out[k] = math.nan
    n = s[BARS]
    if n == 0:
        return
    total = s[PREVIOUS] / p[INITIAL_CASH] - 1.0
    out[M_TOTAL_RETURN] = total
    if years > 0 and total > -1.0:
        out[M_CAGR] = (1.0 + total) ** (1.0 / years) - 1.0
    if years > 0 and n > 1:
        per_year = n / years
        std = math.sqrt(s[M2] / (n - 1))
        if std > 0:
            out[M_SHARPE] = s[MEAN] / std * math.sqrt(per_year)
        downside = math.sqrt(s[DOWN] / n)
        if downside > 0:
            out[M_SORTINO] = s[MEAN] / downside * math.sqrt(per_year)
    if s[WORST] > 0:
        out[M_CALMAR] = out[M_CAGR] / s[WORST]
    out[M_MAX_DRAWDOWN] = s[WORST]
    out[M_MAX_DRAWDOWN_BARS] = s[LONGEST]
    count = s[TRADES]
    out[M_NUM_TRADES] = count
    if count > 0:
        out[M_WIN_RATE] = s[WINS] / count
        if s[GROSS_LOSS] > 0:
            out[M_PROFIT_FACTOR] = s[GROSS_WIN] / s[GROSS_LOSS]
        out[M_EXPECTANCY] = s[SUM_PNL] / count
        out[M_AVG_TRADE_RETURN] = s[SUM_RETURN] / count
    out[M_EXPOSURE] = s[IN_MARKET] / n
    out[M_INTRABAR_RESOLVED] = s[RESOLVED]


@njit(cache=True, nogil=True, inline="always")
def cross_bar(s, p, i, last, o, h, l, c, previous, diff, trades, k, ends, bounds, base_o,
              base_h, base_l):
    """Bar ``i`` of a crossover strategy (bar ``k`` of the context arrays): enter as ``diff``
    (fast - slow line) turns positive from ``previous`` (the bar before's), exit as it turns
    negative.

    The rule of ``kernels.indicators.crossings``: NaN never crosses."""
    up = previous <= 0.0 < diff
    down = previous >= 0.0 > diff
    if math.isnan(quiet_bar(s, p, i, last, c, up, down, ends[k])):
        step(s, p, i, last, o, h, l, c, up, down, trades, False, ends[k], base_o, base_h,
             base_l, bounds[k], bounds[k + 1])


@njit(cache=True, nogil=True)
def window_mean(prefix, i, window):
    """Mean of the ``window`` values ending at bar ``i`` of a prefix sum (NaN before it fills).

    The arithmetic of ``kernels.indicators.sma_at``, repeated here so that the drivers below
    depend on this file only (a test checks both agree bit for bit)."""
    if i + 1 < window:
        return math.nan
    return (prefix[i + 1] - prefix[i + 1 - window]) / window


@njit(cache=True, nogil=True)
def run_bars(o, h, l, c, enter, leave, params, years, ends, bounds, base_o, base_h, base_l):
    """One backtest over every bar: equity per bar, the trades, the metrics."""
    n = o.size
    equity = np.empty(n)
    trades = np.empty((n + 1, TRADE_WIDTH))
    state = np.empty(STATE_SIZE)
    metrics = np.empty(METRIC_COUNT)
    reset(state, params)
    for i in range(n):
        equity[i] = step(state, params, i, n - 1, o[i], h[i], l[i], c[i], enter[i], leave[i],
                         trades, True, ends[i], base_o, base_h, base_l, bounds[i],
                         bounds[i + 1])
    finish(state, params, years, metrics)
    return equity, trades[: int(state[TRADES])].copy(), metrics


@njit(cache=True, nogil=True, parallel=True)
def sweep_columns(o, h, l, c, enter, leave, params, years, ends, bounds, base_o, base_h,
                  base_l):
    """Metrics of each column of the ``(bars, combinations)`` signal matrices, in parallel."""
    n, combos = enter.shape
    out = np.empty((combos, METRIC_COUNT))
    no_trades = np.empty((1, TRADE_WIDTH))
    for k in prange(combos):
        state = np.empty(STATE_SIZE)
        reset(state, params)
        for i in range(n):
            if np.isnan(quiet_bar(state, params, i, n - 1, c[i], enter[i, k], leave[i, k],
                                  ends[i])):
                step(state, params, i, n - 1, o[i], h[i], l[i], c[i], enter[i, k],
                     leave[i, k], no_trades, False, ends[i], base_o, base_h, base_l,
                     bounds[i], bounds[i + 1])
        finish(state, params, years, out[k])
    return out


@njit(cache=True, nogil=True, parallel=True)
def sweep_window_cross(o, h, l, c, prefix, fasts, slows, params, segments, years, ends, bounds,
                       base_o, base_h, base_l):
    """Metrics ``(segments, pairs, metrics)`` of the crossover of the moving means of windows
    ``fasts[k]`` and ``slows[k]`` over each bar range ``segments[g] = (start, end)``.

    Both means come from the ``prefix`` sum of the closes; parallel over (segment, pair)."""
    pairs = fasts.size
    out = np.empty((segments.shape[0], pairs, METRIC_COUNT))
    no_trades = np.empty((1, TRADE_WIDTH))
    for job in prange(segments.shape[0] * pairs):
        g, k = job // pairs, job % pairs
        start, end = segments[g, 0], segments[g, 1]
        fast, slow = fasts[k], slows[k]
        state = np.empty(STATE_SIZE)
        reset(state, params)
        previous = math.nan
        if start > 0:
            previous = (window_mean(prefix, start - 1, fast)
                        - window_mean(prefix, start - 1, slow))
        for i in range(start, end):
            diff = window_mean(prefix, i, fast) - window_mean(prefix, i, slow)
            cross_bar(state, params, i - start, end - start - 1, o[i], h[i], l[i], c[i],
                      previous, diff, no_trades, i, ends, bounds, base_o, base_h, base_l)
            previous = diff
        finish(state, params, years[g], out[g, k])
    return out


@njit(cache=True, nogil=True, parallel=True)
def sweep_line_cross(o, h, l, c, lines, first, second, params, segments, years, ends, bounds,
                     base_o, base_h, base_l):
    """Metrics ``(segments, pairs, metrics)`` of the crossover of ``lines[first[k]]`` over
    ``lines[second[k]]`` over each bar range ``segments[g] = (start, end)``.

    ``lines`` holds precomputed indicator lines, one row each; parallel over (segment, pair)."""
    pairs = first.size
    out = np.empty((segments.shape[0], pairs, METRIC_COUNT))
    no_trades = np.empty((1, TRADE_WIDTH))
    for job in prange(segments.shape[0] * pairs):
        g, k = job // pairs, job % pairs
        start, end = segments[g, 0], segments[g, 1]
        fast, slow = lines[first[k]], lines[second[k]]
        state = np.empty(STATE_SIZE)
        reset(state, params)
        previous = fast[start - 1] - slow[start - 1] if start > 0 else math.nan
        for i in range(start, end):
            diff = fast[i] - slow[i]
            cross_bar(state, params, i - start, end - start - 1, o[i], h[i], l[i], c[i],
                      previous, diff, no_trades, i, ends, bounds, base_o, base_h, base_l)
            previous = diff
        finish(state, params, years[g], out[g, k])
    return out
