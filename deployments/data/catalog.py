"""The Redis mirror of the imported symbols' catalog, read on the chart path.

The ``bar-files`` actor owns the catalog (files on its node); it writes every entry to the hash
``v1:data:catalog`` when it starts and after every change, so a chart request learns a file
symbol's zone, resolution and generation with one Redis read and no actor call. When Redis has
lost the hash (a restart of a Redis without persistence), the actor is asked and writes it
again.
"""

from __future__ import annotations

import orjson
import redis.asyncio as aioredis

from deployments.common.redis_client import KEY_PREFIX, redis_guard
from feeds.files.store import SymbolEntry

CATALOG_KEY = f"{KEY_PREFIX}data:catalog"
PUBLISHED_KEY = f"{KEY_PREFIX}data:catalog-published"
"""Set (no TTL) once the actor has written the whole catalog: its absence means Redis lost it."""


def encode_entry(entry: SymbolEntry) -> bytes:
    """The hash value of one entry."""
    return orjson.dumps(entry.as_json())


async def cached_entry(client: aioredis.Redis, symbol: str) -> tuple[bool, SymbolEntry | None]:
    """``(published, entry)`` from Redis: ``published`` False means the mirror is not there and
    only the actor knows."""
    async with redis_guard(), client.pipeline(transaction=False) as pipe:
        pipe.exists(PUBLISHED_KEY)
        pipe.hget(CATALOG_KEY, symbol)
        published, value = await pipe.execute()
    entry = SymbolEntry.from_json(orjson.loads(value)) if value else None
    return bool(published) or entry is not None, entry


async def cached_entries(client: aioredis.Redis) -> list[SymbolEntry] | None:
    """Every entry of the mirror by symbol; None when the mirror is not there."""
    async with redis_guard(), client.pipeline(transaction=False) as pipe:
        pipe.exists(PUBLISHED_KEY)
        pipe.hvals(CATALOG_KEY)
        published, values = await pipe.execute()
    if not published:
        return None
    found = [SymbolEntry.from_json(orjson.loads(value)) for value in values]
    return sorted(found, key=lambda entry: entry.symbol)
