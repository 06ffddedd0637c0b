"""Backtest simulation: one semantics for single runs and parameter sweeps (CPU and CUDA).

Signals are decided on a bar's close. By default an order fills at the NEXT bar's open (no
look-ahead); ``fill_close`` fills at the signal bar's close instead (vectorbt's default, used
for peer comparisons). ``direction``: 0 long only, 1 short only, 2 long and short (a long exit
signal reverses into a short). Costs: ``commission`` is a fraction of traded value plus
``commission_fixed`` per order; ``slippage`` moves every fill against the trader by that
fraction. ``stop_loss`` / ``take_profit`` are fractions of the entry fill (0 = none), checked
against each later bar's low/high: a gap through the level fills at the open, and when both
are touched in one bar the stop is assumed first (pessimistic). ``trailing_stop`` (a fraction,
0 = none) follows the best price since entry (the entry fill, then each later bar's high, or
low when short, once the bar is survived); where it is tighter than the fixed stop it is the
stop. ``exit_after_bars`` (0 = none) closes a position at the close of the bar that many bars
after its entry bar. Each trade records why it ended (:data:`EXIT_REASONS`). Each entry commits
``size_fraction`` of the cash to the position and its entry fee together (as vectorbt does
with ``size=inf``); an open position is closed, with fees, at the last close.

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
    "avg_trade_return", "exposure",
)
TRADE_FIELDS = ("entry_index", "exit_index", "side", "entry_price", "exit_price", "units",
                "pnl", "return", "exit_reason")
EXIT_REASONS = ("signal", "stop", "target", "trailing", "time", "session_end", "end_of_data")
"""What a trade record's ``exit_reason`` code means (``session_end`` is not produced yet)."""


def pack_params(direction, fill_close, commission, commission_fixed, slippage, stop_loss,
                take_profit, size_fraction, initial_cash, trailing_stop=0.0,
                exit_after_bars=0) -> np.ndarray:
    """The parameter array the core reads (slot order of ``kernels.backtest_core``)."""
    return np.array([direction, float(fill_close), commission, commission_fixed, slippage,
                     stop_loss, take_profit, size_fraction, initial_cash, trailing_stop,
                     float(exit_after_bars)], dtype=np.float64)


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


def simulate(t, o, h, l, c, enter, leave, direction, fill_close, commission,
             commission_fixed, slippage, stop_loss, take_profit, size_fraction, initial_cash,
             trailing_stop=0.0, exit_after_bars=0):
    """Run one backtest. Returns ``(equity, trades, metrics)``: equity at every close, one row
    per trade in :data:`TRADE_FIELDS` order, and :data:`METRICS` in order.

    >>> t, c = np.arange(4) * 86_400, np.array([10.0, 11.0, 12.0, 12.0])
    >>> enter, leave = [True, False, False, False], [False, False, True, False]
    >>> equity, trades, metrics = simulate(t, c, c, c, c, enter, leave, 0, True, 0.0, 0.0,
    ...                                    0.0, 0.0, 0.0, 1.0, 100.0)
    >>> equity.tolist(), trades[:, :2].tolist(), round(float(metrics[0]), 6)
    ([100.0, 110.0, 120.0, 120.0], [[0.0, 2.0]], 0.2)
    """
    params = pack_params(direction, fill_close, commission, commission_fixed, slippage,
                         stop_loss, take_profit, size_fraction, initial_cash, trailing_stop,
                         exit_after_bars)
    enter, leave = checked_signals(enter, leave, t.size)
    return core.run_bars(o, h, l, c, enter, leave, params, years_spanned(t))


def sweep_signals(t, o, h, l, c, enter, leave, params):
    """Metrics for each column of the ``(bars, combinations)`` signal matrices, in parallel.

    The sweep for any strategy, fed in chunks of combinations so that memory stays
    O(bars x chunk)."""
    return core.sweep_columns(o, h, l, c, np.asarray(enter, np.bool_),
                              np.asarray(leave, np.bool_), params, years_spanned(t))
