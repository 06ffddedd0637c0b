"""The ``historical`` Serve application, mounted at ``/historical``: chart data and lazy loading.

``GET /`` answers the newest bars of a chart request (``INITIAL_CHUNK_SIZE``) with a
``request_id``; ``GET /chunk`` pages further back through the same result. A repeated request is
answered straight from Redis inside this replica; a miss loads base bars (cache, else the
``iqfeed`` actor, once per symbol-day), resamples them, stores the result and starts the
background pre-aggregation of every standard interval for the range.
"""

import secrets

import numpy as np
import ray
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import Response
from ray import serve

from deployments.bar_codec import HEADER_SIZE
from deployments.bar_store import (
    BarStore,
    queue_slice,
    result_key,
    rows_from_header,
    slice_from,
)
from deployments.base_bars import DAILY_TIER, BaseBarLoader, exchange_today
from deployments.chart_builder import build_chart
from deployments.chart_payload import chart_payload
from deployments.chart_request import ChartRequest, parse_chart_request
from deployments.config import get_settings
from deployments.feed import ensure_feed_actor
from deployments.http_encoding import json_response
from deployments.http_errors import FieldError, install_error_handlers
from deployments.preaggregate import LOCK_TTL_S, lock_key, preaggregate, task_name
from deployments.redis_client import KEY_PREFIX, make_client, redis_guard, resolve_redis_url
from deployments.session_store import SessionStore, is_well_formed, session_key
from deployments.single_flight import SingleFlight
from kernels.resample import derive_standard

api = FastAPI(
    title="Historical",
    description="Chart bars resampled on the fly from cached 1-second, 1-minute and daily bars.",
)
install_error_handlers(api, get_settings().retry_after_s)
_preaggregate = ray.remote(num_cpus=1, max_retries=1)(preaggregate)


def request_record_key(request_id: str) -> str:
    """Key of the record that ties a request_id to its session and stored result."""
    return f"{KEY_PREFIX}request:{request_id}"


def _check_token(token: str) -> None:
    if not is_well_formed(token):
        raise FieldError("session_token", "must be a token from /utils/session/initiate")


def _expired_session() -> HTTPException:
    return HTTPException(401, "unknown or expired session_token: initiate a new session")


def _warm_up_kernels() -> None:
    """Compile (or load cached) kernels at replica start, not on a trader's first request."""
    t = np.arange(1_700_000_000, 1_700_000_600, dtype=np.int64)
    price = np.linspace(100, 101, t.size)
    tz = (np.array([np.iinfo(np.int64).min]), np.array([-18000]))
    derive_standard(t, price, price, price, price, price, 1, 34200, 34200, *tz)


