"""The Runs panel in chromium: the session survives a reload and a second tab, a run reopened
after a reload shows the same metrics (labelled when it is another chart's), its trades CSV and
report are downloaded, two runs compare side by side, a run is deleted."""

from __future__ import annotations

import csv
import io
import json

import pytest
from playwright.sync_api import Page, expect

from tests.browser.app_driver import (
    WAIT_MS,
    fill_chart_form,
    load_chart,
    run_backtest_answer,
    state,
)
from tests.browser.conftest import screenshot
from tests.support.feed_expectations import trading_days_back


def _days() -> list[str]:
    return [str(day) for day in trading_days_back(3, skip=150)]


def _backtest(page: Page, params: dict[str, int]) -> dict:
    """Run sma_cross with ``params`` on the chart shown; the answer, once the Runs list has it."""
    answer = run_backtest_answer(page, "sma_cross", params)
    page.wait_for_function(
        "(id) => window.__app.runs().runs.some((r) => r.run_id === id)", arg=answer["run_id"],
        timeout=WAIT_MS)
    return answer


def _runs_tab(page: Page) -> None:
    page.get_by_role("tab", name="Runs").click()
    expect(page.locator("#panel-runs")).to_be_visible()


def _row(page: Page, run_id: str):
    return page.locator(f"#runs-list [data-run='{run_id}']")


def _open(page: Page, run_id: str) -> dict:
    _runs_tab(page)
    _row(page, run_id).get_by_role("button", name="Open", exact=False).first.click()
    page.wait_for_function("(id) => window.__app.runs().shown === id", arg=run_id,
                           timeout=WAIT_MS)
    expect(page.locator("#panel-strategy")).to_be_visible()
    return state(page, "backtest")


def test_a_run_reopened_after_a_reload_shows_the_same_metrics(page: Page):
    days = _days()
    load_chart(page, "TSLA", "5m", days[0], days[-1])
    answer = _backtest(page, {"fast": 5, "slow": 20})
    token = state(page, "session")["token"]

    page.reload()
    page.wait_for_function("window.__app && window.__app.ready() && "
                           "window.__app.runs().loaded && !window.__app.data().loading",
                           timeout=WAIT_MS)
    session = state(page, "session")
    assert session["token"] == token, "a reload keeps the session"
    assert session["initiations"] == 0 and session["resumed"] == 1
    assert state(page, "backtest")["metrics"] is None, "nothing shown until a run is opened"
    listed = state(page, "runs")["runs"][0]
    assert listed["run_id"] == answer["run_id"] and listed["params"] == {"fast": 5, "slow": 20}
    _runs_tab(page)
    row = _row(page, answer["run_id"])
    expect(row.locator("[data-run-metric=total_return]")).to_have_text(
        f"{answer['metrics']['total_return'] * 100:.2f}%")
    expect(row.locator("[data-run-metric=trades]")).to_have_text(str(len(answer["trades"])))
    screenshot(page, "runs-list")

    backtest = _open(page, answer["run_id"])
    assert backtest["stale"] is False and backtest["trades"] == len(answer["trades"])
    for name, value in answer["metrics"].items():
        assert backtest["metrics"][name] == (value if value is None else pytest.approx(value))
    expect(page.locator("[data-metric='Total return']")).to_have_text(
        f"{answer['metrics']['total_return'] * 100:.2f}%")
    chart = state(page, "chart")
    assert chart["markersTotal"] == 2 * len(answer["trades"])
    assert chart["equityPoints"] == len(answer["equity"]["t"])
    expect(page.locator("#backtest-stale")).to_be_hidden()
    screenshot(page, "runs-reopened")


def test_a_run_of_another_chart_is_labelled_as_such(page: Page):
    days = _days()
    load_chart(page, "TSLA", "5m", days[0], days[-1])
    answer = _backtest(page, {"fast": 5, "slow": 20})
    fill_chart_form(page, "TSLA", "15m", days[0], days[-1])
    page.wait_for_function("window.__app.data().spec.interval === '15m'")

    backtest = _open(page, answer["run_id"])
    assert backtest["stale"] is True and backtest["resultOf"]["interval"] == "5m"
    expect(page.locator("#backtest-title")).to_have_text("Results of another chart")
    expect(page.locator("#backtest-stale")).to_contain_text(f"Results of TSLA 5m {days[0]}")
    assert state(page, "chart")["markersTotal"] == 0, "not drawn on another chart"
    page.get_by_role("button", name="Show that chart").click()
    page.wait_for_function("window.__app.data().spec.interval === '5m' && "
                           "!window.__app.data().loading && !window.__app.backtest().stale",
                           timeout=WAIT_MS)
    assert state(page, "chart")["markersTotal"] == 2 * len(answer["trades"])


