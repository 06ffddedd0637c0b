"""The ``historical`` Serve application, mounted at ``/historical``: chart data and lazy loading.

``GET /`` answers the newest bars of a chart request (``INITIAL_CHUNK_SIZE``) with a
``request_id``; ``GET /chunk`` pages further back through the same result (``GET /stream``,
today's bars as they form, is the ``live`` application's). A repeated request is answered
straight from Redis inside this replica; a miss loads base bars (cache, else the ``iqfeed``
actor, once per symbol-day), resamples them, stores the result and starts the background
pre-aggregation of every standard interval for the range.
"""

import base64
import hashlib

import numpy as np
from fastapi import Query
from ray import serve

from deployments.charts.answer_cache import AnswerCache, head, tail
from deployments.charts.bar_codec import HEADER_SIZE, column_range
from deployments.charts.bar_store import (
    queue_slice,
    result_key,
    rows_from_header,
    slice_from,
    snapshot_key,
)
from deployments.charts.payload import TIMEZONE, chart_payload, empty_range_notice
from deployments.charts.source import (
    ChartSource,
    includes_today,
    warm_up_kernels,
)
from deployments.common.errors import Gone, NotFound, ResultChanged
from deployments.common.fields import (
    END_DESCRIPTION,
    INTERVAL_DESCRIPTION,
    INTERVAL_PATTERN,
    MOMENT_PATTERN,
    START_DESCRIPTION,
    SYMBOL_DESCRIPTION,
    SYMBOL_PATTERN,
)
from deployments.common.http_app import builder, error_responses, make_api
from deployments.common.ingress import Ingress
from deployments.common.json_response import OrjsonResponse, SplicedJSONResponse
from deployments.common.query_params import SessionToken
from deployments.common.redis_client import KEY_PREFIX, redis_guard
from deployments.common.settings import Settings
from deployments.common.warm_up import warm_up_in_background
from deployments.sessions.access import expired_session
from deployments.sessions.store import session_key

api = make_api(
    "Historical",
    "Chart bars resampled on the fly from cached 1-second, 1-minute and daily bars.",
    errors=(401, 422, 503),
)
EXPIRED = "this chart's data expired: reload the chart"
REQUEST_ID_PATTERN = r"^[A-Za-z0-9_-]{16}$"
EPOCH_LIMIT = 2**53


def request_record_key(request_id: str) -> str:
    """Key of the record that ties a request_id to its session and stored result."""
    return f"{KEY_PREFIX}request:{request_id}"


def _request_id(token: str, key: str) -> str:
    """The same chart asked again by the same session keeps its request_id (and its record)."""
    digest = hashlib.blake2b(f"{token}|{key}".encode(), digest_size=12).digest()
    return base64.urlsafe_b64encode(digest).decode()


