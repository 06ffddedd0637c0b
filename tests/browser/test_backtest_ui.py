"""The Backtest panel in chromium: a form from /strategies, markers, equity and drawdown panes,
the run's indicators on the chart, every trade in the list, a trade far in the past shown with
its bars, results of another chart labelled as such."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.app_driver import (
    fill_chart_form,
    load_chart,
    run_backtest,
    run_backtest_answer,
    show_trade_from_list,
    state,
)
from tests.browser.conftest import screenshot
from tests.conftest import Platform
from tests.support.feed_expectations import trading_days_back
from tests.support.session_calls import initiate, session_headers


def test_strategy_form_is_built_from_the_strategy_specs(page: Page, platform: Platform):
    with httpx.Client(base_url=platform.base_url, headers=platform.auth_headers) as http:
        specs = http.get("/strategies/").json()["strategies"]
    options = page.get_by_label("Strategy", exact=True).locator("option")
    expect(options).to_have_count(len(specs))
    macd = next(spec for spec in specs if spec["name"] == "macd_cross")
    page.get_by_label("Strategy", exact=True).select_option("macd_cross")
    for param in macd["params"]:
        field = page.locator(f"[data-param={param['name']}]")
        expect(field).to_have_value(str(param["default"]))
        expect(field).to_have_attribute("min", str(param["min"]))
        expect(field).to_have_attribute("max", str(param["max"]))


def test_backtest_draws_markers_equity_and_metrics(page: Page, platform: Platform):
    days = trading_days_back(3, skip=150)
    data = load_chart(page, "TSLA", "5m", str(days[0]), str(days[-1]))
    page.get_by_label("Strategy", exact=True).select_option("sma_cross")
    run_backtest(page, {"fast": 5, "slow": 20})
    with httpx.Client(base_url=platform.base_url, timeout=120,
                      headers=platform.auth_headers) as http:
        body = {"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}, "symbol": "TSLA",
                "interval": "5m", "start": str(days[0]), "end": str(days[-1]), "rth": True,
                "commission": 0.0005}
        expected = http.post("/backtest/", json=body,
                             headers=session_headers(initiate(http))).json()
    chart = state(page, "chart")
    backtest = state(page, "backtest")
    assert backtest["trades"] == len(expected["trades"]) > 0
    assert chart["markersTotal"] == chart["markers"] == len(expected["markers"])
    assert chart["equityPoints"] == chart["drawdownPoints"] == data["total"]
    assert chart["panes"] == 4, "candles, volume, equity, drawdown"
    for name, value in expected["metrics"].items():
        assert backtest["metrics"][name] == (value if value is None else pytest.approx(value))
    total_return = expected["metrics"]["total_return"] * 100
    expect(page.locator("[data-metric='Total return']")).to_have_text(f"{total_return:.2f}%")
    expect(page.get_by_role("alert")).to_have_count(0)
    screenshot(page, "backtest")


def test_parameter_bounds_are_enforced_in_the_browser(page: Page):
    days = trading_days_back(2, skip=150)
    load_chart(page, "KO", "15m", str(days[0]), str(days[-1]))
    page.get_by_label("Strategy", exact=True).select_option("sma_cross")
    fast = page.locator("[data-param=fast]")
    fast.fill("1")  # below the spec's min of 2
    page.get_by_role("button", name="Run backtest").click()
    assert fast.evaluate("(el) => !el.checkValidity()")
    fast.fill("40")  # breaks fast < slow (slow = 30)
    assert fast.evaluate("(el) => el.validationMessage") == "Must satisfy fast < slow"
    page.get_by_role("button", name="Run backtest").click()
    assert state(page, "backtest")["runs"] == 0, "nothing is sent while the form is invalid"
    run_backtest(page, {"fast": 10})


def _check_indicators(chart: dict, answer: dict) -> None:
    """The chart draws every indicator of ``answer``: its name, pane, style, levels, one point
    per time, each at its bar; overlays on price, one pane per pane name below volume."""
    drawn = {item["name"]: item for item in chart["indicators"]}
    expected = answer["indicators"]
    assert sorted(drawn) == sorted(item["name"] for item in expected)
    pane_names = list(dict.fromkeys(i["pane"] for i in expected if i["pane"] != "overlay"))
    for item in expected:
        got = drawn[item["name"]]
        assert got["label"] == item["name"], "the answer's names carry the run's parameters"
        assert got["style"] == item.get("style", "line")
        assert got["points"] == len(item["t"]) > 0
        assert got["values"] == sum(v is not None for v in item["v"]) > 0
        assert got["offBars"] == 0, f"{item['name']}: points off their bars"
        if item["pane"] == "overlay":
            assert got["paneIndex"] == 0
        else:
            assert got["paneIndex"] == 2 + pane_names.index(item["pane"])
            assert got["pane"] == item["pane"]
    for pane in pane_names:
        levels = sorted({x for i in expected if i["pane"] == pane for x in i.get("levels", [])})
        assert sorted(next(p for p in chart["indicatorPanes"] if p["name"] == pane)["levels"]) \
            == levels
        lines = sum(i["priceLines"] or 0 for i in chart["indicators"] if i["pane"] == pane)
        assert lines == len(levels), "one horizontal line per level"
    assert chart["panes"] == 2 + len(pane_names) + 2, "price, volume, indicator panes, equity, dd"
    assert len(chart["paneLegends"]) == len(pane_names)


def test_indicators_are_drawn_for_each_built_in_strategy(page: Page, platform: Platform):
    with httpx.Client(base_url=platform.base_url, headers=platform.auth_headers) as http:
        specs = http.get("/strategies/").json()["strategies"]
    builtins = ["sma_cross", "ema_cross", "bollinger_reversion", "donchian_breakout",
                "rsi_reversion", "macd_cross"]
    assert set(builtins) <= {spec["name"] for spec in specs}
    days = trading_days_back(5, skip=150)
    load_chart(page, "MSFT", "15m", str(days[0]), str(days[-1]))
    panes_seen = set()
    for name in builtins:
        answer = run_backtest_answer(page, name)
        assert answer["indicators"], f"{name} declares no indicators"
        chart = state(page, "chart")
        _check_indicators(chart, answer)
        panes_seen |= {i["pane"] for i in answer["indicators"]}
        if name in ("rsi_reversion", "macd_cross", "bollinger_reversion"):
            screenshot(page, f"indicators-{name}")
    assert {"overlay", "rsi", "macd"} <= panes_seen
    macd = state(page, "chart")["indicators"]
    assert any(item["style"] == "histogram" for item in macd)
    # A new run replaces the last one's series: none of MACD's stay under the SMAs.
    answer = run_backtest_answer(page, "sma_cross")
    _check_indicators(state(page, "chart"), answer)


def test_results_of_another_chart_are_labelled_and_its_drawings_removed(page: Page):
    days = trading_days_back(4, skip=150)
    load_chart(page, "AAPL", "15m", str(days[0]), str(days[-1]))
    answer = run_backtest_answer(page, "macd_cross")
    assert answer["trades"] and state(page, "chart")["indicators"]
    expect(page.locator("#backtest-stale")).to_be_hidden()
    # The trader switches the interval: the run's lines, panes and markers go with the chart,
    # the panel says whose results it shows.
    fill_chart_form(page, "AAPL", "30m", str(days[0]), str(days[-1]))
    page.wait_for_function("window.__app.data().spec.interval === '30m'")
    chart = state(page, "chart")
    assert chart["indicators"] == [] and chart["markersTotal"] == 0 and chart["tradeLines"] == 0
    assert chart["panes"] == 2 and chart["equityPoints"] == 0
    backtest = state(page, "backtest")
    assert backtest["stale"] is True and backtest["resultOf"]["interval"] == "15m"
    note = page.locator("#backtest-stale")
    expect(note).to_be_visible()
    expect(note).to_contain_text(f"Results of AAPL 15m {days[0]}")
    expect(page.locator("#backtest-title")).to_have_text("Results of another chart")
    screenshot(page, "backtest-stale")
    # Clicking one of its trades does not move this chart to a time it does not hold.
    page.locator("#trades-table [data-trade]").first.click()
    assert state(page, "backtest")["reveals"] == 0
    # "Show that chart" charts the run's chart again, and the run is drawn on it.
    page.get_by_role("button", name="Show that chart").click()
    page.wait_for_function(
        "window.__app.data().spec.interval === '15m' && !window.__app.data().loading")
    page.wait_for_function("!window.__app.backtest().stale")
    chart = state(page, "chart")
    assert chart["markersTotal"] == 2 * len(answer["trades"])
    assert len(chart["indicators"]) == len(answer["indicators"])
    expect(note).to_be_hidden()


def _many_trades_chart(page: Page) -> tuple[dict, dict]:
    """A 1-minute chart of 25 trading days (more bars than the first answer holds) and an
    SMA 3/8 run on it (well over 500 trades); the chart's data state and the answer."""
    days = trading_days_back(25, skip=150)
    data = load_chart(page, "NVDA", "1m", str(days[0]), str(days[-1]))
    assert data["hasMore"], "the oldest bars are not loaded yet"
    answer = run_backtest_answer(page, "sma_cross", {"fast": 3, "slow": 8})
    assert len(answer["trades"]) > 500
    return data, answer


