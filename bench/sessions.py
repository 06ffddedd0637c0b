"""Session heartbeat latency through Serve, next to a no-op endpoint on the same Serve instance.

The no-op application is deployed only for the benchmark (route ``/bench-noop``) and removed
afterwards; it reads the same JSON body as a heartbeat, so it is the floor that Serve and
FastAPI cost per such request on this machine.
"""

from __future__ import annotations

import tempfile

import httpx
import redis
from fastapi import FastAPI
from ray import serve

from bench.latency import Latency, measure
from deployments.local_platform import start_platform, stop_platform

_noop_api = FastAPI()


@serve.deployment(ray_actor_options={"num_cpus": 0.1}, max_ongoing_requests=256)
@serve.ingress(_noop_api)
class NoOp:
    """Answers a constant: the Serve floor."""

    @_noop_api.post("/")
    async def noop(self, body: dict[str, str]) -> dict[str, bool]:
        """Constant answer after reading the JSON body, as the heartbeat does."""
        return {"ok": True}


def _redis_env() -> dict[str, str]:
    try:
        redis.Redis(socket_connect_timeout=0.5).ping()
        return {"REDIS_URL": "redis://127.0.0.1:6379/14"}
    except (redis.RedisError, OSError):
        return {"REDIS_URL": "", "DATA_DIR": tempfile.mkdtemp(prefix="bench-data-")}


def _report(kind: str, ours: Latency, floor: Latency) -> None:
    print(ours.row(f"heartbeat ({kind})"))
    print(floor.row(f"no-op Serve floor ({kind})"))
    print(f"{'ratio heartbeat / floor':<34} p50 {ours.p50_ms / floor.p50_ms:7.2f} x    "
          f"p99 {ours.p99_ms / floor.p99_ms:7.2f} x")


def main() -> None:
    """Start the platform, measure heartbeat and the no-op floor, print both and the ratio."""
    base_url = start_platform(_redis_env())
    try:
        serve.run(NoOp.bind(), name="bench-noop", route_prefix="/bench-noop")
        token = httpx.get(f"{base_url}/utils/session/initiate").json()["session_token"]

        async def beat(client: httpx.AsyncClient) -> httpx.Response:
            return await client.post("/utils/session/heartbeat", json={"session_token": token})

        async def noop(client: httpx.AsyncClient) -> httpx.Response:
            return await client.post("/bench-noop/", json={"session_token": token})

        for kind, total, concurrency in (("sequential", 400, 1), ("16 concurrent", 1600, 16)):
            floor = measure(base_url, noop, total, concurrency)
            ours = measure(base_url, beat, total, concurrency)
            _report(kind, ours, floor)
        serve.delete("bench-noop")
    finally:
        stop_platform()


if __name__ == "__main__":
    main()
