"""What a trader does in the web app, as Playwright steps, and the app's read-only state.

The app exposes ``window.__app`` (chart, data, session, backtest, optimize, toasts snapshots);
these helpers read it and wait on it, never on time.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

# Generous: a fresh clone compiles its Numba kernels on first use, on a busy 2-core machine.
WAIT_MS = 300_000


def state(page: Page, part: str) -> Any:
    """The snapshot ``window.__app[part]()`` (chart, data, session, backtest, optimize, ...)."""
    return page.evaluate(f"window.__app.{part}()")


def fill_chart_form(page: Page, symbol: str, interval: str, start: str, end: str,
                    rth: bool = True) -> None:
    """Set the chart controls (a changed interval or hours setting reloads, as for a trader)."""
    page.get_by_label("Symbol", exact=True).fill(symbol)
    page.get_by_label("From", exact=True).fill(start)
    page.get_by_label("To", exact=True).fill(end)
    page.get_by_label("Interval", exact=True).select_option(interval)
    page.get_by_role("radio", name="Regular" if rth else "Extended").check()
    page.wait_for_function("!window.__app.data().loading", timeout=WAIT_MS)


def submit_and_wait(page: Page) -> dict[str, Any]:
    """Press Load and wait until that load has finished (bars shown or an error); its state."""
    before = len(state(page, "toasts")), state(page, "chart")["renders"]
    page.get_by_role("button", name="Load", exact=True).click()
    page.wait_for_function(
        """([toasts, renders]) => {
            const d = window.__app.data();
            return !d.loading && (window.__app.chart().renders > renders
                                  || window.__app.toasts().length > toasts);
        }""",
        arg=list(before), timeout=WAIT_MS,
    )
    return state(page, "data")


def load_chart(page: Page, symbol: str, interval: str, start: str, end: str,
               rth: bool = True) -> dict[str, Any]:
    """Fill the chart controls, press Load and wait for the bars; the data state."""
    page.wait_for_function("!window.__app.data().loading", timeout=WAIT_MS)
    fill_chart_form(page, symbol, interval, start, end, rth)
    return submit_and_wait(page)


def run_backtest(page: Page, params: dict[str, int] | None = None) -> dict[str, Any]:
    """Set ``params``, press Run backtest, wait for the result (or a failure's toast); the
    backtest state. Fails with the toast's text if the run failed."""
    for name, value in (params or {}).items():
        page.locator(f"[data-param={name}]").fill(str(value))
    before = state(page, "backtest")["runs"], len(state(page, "toasts"))
    page.get_by_role("button", name="Run backtest").click()
    return wait_for_backtest(page, *before)


def wait_for_backtest(page: Page, runs: int, toasts: int) -> dict[str, Any]:
    """Wait until run number ``runs + 1`` finished or a toast beyond ``toasts`` appeared."""
    page.wait_for_function(
        """([runs, toasts]) => { const b = window.__app.backtest();
            return !b.running && (b.runs > runs || window.__app.toasts().length > toasts); }""",
        arg=[runs, toasts], timeout=WAIT_MS,
    )
    result = state(page, "backtest")
    assert result["runs"] == runs + 1, f"backtest failed: {state(page, 'toasts')[toasts:]}"
    return result


def run_backtest_answer(page: Page, strategy: str | None = None,
                        params: dict[str, int] | None = None) -> dict[str, Any]:
    """Choose ``strategy`` (if given), set ``params``, run the backtest and return the
    /backtest answer the app received (its JSON), once the app has drawn it."""
    if strategy is not None:
        page.get_by_label("Strategy", exact=True).select_option(strategy)
    with page.expect_response(lambda r: "/backtest" in r.url and r.request.method == "POST",
                              timeout=WAIT_MS) as answer:
        run_backtest(page, params)
    return answer.value.json()


def show_trade_from_list(page: Page, k: int) -> dict[str, Any]:
    """Scroll the trade list to trade ``k`` (its index in the answer), click it and wait until
    the chart shows it (older bars paged in first when needed); the backtest state."""
    before = state(page, "backtest")["reveals"]
    page.evaluate(
        """(k) => { const scroller = document.querySelector('#trades-table .trade-scroll');
            const order = window.__app.tradeOrder();
            scroller.scrollTop = Math.max(0, order.indexOf(k) * 34 - 40);
            scroller.dispatchEvent(new Event('scroll')); }""", k)
    page.locator(f"#trades-table [data-trade='{k}']").click()
    page.wait_for_function("(n) => window.__app.backtest().reveals > n", arg=before,
                           timeout=WAIT_MS)
    page.wait_for_function("!window.__app.data().loadingOlder", timeout=WAIT_MS)
    return state(page, "backtest")
