"""The Optimize panel in chromium: live combination count, progress, top table and heatmap."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.app_driver import WAIT_MS, load_chart, state, wait_for_backtest
from tests.browser.conftest import screenshot
from tests.support.feed_expectations import trading_days_back


def _set_range(page: Page, name: str, low: int, high: int, step: int) -> None:
    for key, value in (("min", low), ("max", high), ("step", step)):
        page.get_by_label(f"{name} {key}", exact=True).fill(str(value))


def _wait_until_done(page: Page) -> dict:
    """Wait for the job to end (and its results to be drawn); its state, which must be a
    success."""
    page.wait_for_function(
        """() => { const o = window.__app.optimize();
            return ["failed", "cancelled", "expired"].includes(o.status)
                   || (o.status === "succeeded" && o.heatmap !== null); }""",
        timeout=WAIT_MS,
    )
    snap = state(page, "optimize")
    assert snap["status"] == "succeeded", state(page, "toasts")
    return snap


def test_optimization_shows_progress_then_results_and_heatmap(page: Page):
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    days = trading_days_back(3, skip=150)
    load_chart(page, "TSLA", "5m", str(days[0]), str(days[-1]))
    page.get_by_label("Strategy", exact=True).select_option("sma_cross")
    page.get_by_role("tab", name="Optimize").click()
    _set_range(page, "fast", 4, 12, 2)    # 5 values
    _set_range(page, "slow", 10, 30, 5)   # 5 values; fast < slow drops (10, 10) and (12, 10)
    expect(page.locator("#combinations")).to_have_text("23 of 25")
    page.get_by_label("Objective", exact=True).select_option("total_return")
    page.locator("#opt-advanced summary").click()
    page.get_by_label("Min trades").fill("0")  # three days of bars: few trades each
    page.get_by_role("button", name="Optimize", exact=True).click()
    expect(page.get_by_role("progressbar", name="Optimization progress")).to_be_visible()
    expect(page.locator("#opt-status")).to_contain_text("/ 23")
    screenshot(page, "optimize-progress")
    snap = _wait_until_done(page)
    assert snap["progress"]["done"] == snap["progress"]["total"] == 23
    assert snap["progressEvents"] >= 1, "progress comes from the job's event stream"
    token = state(page, "session")["token"]
    assert any(url.endswith("/events") for url in urls), "followed over fetch, header and all"
    assert not [url for url in urls if token in url or "session_token" in url], \
        "the session token never travels in a URL"
    assert snap["top"] > 0
    assert snap["heatmap"] == {"x": "fast", "y": "slow", "columns": 5, "rows": 5, "filled": 23,
                               "renders": snap["heatmap"]["renders"]}
    assert snap["heatmap"]["renders"] >= 1
    expect(page.locator("#opt-bar")).to_have_attribute("value", "23")
    expect(page.locator("#opt-eta")).to_contain_text("CPU · ")  # where and how long it ran
    screenshot(page, "optimize-result")

    # The best row runs that backtest on the chart.
    best = page.locator("#top-table tbody tr").first
    fast, slow = (int(best.locator("td").nth(i).inner_text()) for i in (1, 2))
    before = state(page, "backtest")["runs"], len(state(page, "toasts"))
    best.click()
    wait_for_backtest(page, *before)
    expect(page.locator("#backtest-summary")).to_contain_text(f"fast={fast}, slow={slow}")
    assert state(page, "chart")["equityPoints"] > 0
    screenshot(page, "optimize-backtest-of-best")


def test_grid_bounds_and_walk_forward_options(page: Page):
    days = trading_days_back(10, skip=150)
    load_chart(page, "KO", "15m", str(days[0]), str(days[-1]))
    page.get_by_label("Strategy", exact=True).select_option("sma_cross")
    page.get_by_role("tab", name="Optimize").click()
    page.get_by_label("fast min", exact=True).fill("1")  # the spec's min is 2
    expect(page.locator("#combinations")).to_have_text("–")
    assert page.get_by_label("fast min", exact=True).evaluate("(el) => el.validationMessage") \
        == "fast must be at least 2"
    _set_range(page, "fast", 5, 10, 5)
    _set_range(page, "slow", 20, 40, 20)
    expect(page.locator("#combinations")).to_have_text("4")
    page.get_by_role("checkbox", name="Walk-forward").check()
    page.get_by_label("Splits", exact=True).fill("2")
    page.get_by_role("button", name="Optimize", exact=True).click()
    assert _wait_until_done(page)["walkForward"] == 2
    expect(page.locator("#wf-table tbody tr")).to_have_count(2)
    screenshot(page, "optimize-walk-forward")


def test_search_axes_and_robustness_views_and_a_job_reattached_after_a_reload(page: Page):
    days = trading_days_back(3, skip=150)
    load_chart(page, "TSLA", "5m", str(days[0]), str(days[-1]))
    page.get_by_label("Strategy", exact=True).select_option("sma_cross")
    page.get_by_role("tab", name="Optimize").click()
    _set_range(page, "fast", 3, 12, 1)
    _set_range(page, "slow", 14, 40, 2)
    page.locator("#opt-advanced summary").click()
    page.get_by_label("Search", exact=True).select_option("bayesian")
    page.get_by_label("Trials").fill("30")
    page.get_by_label("Seed").fill("7")
    page.get_by_label("Min trades").fill("2")
    page.get_by_label("Best by").select_option("plateau")
    page.get_by_label("Monte Carlo paths").fill("300")
    page.get_by_label("Symbols (axis)").fill("TSLA, AAPL")
    page.locator("[data-interval='5m']").check()
    page.locator("[data-interval='15m']").check()
    with page.expect_request(lambda r: r.url.endswith("/optimize/") and r.method == "POST") as sent:
        page.get_by_role("button", name="Optimize", exact=True).click()
    body = sent.value.post_data_json
    assert body["search"] == {"method": "bayesian", "trials": 30, "seed": 7}
    assert (body["symbols"], body["intervals"], body["select"]) == (["TSLA", "AAPL"],
                                                                   ["5m", "15m"], "plateau")
    snap = _wait_until_done(page)
    assert snap["progress"]["total"] == 30 and snap["search"]["evaluated"] == 30
    assert snap["census"] == 2 and snap["monteCarlo"] >= 1
    assert snap["deflatedSharpe"] is None or 0 <= snap["deflatedSharpe"] <= 1
    expect(page.locator("#opt-summary")).to_contain_text("by bayesian search")
    expect(page.locator("#opt-summary")).to_contain_text("Deflated Sharpe of the best")
    expect(page.locator("#census-table tbody tr")).to_have_count(2)
    expect(page.locator("#mc-result")).to_be_visible()
    assert snap["monteCarloFan"] >= 2, "the best row's fan over its trades is drawn"
    options = page.locator("#heat-x option").all_inner_texts()
    assert {"interval", "symbol"} <= set(options)
    page.locator("#heat-x").select_option("symbol")
    page.locator("#heat-y").select_option("interval")
    page.locator("#heat-layer").select_option("plateau")
    heat = state(page, "optimize")["heatmap"]
    assert (heat["x"], heat["y"], heat["columns"], heat["rows"]) == ("symbol", "interval", 2, 2)
    with page.expect_download() as download:
        page.get_by_role("button", name="Surface CSV").click()
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0].startswith("fast,slow,interval,symbol,sharpe,plateau")
    assert len(lines) == 31
    screenshot(page, "optimize-axes-robustness")
    job_id = snap["jobId"]
    page.reload()
    page.wait_for_function("window.__app && window.__app.ready()", timeout=WAIT_MS)
    again = state(page, "optimize")
    assert again["jobId"] == job_id and again["status"] == "succeeded" and again["census"] == 2


def test_a_running_job_is_reattached_after_a_reload_and_can_be_cancelled(page: Page):
    days = trading_days_back(20, skip=150)
    load_chart(page, "SPY", "1m", str(days[0]), str(days[-1]))
    page.get_by_label("Strategy", exact=True).select_option("sma_cross")
    page.get_by_role("tab", name="Optimize").click()
    _set_range(page, "fast", 2, 150, 1)  # 149 x 1000 combinations: tens of seconds here
    _set_range(page, "slow", 151, 1150, 1)
    page.get_by_role("button", name="Optimize", exact=True).click()
    page.wait_for_function("window.__app.optimize().status === 'running'", timeout=WAIT_MS)
    job_id = state(page, "optimize")["jobId"]
    page.reload()
    page.wait_for_function("window.__app && window.__app.ready()", timeout=WAIT_MS)
    assert state(page, "optimize")["jobId"] == job_id
    expect(page.get_by_role("button", name="Cancel")).to_be_visible()
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_function("window.__app.optimize().status === 'cancelled'", timeout=WAIT_MS)