def test_trade_list_holds_every_trade(page: Page):
    _, answer = _many_trades_chart(page)
    count = len(answer["trades"])
    expect(page.locator("#trade-count")).to_have_text(f"{count:,}")
    listed = state(page, "backtest")["list"]
    assert listed["total"] == count
    assert 0 < listed["rendered"] < 120, "only the rows in view are in the page"
    first = page.locator("#trades-table .trade-spacer [data-trade]").first
    expect(first).to_have_attribute("data-trade", str(count - 1))  # newest first
    # Scrolled to the end, the oldest trade is the last row, numbered as the answer has it.
    page.evaluate("""() => { const s = document.querySelector('#trades-table .trade-scroll');
        s.scrollTop = s.scrollHeight; s.dispatchEvent(new Event('scroll')); }""")
    last = page.locator("#trades-table .trade-spacer [data-trade]").last
    expect(last).to_have_attribute("data-trade", "0")
    expect(last).to_have_attribute("aria-rowindex", str(count + 1))
    trade = answer["trades"][0]
    expect(last).to_contain_text(f"{trade['entry_price']:.2f}")
    expect(last).to_contain_text(f"{trade['exit_price']:.2f}")
    expect(last).to_contain_text(f"{trade['return'] * 100:+.2f}%")
    # Sorted by return, the worst trade comes first.
    page.locator("#trades-table [data-sort=return]").click()
    page.locator("#trades-table [data-sort=return]").click()
    worst = min(range(count), key=lambda k: (answer["trades"][k]["return"], k))
    page.evaluate("""() => { const s = document.querySelector('#trades-table .trade-scroll');
        s.scrollTop = 0; s.dispatchEvent(new Event('scroll')); }""")
    expect(page.locator("#trades-table .trade-spacer [data-trade]").first).to_have_attribute(
        "data-trade", str(worst))
    screenshot(page, "trade-list")


