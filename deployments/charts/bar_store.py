"""Bars in Redis: base bars per (tier, symbol, trading day) and resampled results per request.

Keys (all under ``v1:``):

- ``v1:bars:<tier>:<symbol>:<YYYYMMDD>``   base bars of one trading day (compressed when it pays);
  an empty value body means "no bars that day", so such days are not fetched again
- ``v1:agg:<symbol>[@<generation>]:<rth|eth>:<interval>:<start>:<end>``   a full resampled
  result (an imported symbol's keys carry its generation), uncompressed so that a page of it
  is read with GETRANGE per column instead of the whole value; written
  once (SET NX) and left to expire, never rewritten in place
- ``v1:snapshot:<request_id>``   a request's own copy of a result that includes today
"""

from __future__ import annotations

from datetime import date

import redis.asyncio as aioredis

from deployments.charts import bar_codec
from deployments.common.redis_client import KEY_PREFIX, redis_guard
from feeds.bars import Bars


def day_key(tier: str, symbol: str, day: date) -> str:
    """Key of one trading day of base bars."""
    return f"{KEY_PREFIX}bars:{tier}:{symbol}:{day:%Y%m%d}"


def snapshot_key(request_id: str) -> str:
    """Key of a request's own copy of a result that is still changing (it includes today)."""
    return f"{KEY_PREFIX}snapshot:{request_id}"


def result_key(symbol: str, rth: bool, interval: str, start: int, end: int) -> str:
    """Key of a full resampled result for a symbol (an imported one as ``file:X@<generation>``),
    session kind, interval and UTC range."""
    return f"{KEY_PREFIX}agg:{symbol}:{'rth' if rth else 'eth'}:{interval}:{start}:{end}"


def result_key_prefix(file_symbol: str) -> str:
    """The start of every result key of an imported symbol, whatever its generation."""
    return f"{KEY_PREFIX}agg:{file_symbol}@"


def live_results_key(symbol: str) -> str:
    """Key of the set of ``symbol``'s cached chart results that include today (the live
    stream drops them when it refreshes today's base bars)."""
    return f"{KEY_PREFIX}live-results:{symbol}"


class BarStore:
    """Reads and writes bars; every call may raise StateUnavailable."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client

    async def get_days(self, tier: str, symbol: str, days: list[date]) -> list[Bars | None]:
        """Cached base bars of each day, None where the day is not cached (or unreadable)."""
        if not days:
            return []
        async with redis_guard():
            values = await self._redis.mget([day_key(tier, symbol, d) for d in days])
        return [_decoded(value) for value in values]

    async def put_day(self, tier: str, symbol: str, day: date, bars: Bars, ttl_s: int) -> None:
        """Cache one day of base bars for ``ttl_s`` seconds."""
        async with redis_guard():
            await self._redis.set(
                day_key(tier, symbol, day), bar_codec.encode(bars, compress=True), ex=ttl_s
            )

    async def put_days(
        self, tier: str, symbol: str, days: dict[date, Bars], ttl_s: dict[date, int]
    ) -> None:
        """Cache several days at once (one round trip)."""
        async with redis_guard(), self._redis.pipeline(transaction=False) as pipe:
            for day, bars in days.items():
                pipe.set(day_key(tier, symbol, day), bar_codec.encode(bars, compress=True),
                         ex=ttl_s[day])
            await pipe.execute()

    async def put_encoded(self, key: str, encoded: bytes, ttl_s: int) -> None:
        """Store a full result (bytes of :func:`bar_codec.encode`, uncompressed) unless one is
        there: a stored result is never rewritten in place while readers page through it."""
        async with redis_guard():
            await self._redis.set(key, encoded, ex=ttl_s, nx=True)

    async def register_live_result(self, symbol: str, key: str, ttl_s: int) -> None:
        """Note that result ``key`` of ``symbol`` includes today (see :func:`live_results_key`)."""
        async with redis_guard(), self._redis.pipeline(transaction=False) as pipe:
            pipe.sadd(live_results_key(symbol), key)
            pipe.expire(live_results_key(symbol), ttl_s)
            await pipe.execute()

    async def drop_live_results(self, symbol: str) -> None:
        """Delete the cached results of ``symbol`` that include today, and their set."""
        async with redis_guard():
            keys = await self._redis.smembers(live_results_key(symbol))
            await self._redis.delete(live_results_key(symbol), *keys)

    async def result_rows(self, key: str) -> int | None:
        """Rows of a stored result; None if there is none."""
        async with redis_guard():
            header = await self._redis.getrange(key, 0, bar_codec.HEADER_SIZE - 1)
        return rows_from_header(header)

    async def result_slice(self, key: str, rows: int, first: int, stop: int) -> Bars | None:
        """Rows ``[first, stop)`` of a stored result of ``rows`` rows; None if it is gone."""
        if stop <= first:
            return Bars.empty()
        async with redis_guard(), self._redis.pipeline(transaction=False) as pipe:
            queue_slice(pipe, key, rows, first, stop)
            parts = await pipe.execute()
        return slice_from(parts, first, stop)



def queue_slice(pipe: aioredis.client.Pipeline, key: str, rows: int, first: int, stop: int) -> None:
    """Queue the six GETRANGEs of rows ``[first, stop)`` on ``pipe``."""
    for column in range(6):
        pipe.getrange(key, *bar_codec.column_range(rows, column, first, stop))


def slice_from(parts: list[bytes], first: int, stop: int) -> Bars | None:
    """Bars from the six answers of :func:`queue_slice`; None if the value was gone."""
    if stop <= first:
        return Bars.empty()
    if any(len(part) != 8 * (stop - first) for part in parts):
        return None
    return bar_codec.columns_to_bars(parts)


def rows_from_header(header: bytes) -> int | None:
    """Rows of a stored result from its first 16 bytes; None if there is no valid header."""
    if not header:
        return None
    try:
        return bar_codec.decode_header(header)[0]
    except bar_codec.CorruptBars:
        return None


def _decoded(value: bytes | None) -> Bars | None:
    if value is None:
        return None
    try:
        return bar_codec.decode(value)
    except bar_codec.CorruptBars:
        return None  # another format version: fetch again
