"""An import's progress in Redis (``v1:import:<id>``, one hour), for the web app's progress bar.

States: ``reading`` (rows checked so far, bytes of the file read), ``storing`` (the commit),
``done`` and ``failed`` (with the message). Written from the import's worker thread with a
plain Redis client; read by ``GET /data/imports/{id}`` on any replica.
"""

from __future__ import annotations

from typing import Any

import redis

from deployments.common.redis_client import KEY_PREFIX
from feeds.files.bar_file import Progress

TTL_S = 3600


def progress_key(import_id: str) -> str:
    """Key of one import's progress record."""
    return f"{KEY_PREFIX}import:{import_id}"


class ImportProgress:
    """Writes one import's progress; a Redis outage only loses progress, never the import."""

    def __init__(self, client: redis.Redis, import_id: str, bytes_total: int) -> None:
        self._client = client
        self._key = progress_key(import_id)
        self._total = bytes_total
        self.update("reading", Progress(0, 0, bytes_total))

    def update(self, state: str, progress: Progress, message: str = "") -> None:
        """Record the state, rows and bytes (or rows, for Parquet) done so far."""
        fields: dict[str, Any] = {"state": state, "rows": progress.rows,
                                  "done": progress.done, "total": progress.total,
                                  "bytes_total": self._total, "message": message}
        try:
            with self._client.pipeline(transaction=False) as pipe:
                pipe.hset(self._key, mapping=fields)
                pipe.expire(self._key, TTL_S)
                pipe.execute()
        except redis.RedisError:
            pass


def progress_answer(import_id: str, record: dict[bytes, bytes]) -> dict[str, Any]:
    """The JSON of ``GET /data/imports/{id}`` from the stored record."""
    text = {key.decode(): value.decode() for key, value in record.items()}
    total = int(text.get("total", 0))
    done = int(text.get("done", 0))
    return {
        "import_id": import_id,
        "state": text.get("state", "reading"),
        "rows": int(text.get("rows", 0)),
        "bytes_read": done if total == int(text.get("bytes_total", -1)) else None,
        "bytes_total": int(text.get("bytes_total", 0)),
        "fraction": round(done / total, 4) if total else 0.0,
        "message": text.get("message") or None,
    }
