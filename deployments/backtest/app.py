"""The ``backtest`` Serve application, mounted at ``/backtest``: one strategy over one chart.

``POST /`` takes the strategy, its parameters, the chart (as /historical) and the trading
settings; it answers the metrics, the trades, the equity and drawdown curves and chart markers.
Every ratio in the API is a fraction, never a percent.
"""

import asyncio
from typing import Any

import numpy as np
from fastapi import FastAPI
from ray import serve

from deployments.backtest.metric_values import metrics_json, number_or_null
from deployments.backtest.request import BacktestIn, find_strategy
from deployments.charts.request import parse_chart_request
from deployments.charts.source import ChartSource
from deployments.common.http_errors import FieldError, install_error_handlers
from deployments.common.json_response import OrjsonResponse
from deployments.common.redis_client import make_client, resolve_redis_url
from deployments.common.settings import get_settings
from deployments.common.warm_up import warm_up_in_background
from deployments.sessions.access import require_session
from deployments.sessions.store import SessionStore
from feeds.bars import Bars
from kernels.backtest import simulate
from strategies.registry import LiveRegistry
from strategies.spec import ParamError, StrategySpec


def _curves(t: np.ndarray, equity: np.ndarray, initial_cash: float
            ) -> dict[str, dict[str, np.ndarray]]:
    """Equity and drawdown (a fraction <= 0) curves; the peak starts at the initial cash, as
    the ``max_drawdown`` metric's does."""
    peak = np.maximum.accumulate(np.maximum(np.r_[initial_cash, equity], 0.0))[1:]
    drawdown = np.where(peak > 0, equity / np.where(peak > 0, peak, 1.0) - 1.0, 0.0)
    return {"equity": {"t": t, "v": equity}, "drawdown": {"t": t, "v": drawdown}}


def _trades_and_markers(t: np.ndarray, trades: np.ndarray) -> tuple[list, list]:
    rows, markers = [], []
    for entry, exit_, side, entry_price, exit_price, units, pnl, ret in trades.tolist():
        long = side > 0
        rows.append({
            "entry_time": int(t[int(entry)]), "exit_time": int(t[int(exit_)]),
            "side": "long" if long else "short", "entry_price": entry_price,
            "exit_price": exit_price, "units": units, "pnl": pnl, "return": number_or_null(ret),
        })
        markers.append({"time": int(t[int(entry)]), "position": "belowBar" if long else
                        "aboveBar", "shape": "arrowUp" if long else "arrowDown",
                        "text": "Buy" if long else "Sell short"})
        markers.append({"time": int(t[int(exit_)]), "position": "aboveBar" if long else
                        "belowBar", "shape": "arrowDown" if long else "arrowUp",
                        "text": f"Exit {pnl:+.2f}"})
    return rows, markers


def run_backtest(spec: StrategySpec, params: dict[str, Any], bars: Bars,
                 body: BacktestIn) -> dict[str, Any]:
    """Signals, simulation and the answer's body (runs off the event loop)."""
    enter, leave = spec.signals(bars.o, bars.h, bars.l, bars.c, bars.v, **params)
    equity, trades, metrics = simulate(bars.t, bars.o, bars.h, bars.l, bars.c, enter, leave,
                                       *body.packed_params())
    rows, markers = _trades_and_markers(bars.t, trades)
    return {
        "strategy": spec.name, "params": params, "symbol": body.symbol.upper(),
        "interval": body.interval, "bars": len(bars),
        "metrics": metrics_json(metrics),
        "trades": rows, "markers": markers, **_curves(bars.t, equity, body.initial_cash),
    }


def _warm_up_backtest() -> None:
    """Compile (or load cached) the simulation kernel; resampling is the historical app's."""
    t = np.arange(3, dtype=np.int64)
    price = np.ones(3)
    simulate(t, price, price, price, price, np.zeros(3, bool), np.zeros(3, bool), 0, False,
             0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0)


api = FastAPI(title="Backtest", description="Run one strategy over one chart.")
install_error_handlers(api, get_settings().retry_after_s)


@serve.deployment
@serve.ingress(api)
class BacktestIngress:
    """ASGI ingress of /backtest: bars from the chart cache, simulation in a worker thread."""

    def __init__(self) -> None:
        settings = get_settings()
        redis_url = resolve_redis_url(settings)
        client = make_client(redis_url)
        self._settings = settings
        self._sessions = SessionStore(client, settings.session_timeout_s)
        self._source = ChartSource(client, redis_url, settings)
        self._registry = LiveRegistry(settings.strategies_dir)
        warm_up_in_background(_warm_up_backtest)

    @api.post("/")
    async def backtest(self, body: BacktestIn) -> OrjsonResponse:
        """Backtest ``body.strategy`` with ``body.params`` over the chart the body describes."""
        await require_session(self._sessions, body.session_token)
        spec = await find_strategy(self._registry, body.strategy)
        try:
            params = spec.validate(body.params)
        except ParamError as error:
            raise FieldError(f"params.{error.param}", error.reason) from None
        chart = parse_chart_request(self._settings, body.symbol, body.interval, body.start,
                                    body.end, body.rth)
        bars = await self._source.full(chart)
        if len(bars) < 2:
            raise FieldError("start", "the range holds fewer than two bars to trade on")
        result = await asyncio.to_thread(run_backtest, spec, params, bars, body)
        return OrjsonResponse(result)


app = BacktestIngress.bind()
