"""Backtest simulation: one semantics for single runs and parameter sweeps (CPU and CUDA).

Signals are decided on a bar's close. By default an order fills at the NEXT bar's open (no
look-ahead); ``fill_close`` fills at the signal bar's close instead (vectorbt's default, used
for peer comparisons). ``direction``: 0 long only, 1 short only, 2 long and short (a long exit
signal reverses into a short). Costs: ``commission`` is a fraction of traded value plus
``commission_fixed`` per order; ``slippage`` moves every fill against the trader by that
fraction.

Entries (:data:`ENTRY_TYPES`): a market entry fills as above. A ``limit`` entry works an order
``entry_offset`` (a fraction of the signal bar's close) below the close for a long, above for a
short; a ``stop`` entry works it above for a long, below for a short. The order may fill from
the next bar on, for ``entry_valid_bars`` bars: at the open when the bar opens through the
level, else at the level when the range reaches it; an opposite signal cancels it, a new signal
replaces it. Exits are market orders.

Exits: ``stop_loss`` / ``take_profit`` are fractions of the entry fill (0 = none), checked
against each later bar's low/high: a gap through a level fills at the open, and when both are
touched in one bar the stop is assumed first (pessimistic). ``trailing_stop`` (a fraction, 0 =
none) follows the best price since entry (the entry fill, then each later bar's high, or low
when short, once the bar is survived); where it is tighter than the fixed stop it is the stop.
On the bar an entry order fills inside the range (not at the open), only the stop is checked
(the target may have come before the fill) and the best price stays the fill.
``exit_after_bars`` (0 = none) closes a position at the close of the bar that many bars after
its entry bar. ``flat_at_close`` closes any position at the close of the last bar of each
session (``session_end``) and carries no order over it: a signal on that bar opens nothing.
Each trade records why it ended (:data:`EXIT_REASONS`); an open position is closed, with fees,
at the last close.

Intrabar resolution: when bar context gives a bar its base bars (1-second or 1-minute bars
inside it) and the bar's range reaches more than one level (entry, stop, target) without its
open settling the order, the bar is replayed on its base bars, each by the rules above, to
find which level came first; the ``intrabar_resolved`` metric counts such bars.

Sizing (:data:`SIZING_MODES`, value ``size``): ``equity_fraction`` commits that fraction of the
cash (all of the equity when flat) to the position and its entry fee together (as vectorbt
does with ``size=inf``); ``cash`` commits that amount; ``units`` buys that many units;
``risk`` buys the units that lose that fraction of the equity if the stop (the tighter of the
fixed and trailing one) is hit. No entry spends more than the cash; ``whole_units`` rounds
the units down to a whole number.

Metrics come from the close-to-close equity curve: Sharpe and Sortino are annualised with the
number of bars per year the data spans (``n / years``; the first return is against the
initial cash), drawdowns are positive
fractions, ratios without a denominator (no losing trade, no drawdown) are NaN.
"""

from __future__ import annotations

import numpy as np

from kernels import backtest_core as core

YEAR_S = core.YEAR_S
METRICS = (
    "total_return", "cagr", "sharpe", "sortino", "calmar", "max_drawdown",
    "max_drawdown_bars", "num_trades", "win_rate", "profit_factor", "expectancy",
    "avg_trade_return", "exposure", "intrabar_resolved",
)
TRADE_FIELDS = ("entry_index", "exit_index", "side", "entry_price", "exit_price", "units",
                "pnl", "return", "exit_reason")
EXIT_REASONS = ("signal", "stop", "target", "trailing", "time", "session_end", "end_of_data")
"""What a trade record's ``exit_reason`` code means."""
ENTRY_TYPES = ("market", "limit", "stop")
SIZING_MODES = ("equity_fraction", "cash", "units", "risk")
Context = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""``(ends, bounds, base_o, base_h, base_l)``: each bar's session end flag and base bars."""


def pack_params(direction, fill_close, commission, commission_fixed, slippage, stop_loss,
                take_profit, size, initial_cash, trailing_stop=0.0, exit_after_bars=0, *,
                entry_type=0, entry_offset=0.0, entry_valid_bars=1, flat_at_close=False,
                sizing_mode=0, whole_units=False) -> np.ndarray:
    """The parameter array the core reads (slot order of ``kernels.backtest_core``); ``size``
    is the sizing mode's value (by default the fraction of equity)."""
    return np.array([direction, float(fill_close), commission, commission_fixed, slippage,
                     stop_loss, take_profit, size, initial_cash, trailing_stop,
                     float(exit_after_bars), float(entry_type), entry_offset,
                     float(entry_valid_bars), float(flat_at_close), float(sizing_mode),
                     float(whole_units)], dtype=np.float64)


