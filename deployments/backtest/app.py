"""The ``backtest`` Serve application, mounted at ``/backtest``: one strategy over one chart.

``POST /`` takes the strategy, its parameters, the chart (as /historical) and the trading
settings; it answers the metrics, the trades, the equity and drawdown curves and chart markers,
and ``run_id``: every backtest is stored as a run of the session's workspace (``/runs``).
Every ratio in the API is a fraction, never a percent.
"""

import asyncio

from ray import serve

from deployments.backtest.chart_context import check_settings, load_context
from deployments.backtest.request import BacktestIn, find_strategy
from deployments.backtest.result import run_backtest, warm_up_backtest
from deployments.charts.source import ChartSource
from deployments.common.errors import FieldError
from deployments.common.http_app import builder, make_api
from deployments.common.ingress import Ingress
from deployments.common.json_response import OrjsonResponse
from deployments.common.query_params import SessionToken
from deployments.common.settings import Settings
from deployments.common.warm_up import warm_up_in_background
from deployments.runs.store import RunStore
from deployments.sessions.access import require_workspace
from strategies.registry import LiveRegistry
from strategies.spec import ParamError

api = make_api("Backtest", "Run one strategy over one chart.", errors=(401, 404, 422, 503))


@serve.deployment
@serve.ingress(api)
class BacktestIngress(Ingress):
    """ASGI ingress of /backtest: bars from the chart cache, simulation in a worker thread."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(api, settings)
        self._source = ChartSource(self._redis, self._redis_url, settings)
        self._registry = LiveRegistry(settings.strategies_dir)
        self._runs = RunStore.from_settings(self._redis, settings)
        warm_up_in_background(warm_up_backtest)

    @api.post("/")
    async def backtest(self, body: BacktestIn, session_token: SessionToken) -> OrjsonResponse:
        """Backtest ``body.strategy`` with ``body.params`` over the chart the body describes."""
        workspace = await require_workspace(self._sessions, self._workspaces, session_token)
        spec = await find_strategy(self._registry, body.strategy)
        try:
            params = spec.validate(body.params)
        except ParamError as error:
            raise FieldError(f"params.{error.param}", error.reason) from None
        chart = await self._source.chart_request(body.symbol, body.interval, body.start,
                                                 body.end, body.rth)
        bars = await self._source.full(chart)
        if len(bars) < 2:
            raise FieldError("start", "the range holds fewer than two bars to trade on")
        check_settings(body, chart, self._settings.max_request_days)
        context, tiers = await load_context(self._source, chart, bars, body)
        result = await asyncio.to_thread(run_backtest, spec, params, bars, body, context,
                                         tiers)
        answer = {**result, "symbol": chart.symbol}
        run_id = await self._runs.save(workspace, "backtest", body.model_dump(mode="json"), answer)
        return OrjsonResponse({**answer, "run_id": run_id})


build = builder(BacktestIngress)
