"""Live bars on a platform launched as ``make run`` launches it, replaying a past session.

``MARKET_REPLAY`` replays a recent trading day from 10:00 at 20 x speed (a minute bar every
3 s): its "today" is that day, still trading, on every part's clock. Over HTTP,
``GET /historical/stream`` sends the chart's bars as they form; once final they equal the bars
``GET /historical/`` builds for the same minutes from the simulator's history. kill -9 of the
simulator mid-stream: the stream says "reconnecting", comes back "live" once the watchdog has
relaunched it, and the bars of the outage arrive (no gap, none doubled). In Chromium the last
candle changes and new ones appear, and a hidden tab stops the stream, resuming (with the bars
it missed) when shown.

The module launches its own platform (the shared one runs on the wall clock); it is stopped
when the module ends.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser

from tests.browser.app_driver import state
from tests.browser.conftest import logged_in_page, screenshot
from tests.support.feed_expectations import recent_trading_day
from tests.support.launched_platform import LaunchedPlatform, launch
from tests.support.live_events import EventStream
from tests.support.paced_sessions import initiate_paced
from tests.support.session_calls import session_headers

DAY = recent_trading_day(2)
SPEED = 20
"""Market seconds per wall second: a one-minute bar closes every 3 s."""
BAR_S = 60


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaunchedPlatform]:
    """The platform replaying ``DAY`` from 10:00 at ``SPEED`` x, its feed connected."""
    root = tmp_path_factory.mktemp("replayed")
    platform = launch(root / "data", root / "launcher.log", settings={
        "MARKET_REPLAY": f"{DAY.isoformat()}T10:00", "MARKET_REPLAY_SPEED": str(SPEED)})
    try:
        platform.wait_feed_connected()
        yield platform
    finally:
        platform.stop()


@pytest.fixture(scope="module")
def replay_http(replayed: LaunchedPlatform) -> Iterator[httpx.Client]:
    with replayed.client(timeout_s=120) as client:
        yield client


def _stream(http: httpx.Client, token: str, **params: object) -> EventStream:
    query = {"symbol": "AAPL", "interval": "1m", "rth": "true", **params}
    return EventStream(http, "/historical/stream", query, session_headers(token)).start()


def _history(http: httpx.Client, token: str) -> dict[int, tuple[float, ...]]:
    answer = http.get("/historical/", params={
        "symbol": "AAPL", "interval": "1m", "start": DAY.isoformat(), "end": DAY.isoformat()},
        headers=session_headers(token))
    assert answer.status_code == 200, answer.text
    bars = answer.json()["bars"]
    assert answer.json()["live"] is True, "the replayed day is today, still trading"
    return {t: (bars["o"][i], bars["h"][i], bars["l"][i], bars["c"][i], bars["v"][i])
            for i, t in enumerate(bars["t"])}


def _ohlcv(bar: dict) -> tuple[float, ...]:
    return bar["o"], bar["h"], bar["l"], bar["c"], bar["v"]


def test_the_market_clock_is_the_replay(replay_http):
    market = replay_http.get("/health").json()["market"]
    assert market["replay"] == f"{DAY.isoformat()}T10:00" and market["day"] == DAY.isoformat()
    assert market["speed"] == SPEED


def test_streamed_bars_once_final_are_the_history_bars(replay_http):
    token = initiate_paced(replay_http)
    stream = _stream(replay_http, token)
    try:
        assert stream.wait(lambda s: s.named("status"), 60), stream.error
        assert stream.status_code == 200
        assert stream.named("status")[0].data["state"] in ("live", "connecting")
        # Today's bars so far arrive at once (all final but the forming one), then the
        # market moves on: the forming bar changes and two more minutes close.
        assert stream.wait(lambda s: len(s.final_bars()) >= 3, 60), stream.events[-5:]
        first = set(stream.final_bars())
        assert stream.wait(lambda s: len(set(s.final_bars()) - first) >= 2, 60)
        updates = [e.data for e in stream.named("bar") if not e.data["final"]]
        assert updates, "the forming bar is sent as it changes"
        assert stream.named("status")[-1].data["state"] == "live"
    finally:
        stream.close()
    streamed = stream.final_bars()
    history = _history(replay_http, token)
    compared = [t for t in streamed if t in history and t < max(history)]
    assert len(compared) >= len(streamed) - 2 >= 3, (sorted(streamed), max(history))
    for t in compared:
        assert _ohlcv(streamed[t]) == history[t], t
    times = sorted(streamed)
    assert times == list(range(times[0], times[-1] + BAR_S, BAR_S)), "no minute missing"


def test_unknown_shapes_are_refused_with_the_field(replay_http):
    token = initiate_paced(replay_http)
    for params, field in (({"interval": "1d"}, "interval"), ({"interval": "7q"}, "interval"),
                          ({"symbol": "file:XYZ"}, "symbol")):
        answer = replay_http.get("/historical/stream", headers=session_headers(token), params={
            "symbol": "AAPL", "interval": "1m", **params})
        assert answer.status_code in (404, 422), answer.text
        assert answer.json()["detail"][0]["field"] == field, answer.text
    answer = replay_http.get("/historical/stream", params={"symbol": "AAPL", "interval": "1m"},
                             headers=session_headers("x" * 43))
    assert answer.status_code in (401, 422)


def test_killed_simulator_mid_stream_reconnects_without_a_gap(replay_http):
    token = initiate_paced(replay_http)
    stream = _stream(replay_http, token)
    try:
        assert stream.wait(lambda s: len(s.final_bars()) >= 3, 60), stream.error
        before = set(stream.final_bars())
        assert stream.wait(lambda s: len(set(s.final_bars()) - before) >= 1, 30)
        pid = replay_http.get("/health").json()["iqfeed"]["watchdog"]["pid"]
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        seen = len(stream.events)

        def says(state: str):
            return lambda s: any(e.data["state"] == state for e in s.named("status")
                                 if e in s.events[seen:])

        assert stream.wait(says("reconnecting"), 30), stream.events[seen:]
        print(f"\n[recovery] stream said reconnecting {time.monotonic() - killed:.2f} s after "
              "the simulator's kill -9")
        assert stream.wait(says("live"), 60), stream.events[seen:]
        print(f"[recovery] stream live again {time.monotonic() - killed:.2f} s after the kill")
        after = set(stream.final_bars())
        assert stream.wait(lambda s: len(set(s.final_bars()) - after) >= 2, 60)
    finally:
        stream.close()
    streamed = stream.final_bars()
    times = sorted(streamed)
    assert times == list(range(times[0], times[-1] + BAR_S, BAR_S)), "no minute missing"
    history = _history(replay_http, token)
    closed = sorted(history)[:-1]  # the answer's newest bar may still have been forming
    assert set(closed) & set(times)
    for t in set(closed) & set(times):
        assert _ohlcv(streamed[t]) == history[t], t


def test_many_watchers_share_one_upstream_watch_and_leave_charts_free(replay_http):
    """24 streams of one chart (more than the historical replicas' request slots): one
    upstream watch, every stream gets the bars, and chart requests are still answered."""
    token = initiate_paced(replay_http)
    streams = [_stream(replay_http, token, symbol="KO", interval="5m") for _ in range(24)]
    try:
        assert all(s.wait(lambda s: s.named("bar"), 60) for s in streams), [
            s.error for s in streams]
        watches = replay_http.get("/health").json()["iqfeed"]["stream"]["watches"]
        assert [w["bar_s"] for w in watches if w["symbol"] == "KO"] == [60], watches
        chart = replay_http.get("/historical/", params={
            "symbol": "KO", "interval": "5m", "start": DAY.isoformat(), "end": DAY.isoformat()},
            headers=session_headers(token), timeout=60)
        assert chart.status_code == 200, chart.text
        newest = {s.named("bar")[-1].data["t"] for s in streams}
        assert max(chart.json()["bars"]["t"]) <= max(newest)
    finally:
        for stream in streams:
            stream.close()


def _ready_page(browser: Browser, replayed: LaunchedPlatform):
    prefs = (f"{{chart: {{symbol: 'AAPL', interval: '1m', rth: true, start: '{DAY}', "
             f"end: '{DAY}'}}}}")
    return logged_in_page(browser, replayed.base_url, replayed.env["ACCESS_TOKEN"],
                          f"localStorage.setItem('ray-trader:prefs:v1', JSON.stringify({prefs}));")


def _set_hidden(page, hidden: bool) -> None:
    page.evaluate("""(hidden) => {
        Object.defineProperty(document, 'hidden', {value: hidden, configurable: true});
        Object.defineProperty(document, 'visibilityState',
                              {value: hidden ? 'hidden' : 'visible', configurable: true});
        document.dispatchEvent(new Event('visibilitychange'));
    }""", hidden)


def test_the_chart_moves_live_and_a_hidden_tab_stops_the_stream(browser, replayed):
    context, page, errors = _ready_page(browser, replayed)
    try:
        assert state(page, "data")["live"] is True
        page.wait_for_function("window.__app.live().state === 'live'", timeout=60_000)
        start = state(page, "chart")
        # The forming candle changes as trades print, then a new one opens.
        page.wait_for_function(
            """(t) => { const c = window.__app.chart();
                        return c.last && c.last.t === t && c.liveUpdates > 0; }""",
            arg=start["last"]["t"], timeout=30_000)
        page.wait_for_function("(t) => window.__app.chart().last.t > t",
                               arg=start["last"]["t"], timeout=30_000)
        moved = state(page, "chart")
        assert moved["bars"] > start["bars"]
        assert moved["lastTime"] - start["lastTime"] >= BAR_S
        live = state(page, "live")
        assert live["badge"].startswith("live"), live
        screenshot(page, "live-chart")
        # Hidden: the stream stops; no update reaches the chart while the market moves on.
        _set_hidden(page, True)
        page.wait_for_function("window.__app.live().state === 'paused'", timeout=10_000)
        paused = state(page, "chart")
        streams = state(page, "live")["streams"]
        page.wait_for_timeout(3 * 1000 * BAR_S / SPEED)
        assert state(page, "chart")["liveUpdates"] == paused["liveUpdates"]
        assert state(page, "live")["badge"].startswith("paused")
        # Shown: a new stream from the newest bar held brings the minutes it missed at once.
        _set_hidden(page, False)
        page.wait_for_function("window.__app.live().state === 'live'", timeout=30_000)
        assert state(page, "live")["streams"] == streams + 1
        page.wait_for_function("(t) => window.__app.chart().lastTime >= t", timeout=30_000,
                               arg=paused["lastTime"] + 2 * BAR_S)
        times = page.evaluate("window.__app.times()")
        tail = [t for t in times if t >= start["lastTime"]]
        assert tail == list(range(tail[0], tail[-1] + BAR_S, BAR_S)), "no gap on the chart"
        screenshot(page, "live-chart-resumed")
    finally:
        context.close()
    assert not errors, errors
