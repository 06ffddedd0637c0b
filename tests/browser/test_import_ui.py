"""Imported files in chromium: the Import dialog (progress, the answer, Chart it, a refused file's
row and column, delete), the symbol box's suggestions, and the notice of a range without bars."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from tests.browser.app_driver import WAIT_MS, load_chart, state
from tests.browser.conftest import screenshot

NEW_YORK = ZoneInfo("America/New_York")
DAYS = (date(2024, 3, 4), date(2024, 3, 5))  # a Monday and a Tuesday, no holiday
BARS_PER_DAY = 390  # 09:30 .. 15:59, one a minute


def _write_csv(path: Path, bad_high_row: int | None = None) -> Path:
    """1-minute bars of DAYS (New York wall time); row ``bad_high_row`` (1-based among data
    rows) gets a high below its close."""
    lines = ["Datetime,Open,High,Low,Close,Volume"]
    row = 0
    for day in DAYS:
        start = datetime(day.year, day.month, day.day, 9, 30)
        for i in range(BARS_PER_DAY):
            row += 1
            open_ = 100 + (i % 23) * 0.05 + (row % 7) * 0.01
            close = open_ + (0.03 if i % 2 else -0.02)
            high = max(open_, close) + 0.04
            low = min(open_, close) - 0.04
            if row == bad_high_row:
                high = close - 0.01
            when = (start + timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M:%S")
            lines.append(f"{when},{open_:.2f},{high:.2f},{low:.2f},{close:.2f},{1000 + i}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _open_dialog(page: Page) -> None:
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#import")).to_be_visible()


def _import(page: Page, path: Path, symbol: str, session: str = "") -> dict:
    """Fill the dialog, press Import file, wait until the upload has an answer; the snapshot."""
    _open_dialog(page)
    page.locator("#import-file").set_input_files(str(path))
    page.locator("#import-symbol").fill(symbol)
    page.locator("#import-session").fill(session)
    toasts = len(state(page, "toasts"))
    page.get_by_role("button", name="Import file").click()
    page.wait_for_function(
        """(toasts) => { const i = window.__app.imports();
            return !i.running && (i.result !== null || i.problems.length > 0
                                  || window.__app.toasts().length > toasts); }""",
        arg=toasts, timeout=WAIT_MS,
    )
    return state(page, "imports")


def _expected_times() -> list[int]:
    return [int(datetime(d.year, d.month, d.day, 9, 30, tzinfo=NEW_YORK).timestamp()) + 60 * i
            for d in DAYS for i in range(BARS_PER_DAY)]


def test_a_csv_imported_through_the_dialog_is_charted(page: Page, feed_ready, tmp_path: Path):
    path = _write_csv(tmp_path / "uigood.csv")
    imports = _import(page, path, "uigood", session="09:30-16:00")
    assert imports["problems"] == [], imports
    result = imports["result"]
    assert result is not None, state(page, "toasts")
    assert result["symbol"] == "file:UIGOOD"
    assert result["bars"] == 2 * BARS_PER_DAY
    assert result["resolution"] == "1m"
    assert result["first"].startswith("2024-03-04T09:30")
    assert result["last"].startswith("2024-03-05T15:59")
    # Both bars ran: every byte sent, then the server's stage to the end.
    sent, total = imports["uploads"][-1]
    assert sent == total > path.stat().st_size
    expect(page.locator("#import-upload-bar")).to_have_attribute("value", str(total))
    expect(page.locator("#import-stage-bar")).to_have_attribute("value", "1")
    expect(page.locator("#import-result")).to_contain_text("file:UIGOOD")
    expect(page.locator("#import-result")).to_contain_text("780")
    # The dialog's list and the symbol box know the new symbol.
    expect(page.locator("#import-list tr[data-symbol='file:UIGOOD']")).to_be_visible()
    assert "file:UIGOOD" in state(page, "symbols")["imported"]
    expect(page.locator("#symbols option[value='file:UIGOOD']")).to_have_count(1)
    screenshot(page, "import-done")

    renders = state(page, "chart")["renders"]
    page.get_by_role("button", name="Chart it").click()
    expect(page.locator("#import")).to_be_hidden()
    page.wait_for_function(
        "(r) => !window.__app.data().loading && window.__app.chart().renders > r",
        arg=renders, timeout=WAIT_MS)
    data = state(page, "data")
    assert data["errors"] == [], data["errors"]
    assert data["spec"] == {"symbol": "file:UIGOOD", "interval": "1m", "start": "2024-03-04",
                            "end": "2024-03-05", "rth": True}
    assert state(page, "chart")["bars"] == 2 * BARS_PER_DAY
    assert page.evaluate("window.__app.times()") == _expected_times()
    expect(page.locator("#legend")).to_contain_text("file:UIGOOD")
    expect(page.locator("#legend")).to_contain_text("15:59")
    # Charted once: it is the most recent symbol the symbol box suggests.
    assert state(page, "symbols")["recent"][0] == "file:UIGOOD"
    assert page.locator("#symbols option").first.get_attribute("value") == "file:UIGOOD"
    screenshot(page, "import-charted")


def test_a_bad_row_is_shown_with_its_row_and_column(page: Page, feed_ready, tmp_path: Path):
    path = _write_csv(tmp_path / "uibad.csv", bad_high_row=17)
    imports = _import(page, path, "uibad")
    assert imports["result"] is None
    problem = imports["problems"][0]
    assert (problem["field"], problem["row"], problem["column"]) == ("file", 17, "High"), problem
    box = page.locator("#import-error")
    expect(box).to_be_visible()
    expect(box.locator("[data-row='17']")).to_have_text("row 17")
    expect(box.locator("[data-column='High']")).to_have_text("column High")
    expect(page.locator("#import-file")).to_have_attribute("aria-invalid", "true")
    assert state(page, "toasts") == [], "a refused file is explained in the dialog, not a toast"
    expect(page.locator("#import-list tr[data-symbol='file:UIBAD']")).to_have_count(0)
    screenshot(page, "import-bad-row")


def test_an_imported_symbol_is_deleted_from_the_dialog(page: Page, feed_ready, tmp_path: Path):
    path = _write_csv(tmp_path / "uidel.csv")
    assert _import(page, path, "uidel")["result"]["symbol"] == "file:UIDEL"
    row = page.locator("#import-list tr[data-symbol='file:UIDEL']")
    delete = row.get_by_role("button", name="Delete file:UIDEL")
    delete.click()
    expect(delete).to_have_text("Delete?")  # the first click only arms it
    delete.click()
    expect(row).to_have_count(0)
    expect(page.locator("#import-result")).to_be_hidden()  # no "Chart it" for a deleted symbol
    # The toast shows inside the open dialog, above its backdrop, and takes a click.
    toast = page.locator("#import #toasts [data-kind=success]")
    expect(toast).to_contain_text("Deleted file:UIDEL")
    screenshot(page, "import-deleted")
    toast.get_by_role("button", name="Dismiss").click()
    expect(toast).to_have_count(0)
    page.wait_for_function("!window.__app.symbols().imported.includes('file:UIDEL')",
                           timeout=WAIT_MS)
    expect(page.locator("#symbols option[value='file:UIDEL']")).to_have_count(0)
    page.keyboard.press("Escape")
    expect(page.locator("#import")).to_be_hidden()
    assert page.evaluate("document.getElementById('toasts').parentElement === document.body")


def _past_weekend() -> tuple[date, date]:
    day = date.today() - timedelta(days=150)
    while day.weekday() != 5:
        day += timedelta(days=1)
    return day, day + timedelta(days=1)


def test_a_range_without_sessions_shows_the_notice(page: Page, feed_ready):
    saturday, sunday = _past_weekend()
    data = load_chart(page, "SPY", "5m", str(saturday), str(sunday))
    assert data["errors"] == [] and state(page, "chart")["bars"] == 0
    assert data["notice"], data
    notice = page.locator("#chart-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(data["notice"])
    expect(page.locator("#chart-empty")).to_be_hidden()
    screenshot(page, "chart-notice")
    # The next load with bars clears it.
    load_chart(page, "SPY", "1d", str(saturday - timedelta(days=30)), str(sunday))
    assert state(page, "chart")["bars"] > 0
    expect(notice).to_be_hidden()
