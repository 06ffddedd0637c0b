"""The ``iqfeed-stream`` actor: one derivative-port connection, one upstream watch per
(symbol, bar length) however many charts watch it.

Serve replicas long-poll :meth:`LiveStreamActor.poll`; the first poll of a (symbol, bar
length) starts its ``BW`` watch from the day's first second (so the watch holds all of
today's completed bars), a watch nobody polled for LIVE_IDLE_UNWATCH_S is stopped. When the
connection drops (IQConnect or the simulator restarting), every watch says "reconnecting",
the actor reconnects with backoff and re-watches each from its newest completed bar: the bars
of the outage arrive as history, each kept once. Every few seconds the completed bars of a
watch that changed replace today's cached base bars of its tier, and the cached chart results
that include today are dropped, so a reload draws what the stream drew.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import ray

from deployments.charts.bar_store import BarStore
from deployments.common.errors import StateUnavailable
from deployments.common.named_actors import get_or_create
from deployments.common.redis_client import make_client
from deployments.common.settings import Settings
from deployments.iqfeed.live_watch import LiveWatch
from deployments.iqfeed.placement import iqfeed_placement
from feeds.iqfeed.errors import FeedUnavailable
from feeds.iqfeed.streaming_protocol import BarLine, Heartbeat, Notice
from feeds.iqfeed.streams import BarStream
from feeds.market_calendar import session_bounds_utc
from feeds.market_clock import cache_name

logger = logging.getLogger(__name__)
ACTOR_NAME = "iqfeed-stream"
TIER_OF_BAR = {1: "1s", 60: "1m"}
"""The cached base-bar tier a watch of that bar length refreshes."""
STORE_EVERY_S = 5.0
BACKOFF_S = (0.25, 0.5, 1.0, 2.0, 4.0)
POLL_TIMEOUT_MAX_S = 30.0


@ray.remote(num_cpus=0, max_restarts=-1)
class LiveStreamActor:
    """Holds the derivative-port connection and the watches; every method is async."""

    def __init__(self, settings: Settings, redis_url: str) -> None:
        self._settings = settings
        self._clock = settings.market_clock()
        self._store = BarStore(make_client(redis_url))
        self._watches: dict[tuple[str, int], LiveWatch] = {}
        self._by_request: dict[str, LiveWatch] = {}
        self._stream: BarStream | None = None
        self._state = "connecting"
        self._last_error: str | None = None
        self._heartbeat: int | None = None
        self._reconnects = 0
        self._polls = 0
        self._next_id = 0
        self._started = False
        self._unknown: set[str] = set()

    def _start(self) -> None:
        if not self._started:
            self._started = True
            loop = asyncio.get_running_loop()
            self._tasks = [loop.create_task(self._run()), loop.create_task(self._housekeep())]

    async def poll(self, symbol: str, bar_s: int, seq: int = -1, epoch: int = -1,
                   count: int = 0, timeout_s: float = 15.0) -> dict[str, Any]:
        """Today's ``bar_s`` bars of ``symbol`` beyond the ``count`` a poller holds (of
        ``epoch``), once the watch moved past ``seq`` or after ``timeout_s``; also the forming
        bar, the connection ``state`` and the feed's clock (``horizon``)."""
        self._start()
        self._polls += 1
        watch = self._watches.get((symbol, bar_s))
        if watch is None:
            watch = await self._add_watch(symbol, bar_s)
        watch.last_poll = time.monotonic()
        await watch.changed(seq, min(timeout_s, POLL_TIMEOUT_MAX_S))
        watch.last_poll = time.monotonic()
        answer = watch.view(epoch, count)
        answer.update(state=self._state if symbol not in self._unknown else "unknown",
                      horizon=self._heartbeat, error=self._last_error)
        return answer

    async def _add_watch(self, symbol: str, bar_s: int) -> LiveWatch:
        self._next_id += 1
        watch = LiveWatch(symbol, bar_s, f"L{self._next_id}", self._clock.today())
        self._watches[(symbol, bar_s)] = watch
        self._by_request[watch.request_id] = watch
        if self._stream is not None:
            with contextlib.suppress(FeedUnavailable):
                await self._send_watch(self._stream, watch)
        return watch

    async def _send_watch(self, stream: BarStream, watch: LiveWatch) -> None:
        begin = watch.resume_from()
        if begin is None:
            begin = session_bounds_utc(self._clock.today(), extended=True)[0]
        watch.synced = False
        await stream.watch(watch.symbol, watch.bar_s, watch.request_id, begin=begin)

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                stream = await BarStream.open(
                    self._settings.iqfeed_host, self._settings.iqfeed_derivative_port,
                    protocol=self._settings.iqfeed_protocol, silence_s=5.0)
                # Set first: a watch added while these are sent sends itself (twice is harmless:
                # its bars are kept once).
                self._stream = stream
                for watch in list(self._watches.values()):
                    await self._send_watch(stream, watch)
                self._set_state("live")
                failures = 0
                while True:
                    self._dispatch(await stream.read())
            except FeedUnavailable as error:
                self._last_error = str(error)
            except Exception as error:  # any other fault: reconnect, and say why
                self._last_error = f"{type(error).__name__}: {error}"
                logger.exception("live stream connection failed")
            if self._stream is not None:
                self._stream.close()
                self._stream = None
                self._reconnects += 1
            self._set_state("reconnecting")
            await asyncio.sleep(BACKOFF_S[min(failures, len(BACKOFF_S) - 1)])
            failures += 1

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            for watch in self._watches.values():
                watch.wake()

    def _dispatch(self, line: BarLine | Heartbeat | Notice) -> None:
        if isinstance(line, Heartbeat):
            self._heartbeat = line.t
            return
        if isinstance(line, BarLine):
            watch = self._by_request.get(line.request_id)
            if watch is not None:
                watch.apply(line)
            return
        if line.kind == "n" and line.fields:
            self._unknown.add(line.fields[0])
            for (symbol, _), watch in self._watches.items():
                if symbol == line.fields[0]:
                    watch.wake()

    async def _housekeep(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                await self._housekeep_once()
            except Exception:  # the loop must outlive one bad pass
                logger.exception("live stream housekeeping failed")

    async def _housekeep_once(self) -> None:
        now = time.monotonic()
        for key, watch in list(self._watches.items()):
            if now - watch.last_poll > self._settings.live_idle_unwatch_s:
                del self._watches[key]
                del self._by_request[watch.request_id]
                self._unknown.discard(watch.symbol)
                if self._stream is not None:
                    with contextlib.suppress(FeedUnavailable):
                        await self._stream.unwatch(watch.request_id)
            elif (watch.synced and watch.seq != watch.stored_seq and watch.rows
                  and now - watch.stored_at >= STORE_EVERY_S):
                await self._store_today(watch)

    async def _store_today(self, watch: LiveWatch) -> None:
        """Today's completed bars replace the cached base bars of their tier."""
        tier = TIER_OF_BAR.get(watch.bar_s)
        watch.stored_at = time.monotonic()
        if tier is None:
            return
        seq = watch.seq
        stored = cache_name(watch.symbol, self._clock.tag)
        try:
            await self._store.put_day(tier, stored, watch.day, watch.completed(),
                                      self._settings.today_cache_ttl_s)
            await self._store.drop_live_results(stored)
        except StateUnavailable as error:  # Redis down: the next pass tries again
            self._last_error = f"storing today's bars: {type(error).__name__}"
            return
        watch.stored_seq = seq

    async def stats(self) -> dict[str, object]:
        """The connection's state and the watches, for health pages and benchmarks."""
        return {
            "state": self._state, "reconnects": self._reconnects, "polls": self._polls,
            "last_error": self._last_error, "horizon": self._heartbeat,
            "watches": [{"symbol": w.symbol, "bar_s": w.bar_s, "bars": len(w.rows),
                         "updates": w.updates} for w in self._watches.values()],
        }


def ensure_stream_actor(settings: Settings, redis_url: str) -> ray.actor.ActorHandle:
    """Get or create the cluster's ``iqfeed-stream`` actor on the IQConnect node."""
    return get_or_create(LiveStreamActor, ACTOR_NAME, settings, redis_url,
                         **iqfeed_placement())
