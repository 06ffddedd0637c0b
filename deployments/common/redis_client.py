"""Async Redis access for the deployments: URL resolution, pooled client, outage mapping.

An outage of Redis surfaces as :class:`StateUnavailable`, which the HTTP layer turns into
503 with ``Retry-After``. Timeouts are short so that no request hangs on a dead server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ConstantBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from deployments.common.errors import StateUnavailable
from deployments.common.settings import Settings

T = TypeVar("T")
KEY_PREFIX = "v1:"
"""Version prefix of every key, so a format change never reads old bytes as new."""


def resolve_redis_url(settings: Settings) -> str:
    """``REDIS_URL`` when set, else the URL of the cluster's embedded Valkey server (both may
    hold a password: never log or return them)."""
    if settings.redis_url is not None:
        return settings.redis_url.get_secret_value()
    from deployments.common.embedded_redis import ensure_embedded_redis

    return ensure_embedded_redis(settings.data_dir)


def make_client(url: str) -> aioredis.Redis:
    """A pooled asyncio client whose calls fail within about two seconds when Redis is down."""
    # A blocking pool makes a burst of commands wait (up to 2 s) for a free connection
    # instead of failing with MaxConnectionsError once all 128 are busy.
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        socket_connect_timeout=1.0,
        socket_timeout=2.0,
        health_check_interval=15,
        max_connections=128,
        timeout=2.0,
        retry=Retry(ConstantBackoff(0.05), retries=1),
    )
    return aioredis.Redis(connection_pool=pool)


@asynccontextmanager
async def redis_guard() -> AsyncIterator[None]:
    """Turn connection failures and timeouts of Redis into :class:`StateUnavailable`."""
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError, ReadOnlyError, OSError) as error:
        raise StateUnavailable(f"Redis unavailable: {type(error).__name__}") from error


async def redis_reachable(client: aioredis.Redis) -> bool:
    """True when Redis answers PING now."""
    try:
        return bool(await client.ping())
    except (RedisConnectionError, RedisTimeoutError, OSError):
        return False


async def outlasting_outages(call: Callable[[], Awaitable[T]], patience_s: float = 60.0,
                             pause_s: float = 0.5) -> T:
    """``await call()``, called again while Redis is unavailable, for up to ``patience_s``.

    For long-lived work (an optimization's orchestrator, the scheduler) that must ride out a
    Redis restart instead of failing: a request handler fails fast with 503 instead.
    """
    deadline = time.monotonic() + patience_s
    while True:
        try:
            return await call()
        except StateUnavailable:
            if time.monotonic() >= deadline:
                raise
            await asyncio.sleep(pause_s)
