"""The web app in headless chromium: time to first candle and scroll-back chunk render.

Measured by the app itself (``window.__app.data().timings``): from the Load click's handler to
the second animation frame after the bars were handed to the chart (so they are painted), and
for a chunk from the scroll that asked for it to its paint. Peers, measured in the same browser
and run: the bare ``fetch`` + JSON parse of the same /historical and /historical/chunk answers,
and a no-op Serve endpoint. Targets (issue #7): first candle <= 300 ms warm, chunk render
<= 100 ms.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from datetime import timedelta

import numpy as np
from playwright.sync_api import Page, sync_playwright

from bench.serve_floor import NOOP_ROUTE, platform_with_floor
from deployments.charts.tiers import exchange_today
from deployments.common.settings import PROJECT_ROOT
from feeds.market_calendar import trading_days

LOADS = 15
CHUNK_ROUNDS = 5
WAIT_MS = 180_000
FIRST_CANDLE_TARGET_MS = 300.0
CHUNK_RENDER_TARGET_MS = 100.0

_FIRST_PREFS = ('{"chart": {"symbol": "SPY", "interval": "1d", "rth": true, '
                '"start": "2025-01-02", "end": "2025-06-30"}}')
_FETCH_JS = """async ([path, params]) => {
    const url = new URL(path, location.href);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v));
    const headers = {"X-Session-Token": window.__app.session().token};
    const started = performance.now();
    const answer = await fetch(url, {headers});
    const body = await answer.json();
    if (!answer.ok) throw new Error(JSON.stringify(body));
    return [performance.now() - started, body];
}"""


def _days_back(count: int, skip: int) -> tuple[str, str]:
    """First and last of ``count`` trading days ending ``skip`` trading days ago."""
    today = exchange_today()
    days = trading_days(today - timedelta(days=2 * (count + skip) + 10), today - timedelta(days=1))
    chosen = days[len(days) - skip - count + 1: len(days) - skip + 1]
    return str(chosen[0]), str(chosen[-1])


def _row(label: str, samples: list[float], target: float | None = None) -> str:
    ms = np.asarray(samples)
    verdict = ""
    if target is not None:
        verdict = f"  target <= {target:.0f} ms: {'met' if np.median(ms) <= target else 'MISSED'}"
    return (f"{label:<40} p50 {np.median(ms):7.1f} ms  p90 {np.percentile(ms, 90):7.1f} ms"
            f"  (n={ms.size}){verdict}")


def _load(page: Page, symbol: str, interval: str, start: str, end: str) -> dict:
    """Fill the controls, press Load, wait for the painted bars; the app's data state."""
    page.wait_for_function("!window.__app.data().loading", timeout=WAIT_MS)
    page.locator("#symbol").fill(symbol)
    page.locator("#start").fill(start)
    page.locator("#end").fill(end)
    page.locator("#interval").select_option(interval)  # a changed interval loads by itself
    page.wait_for_function("!window.__app.data().loading", timeout=WAIT_MS)
    renders = page.evaluate("window.__app.chart().renders")
    page.get_by_role("button", name="Load", exact=True).click()
    page.wait_for_function(f"window.__app.chart().renders > {renders} "
                           "&& !window.__app.data().loading", timeout=WAIT_MS)
    return page.evaluate("window.__app.data()")


def _fetch(page: Page, path: str, params: dict) -> tuple[float, dict]:
    elapsed, body = page.evaluate(_FETCH_JS, [path, params])
    return float(elapsed), body


def _repeat(times: int, measure: Callable[[], float]) -> list[float]:
    return [measure() for _ in range(times)]


def _first_candle(page: Page) -> None:
    spec = ("AAPL", "1m", *_days_back(14, skip=30))  # > 5000 bars: a full first chunk
    state = _load(page, *spec)  # cold: fills the cache; not measured
    params = {"symbol": spec[0], "interval": spec[1], "start": spec[2], "end": spec[3],
              "rth": "true"}
    ours = _repeat(LOADS, lambda: _load(page, *spec)["timings"]["loadMs"])
    bare = _repeat(LOADS, lambda: _fetch(page, "historical/", params)[0])
    noop = _repeat(LOADS, lambda: _fetch(page, f"{NOOP_ROUTE.lstrip('/')}/", {})[0])
    bars = page.evaluate("window.__app.chart().bars")
    print(f"chart: {spec[0]} {spec[1]} {spec[2]}..{spec[3]}, {bars} of {state['total']} bars "
          "shown (warm cache)")
    print(_row("time to first candle after Load", ours, FIRST_CANDLE_TARGET_MS))
    print(_row("peer: bare /historical fetch + parse", bare))
    print(_row("peer: no-op Serve endpoint fetch", noop))
    print(f"{'  ratio to the bare fetch':<40} p50 {np.median(ours) / np.median(bare):7.2f} x")


def _chunks(page: Page) -> None:
    spec = ("MSFT", "1m", *_days_back(40, skip=150))
    renders: list[float] = []
    totals: list[float] = []
    bare: list[float] = []
    for _ in range(CHUNK_ROUNDS):
        state = _load(page, *spec)
        chart = page.locator("#chart")
        chart.focus()
        while state["hasMore"]:
            asked = len(state["chunkRequests"])
            chart.press("Home")
            page.wait_for_function(
                f"window.__app.data().chunkRequests.length > {asked} "
                "&& !window.__app.data().loadingOlder", timeout=WAIT_MS)
            state = page.evaluate("window.__app.data()")
            renders.append(state["timings"]["chunkRenderMs"])
            totals.append(state["timings"]["chunkMs"])
        for before in state["chunkRequests"]:
            bare.append(_fetch(page, "historical/chunk", {
                "request_id": state["requestId"], "before": before, "limit": 5000})[0])
    print(f"chart: {spec[0]} {spec[1]} {spec[2]}..{spec[3]}, {state['total']} bars, "
          "chunks of 5000 prepended")
    print(_row("scroll-back chunk render (prepend+paint)", renders, CHUNK_RENDER_TARGET_MS))
    print(_row("scroll-back chunk, request to paint", totals))
    print(_row("peer: bare /historical/chunk fetch", bare))


def main() -> None:
    """Build the app, start the platform with the no-op floor, measure in chromium, print."""
    subprocess.run(["make", "--no-print-directory", "frontend"], cwd=PROJECT_ROOT, check=True)
    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    with platform_with_floor() as base_url, sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        # Start from a cheap remembered chart (daily bars) rather than the first-visit default.
        page.add_init_script(f"localStorage.setItem('ray-trader:prefs:v1', {_FIRST_PREFS!r});")
        page.goto(f"{base_url}/")
        page.wait_for_function("window.__app && window.__app.ready()", timeout=WAIT_MS)
        _first_candle(page)
        _chunks(page)
        browser.close()


if __name__ == "__main__":
    main()
