"""The Serve floor for HTTP benchmarks: the platform plus a no-op app on the same Serve instance.

The no-op application (route ``/bench-noop``) is deployed only while a benchmark runs. It
answers GET and POST (reading the JSON body) with a constant, so it measures what Serve and
FastAPI cost per request on this machine.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from fastapi import FastAPI, Header, Response
from ray import serve

from deployments.launcher import start_platform, stop_platform

NOOP_ROUTE = "/bench-noop"
_noop_api = FastAPI()


@serve.deployment(ray_actor_options={"num_cpus": 0.1}, max_ongoing_requests=256)
@serve.ingress(_noop_api)
class NoOp:
    """Answers a constant: the Serve floor."""

    @_noop_api.get("/")
    async def get(self) -> dict[str, bool]:
        """Constant answer."""
        return {"ok": True}

    @_noop_api.post("/")
    async def post(self, x_session_token: str = Header()) -> dict[str, bool]:
        """Constant answer after reading a session header (what a heartbeat reads)."""
        return {"ok": True}

    @_noop_api.get("/blob")
    async def blob(self, size: int) -> Response:
        """``size`` constant bytes: the floor for an answer of that size on the wire."""
        return Response(b"0" * size, media_type="application/octet-stream")


def _redis_env() -> dict[str, str]:
    try:
        client = redis.Redis.from_url("redis://127.0.0.1:6379/14", socket_connect_timeout=0.5)
        client.ping()
        for key in client.scan_iter(match="v1:*", count=1000):
            client.delete(key)  # db 14 is the benchmarks' own: start cold
        return {"REDIS_URL": "redis://127.0.0.1:6379/14"}
    except (redis.RedisError, OSError):
        return {"REDIS_URL": "", "DATA_DIR": tempfile.mkdtemp(prefix="bench-data-")}


@contextmanager
def platform_with_floor(env: dict[str, str] | None = None) -> Iterator[str]:
    """Start the platform (with ``env`` added to its environment, e.g. an ``ACCESS_TOKEN``)
    and the no-op app; yield the base URL; stop everything after (and take ``env`` out of this
    process's environment again, so a later benchmark's platform does not inherit it)."""
    saved = {key: os.environ.get(key) for key in env or {}}
    try:
        base_url = start_platform({**_redis_env(), **(env or {})})
        try:
            serve.run(NoOp.bind(), name="bench-noop", route_prefix=NOOP_ROUTE)
            yield base_url
            serve.delete("bench-noop")
        finally:
            stop_platform()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
