"""The Backtest panel in chromium: a form from /strategies, markers, equity and drawdown panes."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.app_driver import load_chart, run_backtest, state
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