def test_a_trade_far_in_the_past_is_shown_with_its_bars(page: Page):
    _, answer = _many_trades_chart(page)
    oldest_loaded = state(page, "chart")["firstTime"]
    trade = answer["trades"][0]
    assert trade["entry_time"] < oldest_loaded, "the first trade's bars are not loaded yet"
    backtest = show_trade_from_list(page, 0)
    assert backtest["reveals"] == 1 and backtest["revealFailures"] == 0
    chart = state(page, "chart")
    assert chart["firstTime"] <= trade["entry_time"]
    assert len(state(page, "data")["chunkRequests"]) >= 1
    assert chart["visibleTimeFrom"] is not None, "candles are on screen"
    assert chart["visibleTimeFrom"] <= trade["entry_time"] <= chart["visibleTimeTo"]
    assert chart["visibleTimeFrom"] <= trade["exit_time"] <= chart["visibleTimeTo"]
    times = page.evaluate("window.__app.times()")
    assert trade["entry_time"] in times and trade["exit_time"] in times
    assert chart["tradeLinesDrawn"] >= 1
    assert chart["markers"] > state(page, "backtest")["trades"], "the old trades' markers too"
    expect(page.locator("#trades-table [data-trade='0']")).to_have_attribute("aria-selected",
                                                                            "true")
    # The crosshair on its entry bar names the trade in the legend.
    box = page.locator("#chart").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.3)
    screenshot(page, "trade-far-in-the-past")


