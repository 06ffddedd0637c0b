"""Single runs of an optimization's best combinations, for what the metrics matrix cannot say:
the deflated Sharpe ratio of the best (its per-bar returns) and Monte Carlo bands of the top
rows (their trades). Pure NumPy over the job's bars; the runner calls it off the event loop."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from deployments.backtest.metric_values import number_or_null
from deployments.backtest.request import MonteCarlo
from deployments.optimize.grid import Grid
from deployments.optimize.result import TopExtras
from deployments.optimize.robustness import account_returns, deflated_sharpe, monte_carlo
from deployments.optimize.series import Series, strategy_params
from kernels.backtest import (
    METRICS,
    TRADE_FIELDS,
    Context,
    simulate_packed,
    slice_context,
    years_spanned,
)
from strategies.spec import StrategySpec

PNL, ENTRY = TRADE_FIELDS.index("pnl"), TRADE_FIELDS.index("entry_index")


def per_bar_returns(equity: np.ndarray, initial_cash: float) -> np.ndarray:
    """Close-to-close returns of the equity, the first against the initial cash (the
    kernel's Sharpe convention)."""
    previous = np.r_[initial_cash, equity[:-1]]
    return equity / previous - 1.0


def trade_account_returns(trades: np.ndarray, equity: np.ndarray,
                          initial_cash: float) -> np.ndarray:
    """Each trade's pnl over the equity at the close before its entry bar."""
    entries = trades[:, ENTRY].astype(np.int64)
    before = np.where(entries > 0, equity[np.maximum(entries - 1, 0)], initial_cash)
    return account_returns(trades[:, PNL], before)


def bars_per_year(t: np.ndarray) -> float:
    """Bars over the years they span (NaN when they span no time)."""
    years = years_spanned(t)
    return t.size / years if years > 0 else math.nan


def top_extras(spec: StrategySpec, lookup: Callable[[dict[str, Any]], Series], grid: Grid,
               whole: np.ndarray, params: np.ndarray, initial_cash: float,
               monte: MonteCarlo | None) -> TopExtras:
    """The ``extras`` of :func:`deployments.optimize.result.build_result`: ``deflated_sharpe``
    of the best (from the number of trials and their per-bar Sharpe ratios) and, when asked,
    ``monte_carlo`` per top row. ``lookup`` gives a combination's bar series."""
    per_year = np.array([bars_per_year(lookup(values).bars[0]) for values in grid.combinations])
    trial_sharpes = whole[:, METRICS.index("sharpe")] / np.sqrt(per_year)

    def run(k: int) -> tuple[np.ndarray, np.ndarray]:
        series = lookup(grid.combinations[k])
        t, o, h, l, c, v = series.bars
        enter, leave = spec.signals(o, h, l, c, v, **strategy_params(grid.combinations[k]))
        equity, trades, _ = simulate_packed(t, o, h, l, c, enter, leave, params,
                                            series.context)
        return equity, trades

    def extras(order: list[int]) -> dict[str, Any]:
        rows = order[:monte.top] if monte is not None else order[:1]
        runs = {k: run(k) for k in rows}
        best_equity = runs[order[0]][0]
        out: dict[str, Any] = {
            "trials": len(grid),
            "deflated_sharpe": number_or_null(deflated_sharpe(
                per_bar_returns(best_equity, initial_cash), trial_sharpes)),
        }
        if monte is not None:
            out["monte_carlo"] = [
                {"rank": rank + 1, "params": grid.combinations[k],
                 **monte_carlo(trade_account_returns(runs[k][1], runs[k][0], initial_cash),
                               monte.paths, monte.seed)}
                for rank, k in enumerate(rows)]
        return out

    return extras


def out_of_sample_equity(spec: StrategySpec, bars: tuple[np.ndarray, ...], grid: Grid,
                         chosen: list[int], windows: list, params: np.ndarray,
                         initial_cash: float, context: Context | None
                         ) -> tuple[np.ndarray, np.ndarray]:
    """The walk-forward's out-of-sample equity stitched into one curve ``(t, v)``: each
    split's chosen combination traded over its out-of-sample bars (signals warmed up on all
    bars before, as the sweep's), starting from where the previous split ended."""
    t, o, h, l, c, v = bars
    times, values, start = [], [], initial_cash
    for best, (_, (lo, hi)) in zip(chosen, windows, strict=True):
        enter, leave = spec.signals(o, h, l, c, v, **grid.combinations[best])
        part = None if context is None else slice_context(context, lo, hi)
        equity = simulate_packed(t[lo:hi], o[lo:hi], h[lo:hi], l[lo:hi], c[lo:hi],
                                 np.asarray(enter)[lo:hi], np.asarray(leave)[lo:hi], params,
                                 part)[0]
        times.append(t[lo:hi])
        values.append(equity / initial_cash * start)
        start = float(values[-1][-1])
    return np.concatenate(times), np.concatenate(values)
