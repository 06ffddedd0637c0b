"""The ``optimize`` Serve application, mounted at ``/optimize``: parameter sweeps as jobs.

``POST /`` checks the request (strategy, grid, chart, limits), records a queued job in Redis
and hands it to the ``optimize-scheduler`` actor -> ``202 {"job_id"}``. ``GET /{job_id}``
answers its status, progress, ETA and result; ``DELETE /{job_id}`` cancels it;
``GET /{job_id}/events`` streams progress as server-sent events. Everything is read from
Redis, so any replica answers and a replica restart loses nothing. Another session's job is
answered as unknown (404).
"""

import asyncio
import re
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Path
from fastapi.responses import StreamingResponse
from ray import serve

from deployments.backtest.chart_context import check_settings
from deployments.backtest.request import SAMPLED_GRID_FACTOR, OptimizeIn, find_strategy
from deployments.charts.request import ChartRequest
from deployments.charts.source import ChartSource
from deployments.common.errors import Conflict, FieldError, NotFound
from deployments.common.http_app import builder, error_responses, make_api
from deployments.common.ingress import Ingress
from deployments.common.json_response import OrjsonResponse
from deployments.common.query_params import SessionToken
from deployments.common.server_events import KEEP_ALIVE, STREAM_HEADERS, server_event
from deployments.common.settings import Settings
from deployments.optimize.grid import Grid, expand_grid
from deployments.optimize.jobs import TERMINAL, JobStore
from deployments.optimize.result import (
    WARM_UP_MARGIN_BARS,
    walk_forward_minimums,
    walk_forward_segments,
)
from deployments.optimize.scheduler import ensure_scheduler
from deployments.sessions.access import require_workspace
from strategies.registry import LiveRegistry

JOB_ID = re.compile(r"^[0-9a-f]{16}$")
EVENT_POLL_S = 0.2
KEEP_ALIVE_S = 15.0


def _unknown_job(job_id: str) -> NotFound:
    return NotFound(f"unknown optimization job {job_id!r}", "job_id")


def _progress_event(view: dict[str, Any]) -> dict[str, Any]:
    return {"status": view["status"], **view["progress"], "eta_s": view["eta_s"],
            "error": view["error"]}


def _check_walk_forward(body: OptimizeIn, bars: int, grid: Grid) -> None:
    if body.walk_forward is None:
        return
    splits, fraction = body.walk_forward.splits, body.walk_forward.oos_fraction
    min_in, min_out = walk_forward_minimums(grid)
    if not walk_forward_segments(bars, splits, fraction, min_in, min_out):
        raise FieldError("walk_forward.splits", (
            f"{splits} splits of {bars} bars at {fraction:g} out of sample leave windows too "
            f"small to trade: each in-sample part needs {min_in} bars (the longest lookback on "
            f"the grid + {WARM_UP_MARGIN_BARS}) and each out-of-sample part {min_out}; use "
            "fewer splits or a longer range"))


async def _admit_series(source: ChartSource, body: OptimizeIn) -> list[tuple[ChartRequest, int]]:
    """The job's (symbol, interval) charts with their bar counts; FieldError names the list
    element (``symbols.2``) that is unknown, repeated or holds fewer than two bars."""
    symbols = body.symbols or [body.symbol]
    intervals = body.intervals or [body.interval]
    charts: dict[tuple[str, str], ChartRequest] = {}
    for k, symbol in enumerate(symbols):
        for j, interval in enumerate(intervals):
            try:
                chart = await source.chart_request(symbol, interval, body.start, body.end,
                                                   body.rth)
            except FieldError as error:
                lists = {"symbol": ("symbols", k, body.symbols),
                         "interval": ("intervals", j, body.intervals)}
                name, at, given = lists.get(error.field, (error.field, None, None))
                if given is None:
                    raise
                raise FieldError(f"{name}.{at}", error.message) from None
            key = (chart.symbol, chart.interval)
            if key in charts:  # first met at the repeated list element
                field = f"symbols.{k}" if j == 0 and k > 0 else f"intervals.{j}"
                raise FieldError(field, f"names {chart.symbol} at {chart.interval} twice")
            charts[key] = chart
    counts = await asyncio.gather(*(source.count(chart) for chart in charts.values()))
    for (symbol, interval), bars in zip(charts, counts, strict=True):
        if bars < 2:
            where = f"{symbol} at {interval}: " if len(charts) > 1 else ""
            raise FieldError("start", f"{where}the range holds fewer than two bars to trade on")
    return list(zip(charts.values(), counts, strict=True))


api = make_api("Optimize", "Parameter sweeps over a chart as jobs on the Ray cluster.",
               errors=(401, 404, 422, 503))


