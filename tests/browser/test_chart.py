"""The chart in chromium: bars and exchange time, lazy loading, errors as toasts, sessions."""

from __future__ import annotations

import numpy as np
import pytest
import redis
from playwright.sync_api import Page, expect

from deployments.sessions.store import session_key
from tests.browser.app_driver import WAIT_MS, load_chart, state, submit_and_wait
from tests.browser.conftest import screenshot
from tests.conftest import Platform
from tests.support.feed_expectations import expected_bars, trading_days_back
from tests.support.launched_feed import simulator_fault


def _expected_times(symbol: str, days: list, interval_s: int) -> list[int]:
    frames = [expected_bars(symbol, day, interval_s, regular_hours=True) for day in days]
    return np.concatenate([frame.t.to_numpy() for frame in frames]).tolist()


def test_page_loads_and_the_chart_holds_the_expected_bars(page: Page, feed_ready):
    expect(page).to_have_title("Ray Trader")
    assert state(page, "session")["token"], "a session is initiated on load"
    days = trading_days_back(5, skip=150)
    data = load_chart(page, "MSFT", "15m", str(days[0]), str(days[-1]))
    expected = _expected_times("MSFT", days, 900)
    chart = state(page, "chart")
    assert data["total"] == len(expected) and not data["hasMore"]
    assert chart["bars"] == len(expected)
    assert page.evaluate("window.__app.times()") == expected
    # Exchange time on the legend: the last 15-minute bar of a regular session starts 15:45 ET.
    expect(page.locator("#legend")).to_contain_text("15:45 ET")
    expect(page.locator("#legend")).to_contain_text("MSFT")
    expect(page.locator("#status-bars")).to_have_text(f"{len(expected)} of {len(expected)} bars")
    screenshot(page, "chart-loaded")