def test_the_order_model_is_set_in_the_form_and_replayed_bars_are_reported(page: Page):
    days = trading_days_back(3, skip=10)
    load_chart(page, "TSLA", "5m", str(days[0]), str(days[-1]))
    page.locator("#costs summary").click()
    page.get_by_label("Entry order").select_option("limit")
    page.get_by_label("Entry offset %").fill("0.05")
    page.get_by_label("Order valid bars").fill("3")
    page.get_by_label("Sizing").select_option("risk")
    page.get_by_label("Size", exact=True).fill("2")
    page.get_by_label("Whole units").check()
    page.get_by_label("Stop loss %").fill("0.3")
    page.get_by_label("Take profit %").fill("0.4")
    page.get_by_label("Flat at session close").check()
    page.get_by_label("Intrabar fills").select_option("base_bars")
    page.get_by_label("Direction").select_option("both")
    with page.expect_request(lambda r: "/backtest" in r.url and r.method == "POST") as sent:
        answer = run_backtest_answer(page, "sma_cross", {"fast": 5, "slow": 20})
    body = sent.value.post_data_json
    assert body["entry"] == {"type": "limit", "offset": pytest.approx(0.0005), "valid_bars": 3}
    assert body["sizing"] == {"mode": "risk", "value": pytest.approx(0.02)}
    assert (body["whole_units"], body["flat_at_close"], body["intrabar"]) == (True, True,
                                                                             "base_bars")
    resolved = answer["intrabar"]["resolved_bars"]
    assert resolved > 0 and answer["metrics"]["intrabar_resolved"] == resolved
    expect(page.locator("[data-metric='Bars replayed on base bars']")).to_have_text(
        str(resolved))
    assert all(trade["units"] == int(trade["units"]) for trade in answer["trades"])
    # Exit markers say why in two letters once zoomed in enough for labels (none piled up at
    # the default zoom).
    codes = {"stop": "SL", "target": "TP", "trailing": "TS", "time": "T", "session_end": "EOD"}
    assert state(page, "chart")["markerLabels"] == []
    chart = page.locator("#chart")
    chart.focus()
    for _ in range(8):
        chart.press("+")
    page.wait_for_function("window.__app.chart().markerLabels.length > 0", timeout=10_000)
    reasons = {codes[t["exit_reason"]] for t in answer["trades"] if t["exit_reason"] in codes}
    assert set(state(page, "chart")["markerLabels"]) <= reasons
    screenshot(page, "order-model-labels")
    page.locator("#metrics-table").scroll_into_view_if_needed()
    screenshot(page, "order-model")
    # The settings persist: a reload keeps them.
    page.reload()
    page.locator("#costs summary").click()
    expect(page.get_by_label("Entry order")).to_have_value("limit")
    expect(page.get_by_label("Flat at session close")).to_be_checked()
    page.wait_for_timeout(400)  # the panel's opening animation
    screenshot(page, "order-settings")
