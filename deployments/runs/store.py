"""Runs in Redis: each workspace's stored backtests, kept ``RUNS_TTL_DAYS`` from their run.

Layout (under the ``v1:`` prefix):

- ``v1:run:<run_id>``           the record, zlib-compressed JSON (:mod:`deployments.runs.record`)
- ``v1:run:<run_id>:summary``   what a list shows of it (JSON), so a list reads no curves
- ``v1:runs:<workspace>``       sorted set run_id -> created (epoch s): the workspace's runs

All three expire ``RUNS_TTL_DAYS`` after the run was stored (the index and the workspace
itself after the newest run, or later by use). A run belongs to the workspace whose index
holds it: a run of another workspace is unknown. Every call may raise StateUnavailable.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import redis.asyncio as aioredis

from deployments.common.redis_client import KEY_PREFIX, redis_guard
from deployments.common.settings import Settings
from deployments.runs.record import decode_record, fit_record, list_entry, new_record, record_json
from deployments.sessions.workspaces import workspace_key

RUN_PREFIX = f"{KEY_PREFIX}run:"
OFF_LOOP_BYTES = 256 << 10
"""Records larger than this are compressed and decompressed in a worker thread."""

# KEYS: record, summary, index, workspace. ARGV: run id, created, record, summary, TTL s,
# most runs kept, run key prefix. Stores the run and drops the workspace's oldest beyond; a
# run stored in the same millisecond as the newest still sorts after it.
_SAVE = """
redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[5])
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[5])
local score = tonumber(ARGV[2])
local newest = redis.call('ZREVRANGE', KEYS[3], 0, 0, 'WITHSCORES')
if newest[2] and tonumber(newest[2]) >= score then score = tonumber(newest[2]) + 0.000001 end
redis.call('ZADD', KEYS[3], score, ARGV[1])
redis.call('EXPIRE', KEYS[3], ARGV[5])
redis.call('SET', KEYS[4], math.floor(tonumber(ARGV[2])), 'EX', ARGV[5])
local extra = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[6])
if extra > 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[3], 0, extra - 1)) do
    redis.call('DEL', ARGV[7] .. id, ARGV[7] .. id .. ':summary')
  end
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, extra - 1)
end
return math.max(extra, 0)
"""

# KEYS: index, record, summary. ARGV: run id. Deletes the run if the workspace holds it.
_DELETE = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('DEL', KEYS[2], KEYS[3])
return 1
"""


def run_key(run_id: str) -> str:
    """Redis key of run ``run_id``'s record."""
    return f"{RUN_PREFIX}{run_id}"


def summary_key(run_id: str) -> str:
    """Redis key of run ``run_id``'s list entry."""
    return f"{RUN_PREFIX}{run_id}:summary"


def index_key(workspace: str) -> str:
    """Redis key of the sorted set of workspace ``workspace``'s runs."""
    return f"{KEY_PREFIX}runs:{workspace}"


async def _off_loop_if_large(size: int, fn: Any, *args: Any) -> Any:
    if size > OFF_LOOP_BYTES:
        return await asyncio.to_thread(fn, *args)
    return fn(*args)


class RunStore:
    """Saves, lists, reads and deletes the runs of workspaces."""

    def __init__(self, client: aioredis.Redis, ttl_s: int, max_bytes: int,
                 max_runs: int) -> None:
        self._redis = client
        self.ttl_s = ttl_s
        self.max_bytes = max_bytes
        self.max_runs = max_runs
        self._save = client.register_script(_SAVE)
        self._delete = client.register_script(_DELETE)

    @classmethod
    def from_settings(cls, client: aioredis.Redis, settings: Settings) -> RunStore:
        """A store with the TTL and limits of ``settings``."""
        return cls(client, settings.runs_ttl_days * 86400, settings.run_max_bytes,
                   settings.runs_max_per_workspace)

    async def save(self, workspace: str, kind: str, request: dict[str, Any],
                   result: dict[str, Any]) -> str:
        """Store a run of ``kind`` in ``workspace`` (one round trip, encoded off the event
        loop); its new run id."""
        record = new_record(kind, request, result)
        data, stored = await asyncio.to_thread(fit_record, record, self.max_bytes)
        summary = orjson.dumps(list_entry({**record, "stored": stored}))
        async with redis_guard():
            await self._save(
                keys=[run_key(record["run_id"]), summary_key(record["run_id"]),
                      index_key(workspace), workspace_key(workspace)],
                args=[record["run_id"], record["created"], data, summary, self.ttl_s,
                      self.max_runs, RUN_PREFIX])
        return record["run_id"]

    async def list(self, workspace: str, limit: int) -> tuple[list[dict[str, Any]], int]:
        """The newest ``limit`` runs of ``workspace`` (list entries), and how many it has."""
        index = index_key(workspace)
        async with redis_guard():
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zrevrange(index, 0, limit - 1)
                pipe.zcard(index)
                ids, total = await pipe.execute()
            ids = [raw.decode() for raw in ids]
            entries = await self._redis.mget([summary_key(i) for i in ids]) if ids else []
            gone = [run_id for run_id, entry in zip(ids, entries, strict=True) if entry is None]
            if gone:  # expired or evicted under the index: forget them
                await self._redis.zrem(index, *gone)
        return [orjson.loads(entry) for entry in entries if entry is not None], total - len(gone)

    async def raw(self, workspace: str, run_id: str) -> bytes | None:
        """The stored bytes of run ``run_id`` when ``workspace`` holds it, else None."""
        async with redis_guard(), self._redis.pipeline(transaction=False) as pipe:
            pipe.zscore(index_key(workspace), run_id)
            pipe.get(run_key(run_id))
            owned, data = await pipe.execute()
        return data if owned is not None else None

    async def json(self, workspace: str, run_id: str) -> bytes | None:
        """Run ``run_id``'s record as JSON text (not parsed), or None."""
        data = await self.raw(workspace, run_id)
        return None if data is None else await _off_loop_if_large(len(data), record_json, data)

    async def get(self, workspace: str, run_id: str) -> dict[str, Any] | None:
        """Run ``run_id``'s record, or None when ``workspace`` holds no such run."""
        data = await self.raw(workspace, run_id)
        return None if data is None else await _off_loop_if_large(len(data), decode_record,
                                                                  data)

    async def delete(self, workspace: str, run_id: str) -> bool:
        """Delete run ``run_id`` of ``workspace``; False when it holds no such run."""
        async with redis_guard():
            return bool(await self._delete(
                keys=[index_key(workspace), run_key(run_id), summary_key(run_id)],
                args=[run_id]))

