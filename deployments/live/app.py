"""The ``live`` Serve application, mounted at ``/historical/stream``: today's chart bars as
server-sent events.

``GET /historical/stream?symbol&interval&rth&since`` holds a stream open as long as the chart
watches: ``status`` events (live, reconnecting, closed), ``bar`` events (the forming bar as it
changes, marked ``final`` when it closes) built like the history's bars
(:mod:`deployments.live.chart_bars`), keep-alive comments, and ``end`` before it closes. Its own
application because a stream holds its request for minutes: the ``historical`` replicas take a
few requests at a time (chart answers are CPU work), these take a thousand (a stream waits on
the feed). A replica's streams share one long-poll of the ``iqfeed-stream`` actor per symbol
and bar length (:mod:`deployments.live.hub`).
"""

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

from fastapi import Query
from fastapi.responses import StreamingResponse
from ray import serve

from deployments.charts.request import ChartRequest
from deployments.charts.source import ChartSource
from deployments.common.fields import INTERVAL_PATTERN, SYMBOL_DESCRIPTION, SYMBOL_PATTERN
from deployments.common.http_app import builder, error_responses, make_api
from deployments.common.ingress import Ingress
from deployments.common.query_params import SessionToken
from deployments.common.redis_client import redis_guard
from deployments.common.server_events import KEEP_ALIVE, STREAM_HEADERS, server_event
from deployments.common.settings import Settings
from deployments.iqfeed.stream_actor import ensure_stream_actor
from deployments.live.chart_bars import LiveChartBars, live_bar_length, live_chart
from deployments.live.hub import LiveFeed, LiveHub
from deployments.sessions.access import expired_session
from deployments.sessions.store import session_key
from feeds.eastern_time import EASTERN

api = make_api(
    "Live",
    "Today's chart bars streamed as they form (server-sent events).",
    errors=(401, 422, 503),
)
EPOCH_LIMIT = 2**53
KEEP_ALIVE_S = 15.0
SESSION_CHECK_S = 20.0
RETRY_MS = 2000


def _status(feed: LiveFeed, bars: LiveChartBars) -> dict[str, object]:
    """The ``status`` event: the feed's state ("closed" outside the chart's session)."""
    state = feed.state
    if state == "live" and feed.day is not None and not bars.trading(
            datetime.fromisoformat(feed.day).date(), feed.horizon):
        state = "closed"
    moment = (datetime.fromtimestamp(feed.horizon, EASTERN).isoformat()
              if feed.horizon else None)
    return {"state": state, "market_time": feed.horizon, "market_clock": moment}


@serve.deployment
@serve.ingress(api)
class LiveIngress(Ingress):
    """ASGI ingress of /historical/stream."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(api, settings)
        self._source = ChartSource(self._redis, self._redis_url, settings)
        self._hub = LiveHub(ensure_stream_actor(settings, self._redis_url))

    @api.get("/", response_class=StreamingResponse,
             responses={200: {"content": {"text/event-stream": {}},
                              "description": "bar and status events, keep-alive comments"},
                        **error_responses(404)})
    async def stream(
        self,
        session_token: SessionToken,
        symbol: str = Query(pattern=SYMBOL_PATTERN, description=SYMBOL_DESCRIPTION),
        interval: str = Query(pattern=INTERVAL_PATTERN,
                              description="Chart interval, intraday: 5s, 1m, 15m, 1h, 4h"),
        rth: bool = Query(True, description="Regular trading hours only (09:30-16:00)"),
        since: int | None = Query(None, ge=-EPOCH_LIMIT, le=EPOCH_LIMIT,
                                  description="t of the newest bar the chart holds: bars "
                                              "from that one on are sent (default: today's)"),
    ) -> StreamingResponse:
        """Today's bars as they form, as server-sent events: ``status`` (``state`` live,
        connecting, reconnecting or closed, and the feed's clock ``market_time``) when it
        changes, ``bar`` (``t o h l c v final``) for each new or changed bar, ``end``
        (``reason`` session_expired or unknown_symbol) before the stream closes."""
        today = self._source.clock.today().isoformat()
        chart = live_chart(await self._source.chart_request(symbol, interval, today, today,
                                                            rth))
        async with redis_guard():
            alive = await self._redis.exists(session_key(session_token))
        if not alive:
            raise expired_session()
        return StreamingResponse(self._events(chart, since, session_token),
                                 media_type="text/event-stream", headers=STREAM_HEADERS)

    async def _events(self, chart: ChartRequest, since: int | None, token: str,
                      ) -> AsyncIterator[bytes]:
        bars = LiveChartBars(chart, since)
        loop = asyncio.get_running_loop()
        yield f"retry: {RETRY_MS}\n\n".encode()
        async with self._hub.watch(chart.symbol, live_bar_length(chart)) as feed:
            version, said, quiet, checked = -1, None, loop.time(), loop.time()
            while True:
                await feed.next(version, KEEP_ALIVE_S)
                version = feed.version
                status = _status(feed, bars)
                if status != said:
                    said, quiet = status, loop.time()
                    yield server_event("status", status)
                if status["state"] == "unknown":
                    yield server_event("end", {"reason": "unknown_symbol", "message":
                                               f"the feed does not know {chart.symbol}"})
                    return
                if status["state"] != "connecting" and feed.day is not None:
                    changes = bars.changes(feed)
                    if changes:
                        quiet = loop.time()
                        yield b"".join(server_event("bar", bar) for bar in changes)
                if loop.time() - quiet >= KEEP_ALIVE_S:
                    quiet = loop.time()
                    yield KEEP_ALIVE
                if loop.time() - checked >= SESSION_CHECK_S:
                    checked = loop.time()
                    if not await self._sessions.exists(token):
                        yield server_event("end", {"reason": "session_expired",
                                                   "message": "the session expired"})
                        return


build = builder(LiveIngress)