@serve.deployment
@serve.ingress(api)
class HistoricalIngress:
    """ASGI ingress of /historical; cache hits never leave this replica except for Redis."""

    def __init__(self) -> None:
        self._settings = get_settings()
        self._redis_url = resolve_redis_url(self._settings)
        client = make_client(self._redis_url)
        self._redis = client
        self._sessions = SessionStore(client, self._settings.session_timeout_s)
        self._store = BarStore(client)
        self._flights = SingleFlight(client)
        self._loader = BaseBarLoader(self._store, ensure_feed_actor(), self._flights,
                                     self._settings)
        _warm_up_kernels()

    @api.get("/")
    async def historical(
        self,
        request: Request,
        symbol: str = Query(description="Ticker, e.g. AAPL"),
        interval: str = Query(description="5s, 1m, 5m, 1h, 4h, 1d, 1w, or any <N>s/<N>m/<N>h"),
        start: str = Query(description="First day (or date-time), exchange time, ISO format"),
        end: str = Query(description="Last day, inclusive (or an exclusive date-time)"),
        session_token: str = Query(description="Token from /utils/session/initiate"),
        rth: bool = Query(True, description="Regular trading hours only (09:30-16:00)"),
    ) -> Response:
        """The newest bars of the chart, ``request_id``, ``total`` and ``has_more``."""
        _check_token(session_token)
        chart = parse_chart_request(self._settings, symbol, interval, start, end, rth)
        key = result_key(chart.symbol, chart.rth, chart.interval, chart.start, chart.end)
        # Round trip 1: the session and the cached result's size together.
        async with redis_guard(), self._redis.pipeline(transaction=False) as pipe:
            pipe.exists(session_key(session_token))
            pipe.getrange(key, 0, HEADER_SIZE - 1)
            alive, header = await pipe.execute()
        if not alive:
            raise _expired_session()
        rows = rows_from_header(header)
        if rows is None:
            rows = await self._flights.run(
                key, lambda: self._store.result_rows(key), lambda: self._compute(chart, key)
            )
        # Round trip 2: record the request for the session and read the newest page.
        request_id = secrets.token_urlsafe(12)
        record = request_record_key(request_id)
        first = max(0, rows - self._settings.initial_chunk_size)
        async with redis_guard(), self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(record, mapping={"session": session_token, "result": key, "rows": rows})
            self._sessions.queue_register(pipe, session_token, record)
            queue_slice(pipe, key, rows, first, rows)
            answers = await pipe.execute()
        bars = slice_from(answers[-6:], first, rows)
        if bars is None:
            raise HTTPException(503, "the result was evicted while reading it; retry")
        return json_response(request, chart_payload(
            bars, request_id=request_id, symbol=chart.symbol, interval=chart.interval,
            rth=chart.rth, total=rows, has_more=first > 0,
        ))

    @api.get("/chunk")
    async def chunk(
        self,
        request: Request,
        request_id: str = Query(description="From the /historical answer"),
        before: int = Query(description="t of the oldest bar the client holds"),
        session_token: str = Query(description="Token from /utils/session/initiate"),
        limit: int | None = Query(None, ge=1, description="Bars wanted (default: chunk size)"),
    ) -> Response:
        """The bars immediately before ``before`` in a request's result, oldest first."""
        await self._require_session(session_token)
        limit = min(limit or self._settings.initial_chunk_size, self._settings.chunk_max_bars)
        async with redis_guard():
            record = await self._redis.hgetall(request_record_key(request_id))
        if not record or record[b"session"].decode() != session_token:
            raise FieldError("request_id", "unknown request_id for this session", status=404)
        key = record[b"result"].decode()
        rows = await self._store.result_rows(key)
        times = await self._store.result_times(key, rows) if rows is not None else None
        if times is None:
            raise HTTPException(410, "this chart's data expired: reload the chart")
        stop = int(np.searchsorted(times, before, side="left"))
        first = max(0, stop - limit)
        bars = await self._store.result_slice(key, rows, first, stop)
        if bars is None:
            raise HTTPException(410, "this chart's data expired: reload the chart")
        return json_response(request, chart_payload(
            bars, request_id=request_id, total=rows, has_more=first > 0,
        ))

    async def _require_session(self, token: str) -> None:
        _check_token(token)
        if not await self._sessions.exists(token):
            raise _expired_session()

    async def _compute(self, chart: ChartRequest, key: str) -> int:
        """Cache miss: load base bars, resample, store; start the pre-aggregation."""
        base = await self._loader.load(chart.symbol, chart.tier, list(chart.days))
        bars = build_chart(chart, base)
        ttl = self._result_ttl(chart)
        await self._store.put_result(key, bars, ttl)
        if chart.tier != DAILY_TIER and len(base):
            await self._start_preaggregation(chart, base, ttl)
        return len(bars)

    def _result_ttl(self, chart: ChartRequest) -> int:
        if chart.days and chart.days[-1] >= exchange_today():
            return self._settings.today_cache_ttl_s
        return self._settings.result_ttl_s

    async def _start_preaggregation(self, chart: ChartRequest, base, ttl: int) -> None:
        async with redis_guard():
            locked = await self._redis.set(lock_key(chart), 1, nx=True, ex=LOCK_TTL_S)
        if locked:
            _preaggregate.options(name=task_name(chart)).remote(
                self._redis_url, chart, base, ttl
            )


app = HistoricalIngress.bind()