def test_the_trades_csv_and_the_report_are_downloaded(page: Page):
    days = _days()
    load_chart(page, "AAPL", "5m", days[0], days[-1])
    answer = _backtest(page, {"fast": 5, "slow": 20})
    _runs_tab(page)
    row = _row(page, answer["run_id"])
    with page.expect_download(timeout=WAIT_MS) as csv_download:
        row.get_by_role("button", name="Trades CSV").click()
    download = csv_download.value
    assert download.suggested_filename == f"run-{answer['run_id']}-trades.csv"
    with open(download.path(), encoding="utf-8") as file:
        rows = list(csv.DictReader(io.StringIO(file.read())))
    assert len(rows) == len(answer["trades"]) > 0
    assert [float(row["pnl"]) for row in rows] == [t["pnl"] for t in answer["trades"]]
    assert rows[0]["entry_time"].endswith("Z") and rows[0]["exit_reason"]

    with page.expect_download(timeout=WAIT_MS) as json_download:
        row.get_by_role("button", name="Report JSON").click()
    assert json_download.value.suggested_filename == f"run-{answer['run_id']}-report.json"
    with open(json_download.value.path(), encoding="utf-8") as file:
        report = json.load(file)
    assert report["metrics"] == answer["metrics"] and report["equity"] == answer["equity"]
    assert state(page, "runs")["downloads"] == 2


def test_two_runs_compare_side_by_side(page: Page):
    days = _days()
    load_chart(page, "MSFT", "5m", days[0], days[-1])
    first = _backtest(page, {"fast": 5, "slow": 20})
    second = _backtest(page, {"fast": 8, "slow": 30})
    _runs_tab(page)
    compare = page.get_by_role("button", name="Compare", exact=True)
    expect(compare).to_be_disabled()
    for answer in (first, second):
        _row(page, answer["run_id"]).get_by_role("checkbox").check()
    expect(compare).to_be_enabled()
    compare.click()
    page.wait_for_function("window.__app.runs().compared !== null", timeout=WAIT_MS)
    table = page.locator("#runs-compare-table")
    expect(table.locator("thead th")).to_have_count(3)  # metric, run A, run B
    expect(table.locator("thead th").nth(1)).to_contain_text("fast=5, slow=20")
    expect(table.locator("thead th").nth(2)).to_contain_text("fast=8, slow=30")
    total = table.locator("tbody tr").filter(has_text="Total return")
    for side, answer in (("a", first), ("b", second)):
        expect(total.locator(f"td[data-side={side}]")).to_have_text(
            f"{answer['metrics']['total_return'] * 100:.2f}%")
    runs = state(page, "runs")
    assert runs["compared"] == [first["run_id"], second["run_id"]]
    assert runs["comparePoints"] == [len(first["equity"]["t"]), len(second["equity"]["t"])]
    screenshot(page, "runs-compare")


def test_a_run_is_deleted_after_a_confirming_click(page: Page):
    days = _days()
    load_chart(page, "KO", "15m", days[0], days[-1])
    answer = _backtest(page, {"fast": 5, "slow": 20})
    _runs_tab(page)
    delete = _row(page, answer["run_id"]).get_by_role("button", name="Delete")
    delete.click()
    expect(delete).to_have_text("Delete?")
    assert any(r["run_id"] == answer["run_id"] for r in state(page, "runs")["runs"])
    delete.click()
    expect(_row(page, answer["run_id"])).to_have_count(0)
    assert state(page, "runs")["total"] == 0
    expect(page.locator("#runs-empty")).to_be_visible()


def test_a_second_tab_shares_the_session_and_its_runs(page: Page):
    days = _days()
    load_chart(page, "KO", "15m", days[0], days[-1])
    answer = _backtest(page, {"fast": 5, "slow": 20})
    other = page.context.new_page()
    other.goto(page.url)
    other.wait_for_function("window.__app && window.__app.ready() && window.__app.runs().loaded",
                            timeout=WAIT_MS)
    assert state(other, "session")["token"] == state(page, "session")["token"]
    assert state(other, "runs")["runs"][0]["run_id"] == answer["run_id"]
    other.close()