def test_scrolling_back_loads_every_chunk_once_until_the_first_bar(page: Page, feed_ready):
    days = trading_days_back(40, skip=150)
    data = load_chart(page, "AAPL", "1m", str(days[0]), str(days[-1]))
    expected = _expected_times("AAPL", days, 60)
    assert data["total"] == len(expected) > 10_000 and data["hasMore"]
    assert state(page, "chart")["bars"] == 5000
    chart = page.locator("#chart")
    chart.focus()
    for _ in range(10):
        if not state(page, "data")["hasMore"]:
            break
        asked = len(state(page, "data")["chunkRequests"])
        chart.press("Home")  # scroll to the oldest bar held: the next chunk is fetched
        page.wait_for_function(
            f"""() => {{ const d = window.__app.data();
                       return d.chunkRequests.length > {asked} && !d.loadingOlder; }}""",
            timeout=WAIT_MS,
        )
    screenshot(page, "chart-scrolled-back")
    data = state(page, "data")
    assert not data["hasMore"]
    times = page.evaluate("window.__app.times()")
    assert times == expected, "every bar once, in order, no duplicate timestamps"
    assert len(set(data["chunkRequests"])) == len(data["chunkRequests"]) == -(-(len(expected)
                                                                              - 5000) // 5000)
    assert state(page, "chart")["overlapsDropped"] == 0
    for prepend in data["prepends"]:
        assert prepend["added"] > 0
        # The view does not jump: the same newest bar on screen, the same zoom (pixels per bar;
        # the slots on screen may move by a price axis widened by older prices, a few bars).
        before, after = prepend["shownBefore"], prepend["shownAfter"]
        assert after["newest"] == before["newest"]
        assert after["spacing"] == before["spacing"]
        assert abs(after["slots"] - before["slots"]) < 5
    chart.press("Home")  # nothing older: no further request
    page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    assert len(state(page, "data")["chunkRequests"]) == len(data["chunkRequests"])


@pytest.mark.parametrize(
    ("symbol", "start_back", "end_back", "title", "message"),
    [
        ("SPY", 3, 6, "Invalid request", "To: must be after start"),
        ("NOSUCH", 6, 3, "Unknown symbol", ""),
    ],
)
def test_errors_from_the_api_are_readable_toasts(page: Page, feed_ready, symbol, start_back,
                                                 end_back, title, message):
    shown = state(page, "data")["spec"], state(page, "chart")["bars"]
    start, end = (trading_days_back(1, skip=back)[0] for back in (start_back, end_back))
    load_chart(page, symbol, "5m", str(start), str(end))
    toast = page.get_by_role("alert")
    expect(toast).to_contain_text(title)
    expect(toast).to_contain_text(message)
    assert (state(page, "data")["spec"], state(page, "chart")["bars"]) == shown, \
        "a failed load leaves the chart on screen as it was"
    screenshot(page, f"toast-{title.lower().replace(' ', '-')}")


def test_feed_outage_shows_a_retry_toast_then_loads(page: Page, platform: Platform, feed_ready):
    day = trading_days_back(1, skip=160)[0]
    with simulator_fault(int(platform.env["IQFEED_ADMIN_PORT"]), "REFUSE"):
        load_chart(page, "KO", "5m", str(day), str(day))
        toast = page.locator("#toasts [data-kind=warning]")
        expect(toast).to_contain_text("Market data feed unavailable")
        expect(toast.get_by_role("button", name="Retry")).to_be_visible()
        screenshot(page, "toast-feed-down")
    # The app retries by itself after Retry-After; the bars arrive without another click.
    page.wait_for_function("window.__app.data().spec.symbol === 'KO'", timeout=WAIT_MS)
    assert state(page, "data")["retries"] >= 1
    assert state(page, "chart")["bars"] == len(expected_bars("KO", day, 300, regular_hours=True))


def test_an_expired_result_reloads_the_chart(page: Page, redis_client: redis.Redis, feed_ready):
    days = trading_days_back(15, skip=150)
    data = load_chart(page, "NVDA", "1m", str(days[0]), str(days[-1]))
    assert data["hasMore"]
    record = redis_client.hgetall(f"v1:request:{data['requestId']}")
    redis_client.delete(record[b"result"])  # as RESULT_TTL_S would
    page.locator("#chart").press("Home")
    page.wait_for_function("window.__app.data().reloads === 1 && !window.__app.data().loading "
                           "&& window.__app.chart().bars === 5000", timeout=WAIT_MS)
    expect(page.get_by_role("status").filter(has_text="Chart reloaded")).to_be_visible()


def test_an_expired_session_is_replaced_transparently(page: Page, redis_client: redis.Redis,
                                                      feed_ready):
    first = state(page, "session")["token"]
    redis_client.delete(session_key(first))  # as the janitor would
    days = trading_days_back(2, skip=150)
    load_chart(page, "KO", "30m", str(days[0]), str(days[-1]))
    session = state(page, "session")
    assert session["token"] != first and session["initiations"] == 2
    assert state(page, "chart")["bars"] == len(_expected_times("KO", days, 1800))
    assert state(page, "toasts") == []


def test_choices_persist_across_reloads(page: Page, feed_ready):
    days = trading_days_back(3, skip=150)
    load_chart(page, "QQQ", "30m", str(days[0]), str(days[-1]), rth=False)
    page.reload()
    page.wait_for_function("window.__app && window.__app.ready() && window.__app.data().requestId "
                           "&& !window.__app.data().loading", timeout=WAIT_MS)
    expect(page.get_by_label("Symbol", exact=True)).to_have_value("QQQ")
    expect(page.get_by_label("Interval", exact=True)).to_have_value("30m")
    expect(page.get_by_label("From", exact=True)).to_have_value(str(days[0]))
    expect(page.get_by_role("radio", name="Extended")).to_be_checked()
    assert state(page, "data")["spec"] == {"symbol": "QQQ", "interval": "30m",
                                           "start": str(days[0]), "end": str(days[-1]),
                                           "rth": False}
    assert state(page, "chart")["bars"] > 0


def test_the_chart_form_submits_from_the_keyboard(page: Page, feed_ready):
    days = trading_days_back(2, skip=150)
    page.get_by_label("Symbol", exact=True).fill("DIS")
    page.get_by_label("From", exact=True).fill(str(days[0]))
    page.get_by_label("To", exact=True).fill(str(days[-1]))
    page.get_by_label("To", exact=True).press("Enter")  # the form submits from the keyboard
    page.wait_for_function("window.__app.data().spec && window.__app.data().spec.symbol === 'DIS'"
                           " && !window.__app.data().loading && window.__app.chart().bars > 0",
                           timeout=WAIT_MS)
    assert submit_and_wait(page)["spec"]["symbol"] == "DIS"


def test_a_chart_with_few_bars_fills_the_width_after_an_interval_change(page: Page, feed_ready):
    days = trading_days_back(20, skip=150)
    load_chart(page, "SPY", "5m", str(days[0]), str(days[-1]))
    assert state(page, "chart")["logicalFrom"] > 0, "many bars: the newest fill the width"
    page.get_by_label("Interval", exact=True).select_option("1d")
    data = submit_and_wait(page)
    chart = state(page, "chart")
    assert chart["bars"] == data["total"] == len(days)
    # All 20 bars are on screen, spread over the width, no blank slots before the first.
    assert -1 <= chart["logicalFrom"] <= 0.5 and chart["visibleSlots"] < len(days) + 10
    screenshot(page, "few-bars-fill-the-width")
