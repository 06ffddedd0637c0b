"""The ``runs`` Serve application, mounted at ``/runs``: the stored backtests of a workspace.

Every backtest is stored as a run (:class:`deployments.runs.store.RunStore`, from the backtest
app) in the workspace of its session, and kept ``RUNS_TTL_DAYS``, so it outlives the session.
``GET /`` lists the workspace's runs newest first, ``GET /{run_id}`` reopens one whole,
``DELETE /{run_id}`` deletes it, ``GET /{run_id}/trades.csv`` and ``GET /{run_id}/report.json``
are its downloads. Every route takes the session in ``X-Session-Token``; a run of another
workspace is unknown (404); when Redis is down the routes answer 503 with ``Retry-After``.
"""

import asyncio
from typing import Annotated, Any

from fastapi import Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field
from ray import serve

from deployments.common.errors import NotFound
from deployments.common.http_app import builder, make_api
from deployments.common.ingress import Ingress
from deployments.common.json_response import OrjsonResponse
from deployments.common.query_params import SessionToken
from deployments.common.settings import Settings
from deployments.runs.downloads import attachment, report, trades_csv
from deployments.runs.record import RUN_ID_PATTERN
from deployments.runs.store import RunStore
from deployments.sessions.access import require_workspace

RunId = Annotated[str, Path(pattern=RUN_ID_PATTERN.pattern,
                            description="Id of a run: the run_id of a /backtest answer")]
MAX_LIST = 500


class CsvResponse(Response):
    """A CSV download."""

    media_type = "text/csv"


class RunEntry(BaseModel):
    """A run as a list shows it: no curves, trades or markers."""

    run_id: str
    kind: str = Field(description="backtest (optimize: later)")
    created: float = Field(description="When it ran, UTC epoch seconds")
    strategy: str | None
    symbol: str | None
    interval: str | None
    start: str | None
    end: str | None
    rth: bool | None
    params: dict[str, Any] | None
    initial_cash: float | None
    bars: int | None
    trades: int
    metrics: dict[str, float | None] = Field(description="Headline metrics (all: GET /{id})")
    complete: bool = Field(description="False when storing it thinned its curves or trades")


class RunList(BaseModel):
    """The newest runs of the workspace, and how many it holds."""

    runs: list[RunEntry]
    total: int


class RunHeader(BaseModel):
    """What every view of a run starts with: its id, kind, time, request and summary."""

    run_id: str
    kind: str
    created: float
    request: dict[str, Any]
    summary: dict[str, Any]


class RunRecord(RunHeader):
    """A whole run: the request it took, the summary, the full answer, what storing thinned."""

    result: dict[str, Any] = Field(
        description="The answer of the run (/backtest's body, or an optimization's result)")
    stored: dict[str, Any] = Field(description="{complete: true}, or what was thinned")


class RunReport(RunHeader):
    """A run's metrics, equity and drawdown curves and request, as a download."""

    metrics: dict[str, Any] | None
    equity: dict[str, Any] | None
    drawdown: dict[str, Any] | None
    stored: dict[str, Any]


def _unknown_run(run_id: str) -> NotFound:
    return NotFound(f"no run {run_id} in this workspace (deleted, expired or never stored)",
                    "run_id")


api = make_api("Runs", "Stored backtests of the workspace: list, reopen, delete, download.",
               errors=(401, 404, 422, 503))


@serve.deployment
@serve.ingress(api)
class RunsIngress(Ingress):
    """ASGI ingress of /runs: every answer read straight from Redis."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(api, settings)
        self._runs = RunStore.from_settings(self._redis, settings)

    async def _workspace(self, token: str) -> str:
        return await require_workspace(self._sessions, self._workspaces, token)

    async def _record(self, token: str, run_id: str) -> dict[str, Any]:
        record = await self._runs.get(await self._workspace(token), run_id)
        if record is None:
            raise _unknown_run(run_id)
        return record

    @api.get("/", response_model=RunList)
    async def runs(self, session_token: SessionToken,
                   limit: Annotated[int, Query(ge=1, le=MAX_LIST,
                                               description="Most runs to list")] = 100,
                   ) -> OrjsonResponse:
        """The workspace's runs, newest first: strategy, chart, parameters, headline metrics."""
        entries, total = await self._runs.list(await self._workspace(session_token), limit)
        return OrjsonResponse({"runs": entries, "total": total})

    @api.get("/{run_id}", response_model=RunRecord)
    async def run(self, session_token: SessionToken, run_id: RunId) -> Response:
        """The whole run: request, summary, the full answer (metrics, trades, curves, ...)."""
        body = await self._runs.json(await self._workspace(session_token), run_id)
        if body is None:
            raise _unknown_run(run_id)
        return Response(body, media_type="application/json")

    @api.delete("/{run_id}", status_code=204, response_class=Response)
    async def delete(self, session_token: SessionToken, run_id: RunId) -> Response:
        """Delete the run (204); 404 when the workspace holds no such run."""
        if not await self._runs.delete(await self._workspace(session_token), run_id):
            raise _unknown_run(run_id)
        return Response(status_code=204)

    # The app's JSON response class stays (its errors are JSON); the 200 is declared CSV too.
    @api.get("/{run_id}/trades.csv",
             responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                              "description": "A header row, then one row per trade"}})
    async def trades(self, session_token: SessionToken, run_id: RunId) -> CsvResponse:
        """The run's trades as CSV (times ISO 8601 UTC), as a download."""
        record = await self._record(session_token, run_id)
        text = await asyncio.to_thread(trades_csv, record["result"].get("trades") or [])
        return CsvResponse(text, headers=attachment(f"run-{run_id}-trades.csv"))

    @api.get("/{run_id}/report.json", response_model=RunReport)
    async def report(self, session_token: SessionToken, run_id: RunId) -> OrjsonResponse:
        """The run's metrics, equity and drawdown curves and request, as a download."""
        record = await self._record(session_token, run_id)
        return OrjsonResponse(report(record), headers=attachment(f"run-{run_id}-report.json"))


build = builder(RunsIngress)
