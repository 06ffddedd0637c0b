"""A per-client request limit in Redis: at most ``limit`` calls per ``window_s`` seconds.

Fixed windows (a counter per client and window, expiring with it) are enough to stop a
client from minting sessions in a loop; the counter lives in Redis so every replica shares it.
"""

from __future__ import annotations

import math

import redis.asyncio as aioredis

from deployments.common.redis_client import KEY_PREFIX, redis_guard

_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}
"""


class RateLimit:
    """Counts calls of ``name`` per client address in Redis."""

    def __init__(self, client: aioredis.Redis, name: str, limit: int, window_s: float) -> None:
        self._prefix = f"{KEY_PREFIX}ratelimit:{name}:"
        self._limit = limit
        self._window_ms = int(window_s * 1000)
        self._hit = client.register_script(_HIT)

    async def retry_after(self, client_id: str) -> int | None:
        """Count one call of ``client_id``; None if allowed, else whole seconds until the
        client's window ends."""
        async with redis_guard():
            count, ttl_ms = await self._hit(keys=[self._prefix + client_id],
                                            args=[self._window_ms])
        if int(count) <= self._limit:
            return None
        return max(1, math.ceil(max(int(ttl_ms), 0) / 1000))
