"""Single flight: concurrent requests for the same key do the expensive work once.

Two layers: inside one process, callers of the same key await one shared task; across Serve
replicas, a Redis lock (``SET NX PX``) lets one process do the work while the others poll for
the result it stores. If the lock holder dies, its lock expires and a waiter takes over.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as aioredis

from deployments.common.redis_client import KEY_PREFIX, redis_guard

T = TypeVar("T")
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class SingleFlight:
    """Runs ``work`` for a key once at a time, cluster-wide, and shares its result."""

    def __init__(self, client: aioredis.Redis, lock_ttl_s: float = 60.0, poll_s: float = 0.02):
        self._redis = client
        self._lock_ttl_ms = int(lock_ttl_s * 1000)
        self._poll_s = poll_s
        self._local: dict[str, asyncio.Task] = {}
        self._release = client.register_script(_RELEASE)

    async def run(
        self,
        key: str,
        cached: Callable[[], Awaitable[T | None]],
        work: Callable[[], Awaitable[T]],
    ) -> T:
        """``cached()`` if it has a value, else ``work()`` done by exactly one caller; the
        others get the value ``work`` stored (read back through ``cached``)."""
        task = self._local.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._cluster_once(key, cached, work))
            self._local[key] = task
            task.add_done_callback(lambda _: self._local.pop(key, None))
        return await asyncio.shield(task)

    async def _cluster_once(
        self, key: str, cached: Callable[[], Awaitable[T | None]], work: Callable[[], Awaitable[T]]
    ) -> T:
        lock = f"{KEY_PREFIX}lock:{key}"
        token = secrets.token_hex(8)
        while True:
            value = await cached()
            if value is not None:
                return value
            async with redis_guard():
                acquired = await self._redis.set(lock, token, nx=True, px=self._lock_ttl_ms)
            if acquired:
                try:
                    # The previous holder may have stored the value just before we locked.
                    value = await cached()
                    return value if value is not None else await work()
                finally:
                    async with redis_guard():
                        await self._release(keys=[lock], args=[token])
            while True:  # another process is on it: wait for its result or its lock to go
                await asyncio.sleep(self._poll_s)
                value = await cached()
                if value is not None:
                    return value
                async with redis_guard():
                    if not await self._redis.exists(lock):
                        break