def bar_context(bars: int, session_end=None, base=None) -> Context:
    """The bars' context for the drivers: ``session_end`` (a bool per bar, default none) and
    ``base`` = ``(bounds, base_o, base_h, base_l)`` (bar ``i``'s base bars are
    ``bounds[i]:bounds[i + 1]``; default none, the pessimistic rule)."""
    ends = (np.zeros(bars, np.bool_) if session_end is None
            else np.ascontiguousarray(session_end, np.bool_))
    if ends.shape != (bars,):
        raise ValueError(f"session_end has shape {ends.shape}, expected ({bars},)")
    if base is None:
        empty = np.zeros(1)
        return ends, np.zeros(bars + 1, np.int64), empty, empty, empty
    bounds, base_o, base_h, base_l = base
    bounds = np.ascontiguousarray(bounds, np.int64)
    columns = [np.ascontiguousarray(column, np.float64) for column in (base_o, base_h, base_l)]
    size = columns[0].size
    if (bounds.shape != (bars + 1,) or any(column.size != size for column in columns)
            or (bars and (bounds[0] < 0 or bounds[-1] > size or (np.diff(bounds) < 0).any()))):
        raise ValueError("base bars: bounds must be bars + 1 ascending indices into equally "
                         "long base columns")
    return (ends, bounds, *columns)


def slice_context(context: Context, start: int, end: int) -> Context:
    """The context of bars ``start:end`` (their base bars stay where they are)."""
    ends, bounds, *base = context
    return (ends[start:end], bounds[start:end + 1], *base)


def years_spanned(t: np.ndarray) -> float:
    """Years between the first and the last bar (0 for fewer than two bars)."""
    return float(t[-1] - t[0]) / YEAR_S if t.size > 1 else 0.0


def checked_signals(enter: np.ndarray, leave: np.ndarray, bars: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Signals as boolean arrays of one value per bar; ValueError otherwise (the kernels do
    no bounds checks, and a NaN must not count as a signal)."""
    result = []
    for name, signal in (("enter", enter), ("exit", leave)):
        array = np.asarray(signal)
        if array.shape != (bars,):
            raise ValueError(f"{name} signal has shape {array.shape}, expected ({bars},)")
        if array.dtype != np.bool_:
            if array.dtype.kind == "f" and np.isnan(array).any():
                raise ValueError(f"{name} signal holds NaN")
            array = array.astype(np.bool_)
        result.append(array)
    return result[0], result[1]


def simulate(t, o, h, l, c, enter, leave, *trading, context: Context | None = None,
             **options):
    """Run one backtest. ``trading`` and ``options`` are :func:`pack_params`' arguments,
    ``context`` the bars' :func:`bar_context`. Returns ``(equity, trades, metrics)``: equity at
    every close, one row per trade in :data:`TRADE_FIELDS` order, and :data:`METRICS` in order.

    >>> t, c = np.arange(4) * 86_400, np.array([10.0, 11.0, 12.0, 12.0])
    >>> enter, leave = [True, False, False, False], [False, False, True, False]
    >>> equity, trades, metrics = simulate(t, c, c, c, c, enter, leave, 0, True, 0.0, 0.0,
    ...                                    0.0, 0.0, 0.0, 1.0, 100.0)
    >>> equity.tolist(), trades[:, :2].tolist(), round(float(metrics[0]), 6)
    ([100.0, 110.0, 120.0, 120.0], [[0.0, 2.0]], 0.2)
    """
    return simulate_packed(t, o, h, l, c, enter, leave, pack_params(*trading, **options),
                           context)


def simulate_packed(t, o, h, l, c, enter, leave, params: np.ndarray,
                    context: Context | None = None):
    """:func:`simulate` with the trading settings already packed by :func:`pack_params`."""
    enter, leave = checked_signals(enter, leave, t.size)
    context = bar_context(t.size) if context is None else context
    return core.run_bars(o, h, l, c, enter, leave, params, years_spanned(t), *context)


def sweep_signals(t, o, h, l, c, enter, leave, params, context: Context | None = None):
    """Metrics for each column of the ``(bars, combinations)`` signal matrices, in parallel.

    The sweep for any strategy, fed in chunks of combinations so that memory stays
    O(bars x chunk)."""
    context = bar_context(t.size) if context is None else context
    return core.sweep_columns(o, h, l, c, np.asarray(enter, np.bool_),
                              np.asarray(leave, np.bool_), params, years_spanned(t), *context)
