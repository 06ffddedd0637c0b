"""A replica's live bars: one long-poll of the ``iqfeed-stream`` actor per (symbol, bar
length), shared by every stream of that replica that watches it.

``async with hub.watch(symbol, bar_s) as feed:`` then ``await feed.next(version)`` waits for
news. The feed holds today's completed base bars, the forming one, the connection state and
the feed's clock; it stops polling (and so the actor, later, its upstream watch) a little
after its last watcher left.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import ray

from feeds.bars import Bars

LINGER_S = 10.0
"""How long a feed nobody watches keeps polling (a reload reconnects to a warm feed)."""
POLL_S = 15.0
ACTOR_RETRY_S = 1.0


class LiveFeed:
    """One (symbol, bar length) as this replica knows it."""

    def __init__(self, actor: ray.actor.ActorHandle, symbol: str, bar_s: int) -> None:
        self.symbol = symbol
        self.bar_s = bar_s
        self._actor = actor
        self.rows: list[list[float]] = []
        self.times: list[int] = []
        self.forming: list[float] | None = None
        self.state = "connecting"
        self.horizon: int | None = None
        self.day: str | None = None
        self.version = 0
        self.watchers = 0
        self._seq = -1
        self._epoch = -1
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _publish(self) -> None:
        self.version += 1
        self._changed.set()
        self._changed = asyncio.Event()

    async def next(self, version: int, timeout_s: float) -> None:
        """Return once the feed moved past ``version``, or after ``timeout_s``."""
        if self.version != version:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout_s)

    def ensure_running(self, on_exit: Any) -> None:
        """Start the poll loop unless it runs."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop(on_exit))

    async def _loop(self, on_exit: Any) -> None:
        idle_since: float | None = None
        loop = asyncio.get_running_loop()
        try:
            while True:
                if self.watchers == 0:
                    idle_since = idle_since or loop.time()
                    if loop.time() - idle_since > LINGER_S:
                        return
                else:
                    idle_since = None
                try:
                    answer = await self._actor.poll.remote(
                        self.symbol, self.bar_s, self._seq, self._epoch, len(self.rows), POLL_S)
                except (ray.exceptions.RayError, OSError):
                    self.state = "reconnecting"
                    self._publish()
                    await asyncio.sleep(ACTOR_RETRY_S)
                    continue
                self._apply(answer)
        finally:
            on_exit(self)

    def _apply(self, answer: dict[str, Any]) -> None:
        start = int(answer["from"])
        if answer["epoch"] != self._epoch or answer["day"] != self.day:
            self.rows, self.times = [], []
        del self.rows[start:]
        del self.times[start:]
        self.rows.extend(list(row) for row in answer["bars"])
        self.times.extend(int(row[0]) for row in answer["bars"])
        self.forming = list(answer["forming"]) if answer["forming"] else None
        self._seq, self._epoch, self.day = answer["seq"], answer["epoch"], answer["day"]
        self.state, self.horizon = answer["state"], answer["horizon"]
        self._publish()

    def base_since(self, t: int) -> Bars:
        """Base bars starting at or after ``t``: the completed ones, then the forming one."""
        rows = self.rows[bisect.bisect_left(self.times, t):]
        if self.forming is not None and self.forming[0] >= t and (
                not rows or self.forming[0] > rows[-1][0]):
            rows = [*rows, self.forming]
        if not rows:
            return Bars.empty()
        table = np.asarray(rows, dtype=np.float64)
        return Bars(table[:, 0].astype(np.int64), *(table[:, k].copy() for k in range(1, 6)))


class LiveHub:
    """The feeds of one replica, by (symbol, bar length)."""

    def __init__(self, actor: ray.actor.ActorHandle) -> None:
        self._actor = actor
        self._feeds: dict[tuple[str, int], LiveFeed] = {}

    @contextlib.asynccontextmanager
    async def watch(self, symbol: str, bar_s: int) -> AsyncIterator[LiveFeed]:
        """The shared feed of ``symbol``'s ``bar_s`` bars while the block runs."""
        key = (symbol, bar_s)
        feed = self._feeds.get(key)
        if feed is None:
            feed = self._feeds[key] = LiveFeed(self._actor, symbol, bar_s)
        feed.watchers += 1
        feed.ensure_running(self._ended)
        try:
            yield feed
        finally:
            feed.watchers -= 1

    def _ended(self, feed: LiveFeed) -> None:
        if self._feeds.get((feed.symbol, feed.bar_s)) is feed and feed.watchers == 0:
            del self._feeds[(feed.symbol, feed.bar_s)]
