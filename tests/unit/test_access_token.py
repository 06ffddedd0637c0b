"""The access token guard, the health summary and the loopback checks: pure code, no server."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from deployments.common.access_token import COOKIE_NAME, AccessGuard, make_guard
from deployments.common.loopback_binds import is_loopback, loopback_address
from deployments.frontend.health import components, is_loopback_client, overall

TOKEN = "correct-horse-battery-staple-42"


@pytest.fixture
def guard() -> AccessGuard:
    return AccessGuard(SecretStr(TOKEN))


def test_no_token_means_no_guard():
    assert make_guard(None) is None
    assert isinstance(make_guard(SecretStr(TOKEN)), AccessGuard)


@pytest.mark.parametrize(("authorization", "admitted"), [
    (f"Bearer {TOKEN}", True),
    (f"bearer {TOKEN}", True),
    (f"Bearer  {TOKEN} ", True),
    (f"Bearer {TOKEN}x", False),
    (f"Bearer {TOKEN[:-1]}", False),
    (f"Basic {TOKEN}", False),
    (TOKEN, False),
    ("Bearer ", False),
    ("", False),
    (None, False),
])
def test_bearer_credentials(guard: AccessGuard, authorization, admitted):
    assert guard.admits(authorization, None) is admitted


def test_the_login_cookie_stands_for_the_token_without_holding_it(guard: AccessGuard):
    cookie = guard.cookie_value()
    assert TOKEN not in cookie and len(cookie) == 64
    assert guard.admits(None, f"theme=dark; {COOKIE_NAME}={cookie}")
    assert not guard.admits(None, f"{COOKIE_NAME}={TOKEN}"), "the raw token is not a cookie"
    assert not guard.admits(None, f"{COOKIE_NAME}={cookie[:-1]}0")
    assert not guard.admits(None, "other=1")
    assert not guard.admits(None, 'broken="')
    other = AccessGuard(SecretStr(TOKEN + "-rotated"))
    assert not other.admits(None, f"{COOKIE_NAME}={cookie}"), "a new token voids old cookies"


def test_matches_is_exact(guard: AccessGuard):
    assert guard.matches(TOKEN)
    assert not guard.matches(TOKEN.upper())
    assert not guard.matches("")


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True),
    ("0.0.0.0", False), ("192.0.2.2", False), ("10.0.0.1", False), ("example.com", False),
])
def test_loopback_hosts(host: str, loopback: bool):
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(("client", "loopback"), [
    ("127.0.0.1", True), ("::1", True), ("192.0.2.2", False), (None, False), ("testclient", False),
])
def test_loopback_clients(client, loopback: bool):
    assert is_loopback_client(client) is loopback


def test_all_interface_grpc_addresses_are_narrowed_to_loopback():
    assert loopback_address("[::]:0") == "127.0.0.1:0"
    assert loopback_address("0.0.0.0:8080") == "127.0.0.1:8080"
    assert loopback_address("10.1.2.3:9000") == "10.1.2.3:9000"
    assert loopback_address("127.0.0.1:5") == "127.0.0.1:5"


def test_health_summary_is_one_word_per_part():
    reports = {
        "iqfeed-watchdog": {"state": "connected"},
        "embedded-redis": {"up": True},
        "session-janitor": {"running": True},
        "optimize-scheduler": {"jobs_running": 0},
        "iqfeed": {"requests": 3},
    }
    summary = components(True, reports)
    assert summary == {"redis": "ok", **{name: "ok" for name in reports}}
    assert overall(summary) == "ok"
    down = components(False, {**reports, "iqfeed-watchdog": {"state": "down"},
                              "embedded-redis": {"up": False}, "iqfeed": None})
    assert down == {"redis": "degraded", "iqfeed-watchdog": "degraded",
                    "embedded-redis": "degraded", "session-janitor": "ok",
                    "optimize-scheduler": "ok", "iqfeed": "degraded"}
    assert overall(down) == "degraded"
    assert set(map(type, down.values())) == {str}, "no numbers, paths or errors"
