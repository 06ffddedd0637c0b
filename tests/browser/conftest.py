"""Browser tests: Debian's chromium, headless, driven by Playwright against the running platform.

One browser for the whole session; each test gets a fresh context (clean storage) at the
platform's URL. The web app is built first (``make frontend``, a no-op when up to date).
Chromium is ``CHROMIUM_PATH`` (default /usr/bin/chromium, installed by ``.ci/run``); Playwright's
own browser downloads are never used. Screenshots go to ``test-output/browser/``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from deployments.charts.tiers import exchange_today
from deployments.common.settings import PROJECT_ROOT
from tests.conftest import Platform

SCREENSHOTS = PROJECT_ROOT / "test-output" / "browser"
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The chromium executable the tests drive."""
    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not Path(path).is_file():
        pytest.fail(f"no chromium at {path}: `apt-get install chromium` or set CHROMIUM_PATH")
    return path


@pytest.fixture(scope="session")
def frontend_built() -> Path:
    """frontend/dist, built (or found up to date) by ``make frontend``."""
    make = shutil.which("make")
    assert make, "make is needed to build the web app"
    subprocess.run([make, "--no-print-directory", "frontend"], cwd=PROJECT_ROOT, check=True)
    dist = PROJECT_ROOT / "frontend" / "dist"
    assert (dist / "index.html").is_file()
    return dist


# Package scope: while Playwright's sync API is open, this thread counts as running an event
# loop, which pytest-asyncio's tests elsewhere in the suite cannot share.
@pytest.fixture(scope="package")
def playwright_driver() -> Iterator[Playwright]:
    """The Playwright driver (its Node process), for the browser tests."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright_driver: Playwright, chromium_path: str) -> Iterator[Browser]:
    """One headless chromium for every browser test."""
    browser = playwright_driver.chromium.launch(executable_path=chromium_path, headless=True)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def app_url(platform: Platform, frontend_built: Path) -> str:
    """The web app's URL on the platform under test."""
    return f"{platform.base_url}/"


def _first_visit_prefs() -> dict[str, object]:
    """What a new context remembers: a cheap daily chart, so the app's first load is quick."""
    today = exchange_today()
    return {"chart": {"symbol": "SPY", "interval": "1d", "rth": True,
                      "start": str(today - timedelta(days=200)), "end": str(today)}}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator:
    """Remember each phase's report on the test item, for the failure screenshot."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def new_context(browser: Browser, app_url: str) -> BrowserContext:
    """A fresh context (clean storage and cookies) that remembers a cheap first chart."""
    context = browser.new_context(viewport=VIEWPORT, base_url=app_url)
    prefs = json.dumps(json.dumps(_first_visit_prefs()))
    context.add_init_script(
        f"if (!localStorage.getItem('ray-trader:prefs:v1')) "
        f"localStorage.setItem('ray-trader:prefs:v1', {prefs});"
    )
    return context


def logged_in_page(browser: Browser, base_url: str, access_token: str,
                   init_script: str | None = None) -> tuple[BrowserContext, Page, list[str]]:
    """A fresh context at the app of the platform at ``base_url``, logged in through the login
    route, once the app has its session and strategies (``init_script`` runs before the app);
    also the list the page's uncaught errors go to."""
    context = new_context(browser, f"{base_url}/")
    login = context.request.post(f"{base_url}/login", data={"access_token": access_token})
    assert login.status == 204, login.text()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    if init_script:
        page.add_init_script(init_script)
    page.goto(f"{base_url}/")
    page.wait_for_function("window.__app && window.__app.ready()", timeout=300_000)
    return context, page, errors


@pytest.fixture
def page(browser: Browser, app_url: str, platform: Platform,
         request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context at the app, logged in (the test platform has an access token)
    through the login route, once the app has its session and strategies."""
    context, page, errors = logged_in_page(browser, platform.base_url,
                                           platform.env["ACCESS_TOKEN"])
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        screenshot(page, f"FAILED-{request.node.name}")
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def screenshot(page: Page, name: str) -> Path:
    """Save a screenshot of the whole page under test-output/browser/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path)
    return path
