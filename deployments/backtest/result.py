"""The body of a backtest answer: signals, the simulation, trades, markers, curves, the
metrics (the kernel's and :mod:`deployments.backtest.trade_stats`') and the strategy's
indicator series.

Pure computation over NumPy arrays (no Ray, Redis or web framework); the app runs
:func:`run_backtest` off its event loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deployments.backtest.metric_values import (
    metrics_json,
    named_json,
    number_or_null,
    values_or_null,
)
from deployments.backtest.request import BacktestIn
from deployments.backtest.trade_stats import trade_stats
from feeds.bars import Bars
from kernels.backtest import (
    EXIT_REASONS,
    METRICS,
    Context,
    pack_params,
    simulate_packed,
    years_spanned,
)
from strategies.spec import IndicatorSeries, StrategySpec


def _curves(t: np.ndarray, equity: np.ndarray, initial_cash: float
            ) -> dict[str, dict[str, np.ndarray]]:
    """Equity and drawdown (a fraction <= 0) curves; the peak starts at the initial cash, as
    the ``max_drawdown`` metric's does."""
    peak = np.maximum.accumulate(np.maximum(np.r_[initial_cash, equity], 0.0))[1:]
    drawdown = np.where(peak > 0, equity / np.where(peak > 0, peak, 1.0) - 1.0, 0.0)
    return {"equity": {"t": t, "v": equity}, "drawdown": {"t": t, "v": drawdown}}


EXIT_LABELS = ("Exit", "Stop", "Target", "Trail", "Time", "Close", "End")
"""Marker words for each of :data:`kernels.backtest.EXIT_REASONS`."""


def _trades_and_markers(t: np.ndarray, trades: np.ndarray) -> tuple[list, list]:
    rows, markers = [], []
    for (entry, exit_, side, entry_price, exit_price, units, pnl, ret,
         reason) in trades.tolist():
        long = side > 0
        rows.append({
            "entry_time": int(t[int(entry)]), "exit_time": int(t[int(exit_)]),
            "side": "long" if long else "short", "entry_price": entry_price,
            "exit_price": exit_price, "units": units, "pnl": pnl, "return": number_or_null(ret),
            "bars": int(exit_) - int(entry), "exit_reason": EXIT_REASONS[int(reason)],
        })
        markers.append({"time": int(t[int(entry)]), "position": "belowBar" if long else
                        "aboveBar", "shape": "arrowUp" if long else "arrowDown",
                        "text": "Buy" if long else "Sell short"})
        markers.append({"time": int(t[int(exit_)]), "position": "aboveBar" if long else
                        "belowBar", "shape": "arrowDown" if long else "arrowUp",
                        "text": f"{EXIT_LABELS[int(reason)]} {pnl:+.2f}"})
    return rows, markers


def bars_per_year(t: np.ndarray) -> float:
    """The annualisation factor of the kernel's Sharpe: bars / years spanned (NaN when the
    bars span no time)."""
    years = years_spanned(t)
    return t.size / years if years > 0 else float("nan")


def indicator_json(t: np.ndarray, series: IndicatorSeries) -> dict[str, Any]:
    """One series for the chart: its times and values from the first finite value on (the
    warm-up dropped), any later NaN as null."""
    finite = np.flatnonzero(np.isfinite(series.values))
    start = int(finite[0]) if finite.size else t.size
    return {"name": series.name, "pane": series.pane, "style": series.style,
            "levels": list(series.levels), "t": t[start:],
            "v": values_or_null(series.values[start:])}


def run_backtest(spec: StrategySpec, params: dict[str, Any], bars: Bars,
                 body: BacktestIn, context: Context | None = None,
                 base_tiers: list[str] | None = None) -> dict[str, Any]:
    """Signals, simulation and the answer's body (runs off the event loop); ``context`` is
    the bars' session ends and base bars, ``base_tiers`` the resolutions of those."""
    enter, leave = spec.signals(bars.o, bars.h, bars.l, bars.c, bars.v, **params)
    equity, trades, metrics = simulate_packed(bars.t, bars.o, bars.h, bars.l, bars.c, enter,
                                              leave, body.packed_params(), context)
    rows, markers = _trades_and_markers(bars.t, trades)
    stats = trade_stats(trades, equity, bars.c, bars_per_year(bars.t))
    series = spec.indicator_series(bars.o, bars.h, bars.l, bars.c, bars.v, params)
    return {
        "strategy": spec.name, "params": params, "symbol": body.symbol.upper(),
        "interval": body.interval, "bars": len(bars),
        "metrics": {**metrics_json(metrics), **named_json(stats)},
        "trades": rows, "markers": markers, **_curves(bars.t, equity, body.initial_cash),
        "indicators": [indicator_json(bars.t, item) for item in series],
        "intrabar": {"mode": body.intrabar, "base": base_tiers or [],
                     "base_bars": int(context[1][-1] - context[1][0]) if context else 0,
                     "resolved_bars": int(metrics[METRICS.index("intrabar_resolved")])},
    }


def warm_up_backtest() -> None:
    """Compile (or load cached) the simulation kernel; resampling is the historical app's."""
    t = np.arange(3, dtype=np.int64)
    price = np.ones(3)
    simulate_packed(t, price, price, price, price, np.zeros(3, bool), np.zeros(3, bool),
                    pack_params(0, False, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0))
