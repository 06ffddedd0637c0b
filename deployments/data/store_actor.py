"""The ``bar-files`` actor: the one owner of the imported bars' store (see feeds.files.store).

It runs on the head node, whose disk holds ``DATA_DIR/imports``: every node's replicas and
tasks reach the bars through this actor (arrays through the object store), so a cluster needs
no shared file system, and the bars survive restarts of the platform and of Redis because they
are files, not cache. Calls run in threads (``max_concurrency``): reads go on while an import
commits; the store lets one commit run at a time.
"""

from __future__ import annotations

import contextlib
from typing import Any

import ray
import redis
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from deployments.charts.bar_store import result_key_prefix
from deployments.common.named_actors import get_or_create
from deployments.common.redis_client import resolve_redis_url
from deployments.common.settings import Settings
from deployments.data.catalog import CATALOG_KEY, PUBLISHED_KEY, encode_entry
from feeds.bars import Bars
from feeds.files.store import CommitResult, ImportedStore

ACTOR_NAME = "bar-files"
HEAD_RESOURCE = "node:__internal_head__"


@ray.remote(num_cpus=0, max_restarts=-1, max_concurrency=8)
class BarFilesActor:
    """Stages, commits, reads and deletes imported symbols; mirrors the catalog to Redis."""

    def __init__(self, settings: Settings) -> None:
        self._store = ImportedStore(settings.data_dir / "imports")
        self._redis = redis.Redis.from_url(resolve_redis_url(settings), socket_timeout=10)
        self._try_publish()

    def _try_publish(self) -> None:
        with contextlib.suppress(redis.RedisError):  # down: the next chart asks again
            self.publish()

    def publish(self) -> int:
        """Write the whole catalog to Redis; the number of symbols."""
        entries = self._store.entries()
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(CATALOG_KEY)
            if entries:
                pipe.hset(CATALOG_KEY, mapping={e.symbol: encode_entry(e) for e in entries})
            pipe.set(PUBLISHED_KEY, 1)
            pipe.execute()
        return len(entries)

    def entries(self) -> list[dict[str, Any]]:
        """Every imported symbol's entry (JSON values)."""
        return [entry.as_json() for entry in self._store.entries()]

    def entry(self, symbol: str) -> dict[str, Any] | None:
        """One symbol's entry, None if unknown; writes the catalog to Redis again first."""
        self._try_publish()
        found = self._store.entry(symbol)
        return found.as_json() if found else None

    def stage(self, import_id: str, bars: Bars) -> None:
        """Append one checked batch of an import."""
        self._store.stage(import_id, bars)

    def abort(self, import_id: str) -> None:
        """Drop an import's staged rows."""
        self._store.abort(import_id)

    def commit(self, import_id: str, symbol: str, timezone: str, resolution_s: int,
               session: tuple[int, int] | None) -> CommitResult:
        """Make the staged rows part of ``symbol`` (atomic) and publish its new entry."""
        result = self._store.commit(import_id, symbol, timezone, resolution_s, session)
        self._redis.hset(CATALOG_KEY, result.entry.symbol, encode_entry(result.entry))
        return result

    def read(self, symbol: str, start: int, end: int) -> Bars:
        """Bars of ``symbol`` starting in ``[start, end)``, none after now."""
        return self._store.read(symbol, start, end)

    def delete(self, symbol: str) -> bool:
        """Remove a symbol, its catalog entry and its cached charts; False if unknown."""
        removed = self._store.delete(symbol)
        self._redis.hdel(CATALOG_KEY, symbol)
        for key in self._redis.scan_iter(match=f"{result_key_prefix(symbol)}*", count=1000):
            self._redis.delete(key)
        return removed


def bar_files_placement() -> dict[str, Any]:
    """Ray options that put the actor on the head node (where DATA_DIR/imports lives)."""
    if ray.cluster_resources().get(HEAD_RESOURCE):
        return {"resources": {HEAD_RESOURCE: 0.001}}
    node = ray.get_runtime_context().get_node_id()
    return {"scheduling_strategy": NodeAffinitySchedulingStrategy(node_id=node, soft=False)}


def ensure_bar_files_actor(settings: Settings) -> ray.actor.ActorHandle:
    """Get or create the cluster's ``bar-files`` actor on the head node."""
    return get_or_create(BarFilesActor, ACTOR_NAME, settings, **bar_files_placement())
