"""The web app behind ACCESS_TOKEN: the login form and its cookie."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.browser.app_driver import WAIT_MS, state
from tests.browser.conftest import new_context, screenshot
from tests.conftest import Platform


def test_login_form_lets_a_trader_in_and_a_wrong_token_out(browser: Browser, app_url: str,
                                                          platform: Platform, feed_ready):
    context = new_context(browser, app_url)
    try:
        page = context.new_page()
        page.goto(app_url)
        dialog = page.get_by_role("dialog", name="This platform is private")
        expect(dialog).to_be_visible(timeout=WAIT_MS)
        assert not context.cookies(), "nothing is granted before the login"

        page.get_by_label("Access token").fill("not-the-access-token")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("alert").filter(has_text="Wrong access token")).to_be_visible()
        screenshot(page, "login-refused")
        assert not context.cookies()

        page.get_by_label("Access token").fill(platform.env["ACCESS_TOKEN"])
        page.get_by_role("button", name="Log in").click()
        expect(dialog).to_be_hidden()
        page.wait_for_function("window.__app && window.__app.ready()", timeout=WAIT_MS)
        assert state(page, "session")["token"], "the session starts once logged in"
        assert state(page, "chart")["bars"] > 0, "and the remembered chart loads"
        (cookie,) = context.cookies()
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert platform.env["ACCESS_TOKEN"] not in cookie["value"], "the cookie is not the token"
        screenshot(page, "logged-in")
    finally:
        context.close()
