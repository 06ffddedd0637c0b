"""The ``iqfeed`` actor: the platform's one owner of IQFeed history connections.

Deployments call it on cache misses only (``await feed.fetch_bars.remote(...)``); errors
arrive as the client's typed exceptions (:mod:`feeds.iqfeed.errors`), which the HTTP layer
maps to 404 and 503. Bars come back as :class:`feeds.bars.Bars` (NumPy arrays). Calls are not
retried by Ray after an actor crash: the caller's deadline stays IQFEED_TIMEOUT_S.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable
from datetime import date
from typing import TypeVar

import ray

from deployments.common.named_actors import get_or_create
from deployments.common.settings import Settings
from deployments.common.warm_up import WARM_UP_DELAY_S
from deployments.iqfeed.placement import iqfeed_placement
from feeds.bars import Bars
from feeds.iqfeed import FeedError, IQFeedClient

ACTOR_NAME = "iqfeed"
T = TypeVar("T")


@ray.remote(num_cpus=0, max_restarts=-1)
class IQFeedActor:
    """Holds the pooled, rate-limited IQFeed client; every method is a history request."""

    def __init__(self, settings: Settings) -> None:
        self._client = IQFeedClient(
            settings.iqfeed_host,
            settings.iqfeed_lookup_port,
            protocol=settings.iqfeed_protocol,
            pool_size=settings.iqfeed_pool_size,
            timeout_s=settings.iqfeed_timeout_s,
            rate_per_s=settings.iqfeed_rate_per_s,
        )
        warm_up = threading.Timer(WARM_UP_DELAY_S, self._client.warm_up)
        warm_up.daemon = True
        warm_up.start()
        self._requests = 0
        self._failures = 0
        self._last_error: str | None = None

    async def fetch_bars(
        self, symbol: str, start: int, end: int, interval_s: int, regular_hours: bool = False
    ) -> Bars:
        """Bars with START times in ``[start, end)`` UTC epoch seconds."""
        return await self._counted(
            self._client.fetch_bars(symbol, start, end, interval_s, regular_hours)
        )

    async def fetch_daily(self, symbol: str, first: date, last: date) -> Bars:
        """One regular-session bar per trading day, ``first`` to ``last`` inclusive."""
        return await self._counted(self._client.fetch_daily(symbol, first, last))

    async def stats(self) -> dict[str, object]:
        """Request and failure counts, and the last error, for health pages."""
        return {
            "requests": self._requests,
            "failures": self._failures,
            "last_error": self._last_error,
        }

    async def _counted(self, call: Awaitable[T]) -> T:
        self._requests += 1
        try:
            return await call
        except FeedError as error:
            self._failures += 1
            self._last_error = f"{type(error).__name__}: {error}"
            raise


def ensure_feed_actor(settings: Settings) -> ray.actor.ActorHandle:
    """Get or create the cluster's ``iqfeed`` actor on the IQConnect node."""
    return get_or_create(IQFeedActor, ACTOR_NAME, settings, **iqfeed_placement())