@serve.deployment
@serve.ingress(api)
class OptimizeIngress(Ingress):
    """ASGI ingress of /optimize: admission and reads here, the sweep on the cluster."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(api, settings)
        self._jobs = JobStore(self._redis, self._sessions)
        self._source = ChartSource(self._redis, self._redis_url, settings)
        self._registry = LiveRegistry(settings.strategies_dir)
        self._scheduler = ensure_scheduler(settings, self._redis_url)

    async def _own_job(self, job_id: str, token: str, with_result: bool = True
                       ) -> dict[str, Any]:
        """The job's view for session ``token``: a job of its workspace (whichever of the
        workspace's sessions started it), else 404."""
        workspace = await require_workspace(self._sessions, self._workspaces, token)
        view = await self._jobs.view(job_id, with_result) if JOB_ID.fullmatch(job_id) else None
        if view is None:
            raise _unknown_job(job_id)
        session, owner = view.pop("session"), view.pop("workspace")
        if owner != workspace and not (owner is None and session == token):
            raise _unknown_job(job_id)
        return view

    @api.post("/", status_code=202, responses=error_responses(429))
    async def submit(self, body: OptimizeIn, session_token: SessionToken) -> OrjsonResponse:
        """Queue a sweep of ``body.grid``; answers 202 with the job id to poll or stream. A
        job that succeeds is stored as a run of the session's workspace (``result.run_id``)."""
        workspace = await require_workspace(self._sessions, self._workspaces, session_token)
        spec = await find_strategy(self._registry, body.strategy)
        limit = self._settings.optimize_max_combinations
        if body.search.method != "grid" and (body.search.trials or 0) > limit:
            raise FieldError("search.trials", f"at most {limit} per job "
                                              "(OPTIMIZE_MAX_COMBINATIONS)")
        grid = await asyncio.to_thread(
            expand_grid, spec, body.grid,
            limit * (SAMPLED_GRID_FACTOR if body.search.method != "grid" else 1))
        series = await _admit_series(self._source, body)  # counts never decode a chart
        (chart, bars), size = series[0], len(grid) * len(series)
        if body.search.method == "grid" and size > limit:
            raise FieldError("grid", f"holds {size} combinations over its {len(series)} "
                                     f"symbol-interval series; at most {limit} per job")
        if body.walk_forward is not None and len(series) > 1:
            raise FieldError("walk_forward", "walk-forward runs over one symbol and one "
                                             "interval")
        _check_walk_forward(body, bars, grid)
        for one, _ in series:
            check_settings(body, one, self._settings.max_request_days)
        trials = body.trial_count(size)
        admitted = {"chart": chart.as_json(), "bars": bars, "workspace": workspace,
                    "series": [{"chart": one.as_json(), "bars": n} for one, n in series]}
        job_id = await self._jobs.create(
            session_token, workspace, body.model_dump(mode="json"), admitted, trials,
            body.objective, self._settings.optimize_max_jobs_per_session,
            self._settings.runs_ttl_days * 86400)
        await self._scheduler.submit.remote(job_id)
        return OrjsonResponse({"job_id": job_id, "status": "queued", "combinations": size,
                               "trials": trials, "bars": bars,
                               "series": len(series)}, status_code=202)

    @api.get("/{job_id}")
    async def job(self, session_token: SessionToken,
                  job_id: str = Path(description="Id from POST /optimize"),
                  ) -> OrjsonResponse:
        """Status, progress (combinations done of total), ETA, error and, once done, result."""
        return OrjsonResponse(await self._own_job(job_id, session_token))

    @api.delete("/{job_id}", responses=error_responses(409))
    async def cancel(self, session_token: SessionToken,
                     job_id: str = Path(description="Id from POST /optimize"),
                     ) -> OrjsonResponse:
        """Cancel a queued or running job: its running chunk tasks are cancelled too."""
        view = await self._own_job(job_id, session_token, with_result=False)
        if not await self._jobs.update(job_id, ("queued", "running"), status="cancelled",
                                       finished_at=time.time()):
            raise Conflict(f"job {job_id} already {view['status']}; nothing to cancel", "job_id")
        return OrjsonResponse(await self._own_job(job_id, session_token, with_result=False))

    @api.get("/{job_id}/events", response_class=StreamingResponse,
             responses={200: {"content": {"text/event-stream": {}},
                              "description": "progress events, then one end event"}})
    async def events(self, session_token: SessionToken,
                     job_id: str = Path(description="Id from POST /optimize"),
                     ) -> StreamingResponse:
        """Server-sent events: ``progress`` whenever it changes, then one ``end`` event with
        the final status, after which the stream closes."""
        first = await self._own_job(job_id, session_token, with_result=False)
        return StreamingResponse(self._stream(job_id, first), media_type="text/event-stream",
                                 headers=STREAM_HEADERS)

    async def _stream(self, job_id: str, view: dict[str, Any] | None) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        sent: dict[str, Any] | None = None
        quiet_since = loop.time()
        while True:
            if view is None:
                yield server_event("end", {"status": "expired", "error": "the job is gone"})
                return
            data = _progress_event(view)
            if data["status"] in TERMINAL:
                yield server_event("progress", data)
                yield server_event("end", data)
                return
            if data != sent:
                yield server_event("progress", data)
                sent, quiet_since = data, loop.time()
            elif loop.time() - quiet_since >= KEEP_ALIVE_S:
                yield KEEP_ALIVE
                quiet_since = loop.time()
            await asyncio.sleep(EVENT_POLL_S)
            view = await self._jobs.view(job_id, with_result=False)
            if view is not None:
                view.pop("session")
                view.pop("workspace")


build = builder(OptimizeIngress)
