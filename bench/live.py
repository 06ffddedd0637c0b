"""Live bars: a trade printed in the simulator -> painted in headless chromium, and fan-out cost.

The platform replays a recent session (``MARKET_REPLAY``) at 2 x speed, so the moment the
simulator prints each one-second bar is known: the market clock passes the bar's end at wall
time ``origin + (t + 1 - replay_start) / speed`` (the simulator's 20 ms pump adds up to 20 ms on
top, counted in our figure). A 1-second chart in chromium logs when each bar event arrived and
when the frame after it was painted (``window.__app.livePaints()``). Peers in the same run: the
bare SSE delivery of the same stream read by a Python client (both measured once the client's
join has caught up), and a no-op Serve endpoint's
round trip. Then 100 concurrent watchers of one symbol: how many upstream watches the
``iqfeed-stream`` actor holds for it, and the actor's CPU per upstream update with 1 and with
100 watchers. Target (issue #16): p50 <= 250 ms trade -> paint.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
import numpy as np
from playwright.sync_api import sync_playwright

from bench.serve_floor import NOOP_ROUTE, platform_with_floor
from deployments.charts.tiers import exchange_today
from deployments.common.settings import PROJECT_ROOT
from feeds.market_calendar import trading_days
from feeds.market_clock import parse_replay_start

SPEED = 2.5
MEASURE_S = 90.0
CHART = "5s"
CHART_S = 5
WATCHERS = 100
FAN_OUT_S = 20.0
TARGET_MS = 250.0
WAIT_MS = 180_000


def _replay_day() -> str:
    today = exchange_today()
    days = trading_days(today - timedelta(days=10), today - timedelta(days=1))
    return days[-2].isoformat()


def _row(label: str, ms: np.ndarray, target: float | None = None) -> str:
    verdict = ""
    if target is not None:
        met = "met" if np.median(ms) <= target else "MISSED"
        verdict = f"  target p50 <= {target:.0f} ms: {met}"
    return (f"{label:<44} p50 {np.median(ms):7.1f} ms  p99 {np.percentile(ms, 99):7.1f} ms"
            f"  (n={ms.size}){verdict}")


class SseReader(threading.Thread):
    """Reads ``/historical/stream`` and keeps (wall arrival second, event) of each bar."""

    def __init__(self, base_url: str, token: str, symbol: str, interval: str) -> None:
        super().__init__(daemon=True)
        self.args = (base_url, token, symbol, interval)
        self.bars: list[tuple[float, dict]] = []
        self.stop = threading.Event()
        self.error: str | None = None

    def run(self) -> None:
        base_url, token, symbol, interval = self.args
        try:
            with httpx.Client(base_url=base_url, timeout=httpx.Timeout(10, read=60)) as http, \
                    http.stream("GET", "/historical/stream", headers={"X-Session-Token": token},
                                params={"symbol": symbol, "interval": interval}) as answer:
                name = ""
                for line in answer.iter_lines():
                    if self.stop.is_set():
                        return
                    if line.startswith("event:"):
                        name = line[6:].strip()
                    elif line.startswith("data:") and name == "bar":
                        self.bars.append((time.time(), json.loads(line[5:])))
        except httpx.HTTPError as error:
            self.error = f"{type(error).__name__}: {error}"


def _printed_at(t: int, start: int, origin: float) -> float:
    """Wall second at which the market clock passed the end of the chart bar ``t`` (the
    simulator prints a second's trades as that second ends)."""
    return origin + (t + CHART_S - start) / SPEED


def _stream_actor_cpu() -> tuple[int, float]:
    """(pid, user+system CPU seconds) of the ``iqfeed-stream`` actor's process."""
    from ray.util.state import list_actors

    actor = next(a for a in list_actors(filters=[("class_name", "=", "LiveStreamActor"),
                                                 ("state", "=", "ALIVE")]))
    pid = int(actor.pid)
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return pid, (int(fields[11]) + int(fields[12])) / ticks


def _stream_stats(http: httpx.Client) -> dict[tuple[str, int], int]:
    """Updates received so far by each upstream watch, from ``/health``."""
    stream = http.get("/health").json()["iqfeed"]["stream"]
    return {(w["symbol"], w["bar_s"]): w["updates"] for w in stream["watches"]}


def _fan_out(base_url: str, token: str, watchers: int) -> tuple[int, float, int]:
    """``watchers`` streams of one symbol for FAN_OUT_S: (upstream watches, actor CPU ms per
    upstream update of all its watches, bar events the watchers received)."""
    symbol = "MSFT" if watchers == 1 else "NVDA"
    readers = [SseReader(base_url, token, symbol, "1m") for _ in range(watchers)]
    for reader in readers:
        reader.start()
    with httpx.Client(base_url=base_url, timeout=30) as http:
        time.sleep(5.0)  # every stream open, the watch's history in
        _, cpu_before = _stream_actor_cpu()
        before = _stream_stats(http)
        time.sleep(FAN_OUT_S)
        _, cpu_after = _stream_actor_cpu()
        after = _stream_stats(http)
    for reader in readers:
        reader.stop.set()
    watches = sum(1 for key in after if key[0] == symbol)
    # Every watch's lines cost the actor CPU; a watch dropped meanwhile (idle) is not counted.
    updates = max(1, sum(n - before.get(key, 0) for key, n in after.items()))
    received = sum(len(r.bars) for r in readers)
    return watches, 1000 * (cpu_after - cpu_before) / updates, received


def main() -> None:
    """Start the replaying platform, measure in chromium and over bare SSE, print."""
    subprocess.run(["make", "--no-print-directory", "frontend"], cwd=PROJECT_ROOT, check=True)
    day = _replay_day()
    replay = f"{day}T10:00"
    origin = time.time()
    start = parse_replay_start(replay)
    env = {"MARKET_REPLAY": replay, "MARKET_REPLAY_SPEED": repr(SPEED),
           "MARKET_REPLAY_ORIGIN": repr(origin)}
    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    prefs = json.dumps({"chart": {"symbol": "AAPL", "interval": CHART, "rth": True,
                                  "start": day, "end": day}})
    with platform_with_floor(env) as base_url, sync_playwright() as driver:
        token = httpx.get(f"{base_url}/utils/session/initiate", timeout=60).json()[
            "session_token"]
        browser = driver.chromium.launch(executable_path=chromium, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.add_init_script(f"localStorage.setItem('ray-trader:prefs:v1', {prefs!r});")
        page.goto(f"{base_url}/")
        page.wait_for_function("window.__app && window.__app.ready()", timeout=WAIT_MS)
        page.wait_for_function("window.__app.live().state === 'live'", timeout=WAIT_MS)
        bare = SseReader(base_url, token, "AAPL", CHART)
        bare.start()
        while not bare.bars:
            time.sleep(0.1)
        time.sleep(3.0)  # the join's catch-up burst is over: steady streaming from here
        began = time.time()
        time.sleep(MEASURE_S)
        bare.stop.set()
        paints = page.evaluate("window.__app.livePaints()")
        noop = []
        with httpx.Client(base_url=base_url, timeout=10) as http:
            for _ in range(50):
                t0 = time.perf_counter()
                http.get(f"{NOOP_ROUTE}/")
                noop.append(1000 * (time.perf_counter() - t0))
        browser.close()
        painted = np.array([p["painted"] / 1000 - _printed_at(p["t"], start, origin)
                            for p in paints if p["painted"] and p["final"]
                            and _printed_at(p["t"], start, origin) >= began]) * 1000
        delivered = np.array([at - _printed_at(bar["t"], start, origin)
                              for at, bar in bare.bars if bar["final"]
                              and _printed_at(bar["t"], start, origin) >= began]
                             ) * 1000
        print(f"replay of {replay} at {SPEED:g} x; AAPL {CHART} chart, {MEASURE_S:.0f} s of bars,"
              " each final bar from its last second's print to its paint")
        if painted.size:
            print(_row("trade printed -> painted in chromium", painted, TARGET_MS))
        else:
            print("trade printed -> painted in chromium: no bars painted")
        if delivered.size:
            print(_row("peer: bare SSE delivery (Python client)", delivered))
        print(_row("peer: no-op Serve endpoint round trip", np.array(noop)))
        if painted.size and delivered.size:
            print(f"{'  ratio to the bare SSE delivery':<44} p50 "
                  f"{np.median(painted) / np.median(delivered):7.2f} x")
        for watchers in (1, WATCHERS):
            watches, cpu_ms, received = _fan_out(base_url, token, watchers)
            print(f"{watchers:>3} watcher(s) of one symbol (1m): {watches} upstream watch(es), "
                  f"actor CPU {cpu_ms:.3f} ms per upstream update, {received} bar events "
                  f"delivered in {FAN_OUT_S:.0f} s")


if __name__ == "__main__":
    main()
