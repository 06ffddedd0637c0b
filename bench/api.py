"""Warm /historical latency for 5000 one-minute bars, next to the no-op Serve floor.

The same request is made once cold (filling every cache), then measured warm: p50/p99
sequentially and with 16 concurrent clients, next to a no-op GET on the same Serve instance.
Also prints the answer's size on the wire with brotli, gzip and no compression.
Targets: warm p50 <= 1.5x the floor; <= 60 KB on the wire for 5000 1m bars.
"""

from __future__ import annotations

from datetime import date, timedelta

import httpx

from bench.latency import measure, report
from bench.serve_floor import NOOP_ROUTE, platform_with_floor
from deployments.common.fields import SESSION_HEADER
from feeds.market_calendar import trading_days


def _range() -> tuple[str, str]:
    days = trading_days(date.today() - timedelta(days=40), date.today() - timedelta(days=1))
    return str(days[-20]), str(days[-1])  # 20 sessions: 7800 one-minute bars


def main() -> None:
    """Cold once, then warm latency against the floor, then bytes on the wire."""
    with platform_with_floor() as base_url:
        token = httpx.get(f"{base_url}/utils/session/initiate").json()["session_token"]
        start, end = _range()
        params = {"symbol": "SPY", "interval": "1m", "start": start, "end": end}
        headers = {SESSION_HEADER: token}
        cold = httpx.get(f"{base_url}/historical/", params=params, headers=headers, timeout=300)
        cold.raise_for_status()
        body = cold.json()
        print(f"cold request (fetch 20 days of 1-second bars, resample): "
              f"{cold.elapsed.total_seconds() * 1000:.0f} ms; answer holds "
              f"{len(body['bars']['t'])} of {body['total']} bars")

        async def historical(client: httpx.AsyncClient) -> httpx.Response:
            return await client.get("/historical/", params=params, headers=headers)

        async def noop(client: httpx.AsyncClient) -> httpx.Response:
            return await client.get(f"{NOOP_ROUTE}/")

        compressed = httpx.get(f"{base_url}/historical/", params=params,
                               headers={"Accept-Encoding": "br", **headers})
        wire = int(compressed.headers["content-length"])

        async def same_size(client: httpx.AsyncClient) -> httpx.Response:
            return await client.get(f"{NOOP_ROUTE}/blob", params={"size": wire})

        for kind, total, concurrency in (("sequential", 300, 1), ("16 concurrent", 960, 16)):
            floor = measure(base_url, noop, total, concurrency)
            sized = measure(base_url, same_size, total, concurrency)
            ours = measure(base_url, historical, total, concurrency)
            report(f"warm /historical ({kind})", ours, f"no-op GET floor ({kind})", floor)
            report(f"warm /historical ({kind})", ours,
                   f"no-op of the same {wire // 1024} KB ({kind})", sized)
        for encoding in ("br", "gzip", "identity"):
            answer = httpx.get(f"{base_url}/historical/", params=params,
                               headers={"Accept-Encoding": encoding, **headers})
            print(f"5000 1m bars on the wire, {encoding:<8}: {len(answer.content) / 1024:7.1f} KB"
                  if encoding == "identity" else
                  f"5000 1m bars on the wire, {encoding:<8}: "
                  f"{int(answer.headers['content-length']) / 1024:7.1f} KB")


if __name__ == "__main__":
    main()