@serve.deployment
@serve.ingress(api)
class HistoricalIngress(Ingress):
    """ASGI ingress of /historical; cache hits never leave this replica except for Redis."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(api, settings)
        self._source = ChartSource(self._redis, self._redis_url, settings)
        self._store = self._source.store
        self._answers = AnswerCache()
        warm_up_in_background(warm_up_kernels)

    @api.get("/", responses=error_responses(404))
    async def historical(
        self,
        session_token: SessionToken,
        symbol: str = Query(pattern=SYMBOL_PATTERN, description=SYMBOL_DESCRIPTION),
        interval: str = Query(pattern=INTERVAL_PATTERN, description=INTERVAL_DESCRIPTION),
        start: str = Query(pattern=MOMENT_PATTERN, description=START_DESCRIPTION),
        end: str = Query(pattern=MOMENT_PATTERN, description=END_DESCRIPTION),
        rth: bool = Query(True, description="Regular trading hours only (09:30-16:00)"),
    ) -> OrjsonResponse:
        """The newest bars of the chart, ``request_id``, ``total``, ``has_more`` and ``live``
        (today is in range: ``GET /historical/stream`` streams the bars still to come)."""
        chart = await self._source.chart_request(symbol, interval, start, end, rth)
        key = result_key(chart.cache_symbol, chart.rth, chart.interval, chart.start, chart.end)
        # Round trip 1: the session and the cached result's size together.
        async with redis_guard(), self._redis.pipeline(transaction=False) as pipe:
            pipe.exists(session_key(session_token))
            pipe.getrange(key, 0, HEADER_SIZE - 1)
            alive, header = await pipe.execute()
        if not alive:
            raise expired_session()
        rows = rows_from_header(header)
        request_id = _request_id(session_token, key)
        today = includes_today(chart, self._source.clock)
        for _ in range(2):  # a result that expired between the round trips is rebuilt once
            if rows is None:
                rows = await self._source.ensure(chart, key)
            parts = await self._record_and_read(request_id, session_token, key, rows, today,
                                                chart.zone)
            if parts is not None:
                break
            rows = None
        else:
            raise ResultChanged("the chart's result keeps changing; retry")
        first = max(0, rows - self._settings.initial_chunk_size)

        notice = {} if rows else {"notice": empty_range_notice(chart)}
        # Today is in range of an intraday chart of the feed: GET /stream carries it on.
        live = today and not chart.is_file and chart.interval_s < 86400

        def encode() -> bytes:
            return head(chart_payload(
                slice_from(parts, first, rows), zone=chart.zone, symbol=chart.symbol,
                interval=chart.interval, rth=chart.rth, total=rows, has_more=first > 0,
                live=live, **notice,
            ))

        # The same chart for every session: its JSON is made once, request_id added per answer.
        return SplicedJSONResponse(self._answers.body(key, rows, parts, encode), tail(request_id))

    @api.get("/chunk", responses=error_responses(404, 410))
    async def chunk(
        self,
        session_token: SessionToken,
        request_id: str = Query(pattern=REQUEST_ID_PATTERN,
                                description="From the /historical answer"),
        before: int = Query(ge=-EPOCH_LIMIT, le=EPOCH_LIMIT,
                            description="t of the oldest bar the client holds (epoch seconds)"),
        limit: int | None = Query(None, ge=1, le=10_000_000,
                                  description="Bars wanted (default: chunk size)"),
    ) -> OrjsonResponse:
        """The bars immediately before ``before`` in a request's result, oldest first."""
        limit = min(limit or self._settings.initial_chunk_size, self._settings.chunk_max_bars)
        async with redis_guard(), self._redis.pipeline(transaction=False) as pipe:
            pipe.exists(session_key(session_token))
            pipe.hgetall(request_record_key(request_id))
            alive, record = await pipe.execute()
        if not alive:
            raise expired_session()
        if not record or record[b"session"].decode() != session_token:
            raise NotFound("unknown request_id for this session", "request_id")
        source, rows = record[b"result"].decode(), int(record[b"rows"])
        zone = record.get(b"zone", TIMEZONE.encode()).decode()
        async with redis_guard(), self._redis.pipeline(transaction=False) as pipe:
            pipe.getrange(source, 0, HEADER_SIZE - 1)
            pipe.getrange(source, *column_range(rows, 0, 0, rows))
            header, raw_times = await pipe.execute()
        if rows_from_header(header) != rows or len(raw_times) != 8 * rows:
            raise Gone(EXPIRED, "request_id")
        stop = int(np.searchsorted(np.frombuffer(raw_times, dtype="<i8"), before, side="left"))
        first = max(0, stop - limit)
        bars = await self._store.result_slice(source, rows, first, stop)
        if bars is None:
            raise Gone(EXPIRED, "request_id")
        return OrjsonResponse(chart_payload(
            bars, zone=zone, request_id=request_id, total=rows, has_more=first > 0,
        ))

    async def _record_and_read(
        self, request_id: str, token: str, key: str, rows: int, snapshot: bool, zone: str,
    ) -> list[bytes] | None:
        """Round trip 2: record the request for the session and read its newest page (the six
        column buffers of :func:`queue_slice`); None if the stored result is not the one
        ``rows`` describes any more.

        A result that includes today is rebuilt every TODAY_CACHE_TTL_S, so the request gets
        its own snapshot (owned by the session) to page back through.
        """
        record = request_record_key(request_id)
        source = snapshot_key(request_id) if snapshot else key
        first = max(0, rows - self._settings.initial_chunk_size)
        async with redis_guard(), self._redis.pipeline(transaction=True) as pipe:
            if snapshot:
                pipe.copy(key, source, replace=True)
                self._sessions.queue_register(pipe, token, source)
            pipe.getrange(source, 0, HEADER_SIZE - 1)
            queue_slice(pipe, source, rows, first, rows)
            pipe.hset(record, mapping={"session": token, "result": source, "rows": rows,
                                       "zone": zone})
            self._sessions.queue_register(pipe, token, record)
            answers = await pipe.execute()
        offset = 4 if snapshot else 0
        parts = answers[offset + 1:offset + 7]
        if rows_from_header(answers[offset]) != rows or slice_from(parts, first, rows) is None:
            return None
        return parts


build = builder(HistoricalIngress)
