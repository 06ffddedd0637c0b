"""Session heartbeat latency through Serve, next to the no-op floor on the same Serve instance."""

from __future__ import annotations

import httpx

from bench.latency import measure, report
from bench.serve_floor import NOOP_ROUTE, platform_with_floor
from deployments.common.fields import SESSION_HEADER


def main() -> None:
    """Start the platform, measure heartbeat and the no-op floor, print both and the ratio."""
    with platform_with_floor() as base_url:
        token = httpx.get(f"{base_url}/utils/session/initiate").json()["session_token"]

        async def beat(client: httpx.AsyncClient) -> httpx.Response:
            return await client.post("/utils/session/heartbeat", headers={SESSION_HEADER: token})

        async def noop(client: httpx.AsyncClient) -> httpx.Response:
            return await client.post(f"{NOOP_ROUTE}/", headers={SESSION_HEADER: token})

        for kind, total, concurrency in (("sequential", 400, 1), ("16 concurrent", 1600, 16)):
            floor = measure(base_url, noop, total, concurrency)
            ours = measure(base_url, beat, total, concurrency)
            report(f"heartbeat ({kind})", ours, f"no-op POST floor ({kind})", floor)


if __name__ == "__main__":
    main()
