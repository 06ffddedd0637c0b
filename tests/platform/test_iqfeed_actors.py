"""The ``iqfeed`` feed actor and the ``iqfeed-watchdog`` on the test cluster, over real TCP."""

from __future__ import annotations

import os
import signal
from datetime import UTC, date, datetime

import httpx
import numpy as np
import pytest
import ray

from deployments import PLATFORM_NAMESPACE
from deployments.common.settings import load_settings
from deployments.iqfeed.feed_actor import ACTOR_NAME as FEED
from deployments.iqfeed.launch import MASK
from deployments.iqfeed.watchdog import IQFeedWatchdog
from deployments.launcher import free_port
from feeds.iqfeed import FeedUnavailable, SymbolNotFound
from feeds.market_calendar import session_bounds_utc
from tests.support.feed_expectations import expected_bars, recent_trading_day
from tests.support.launched_feed import simulator_fault, watchdog_status
from tests.support.polling import wait_for

SECRET = "dtn-secret-do-not-show"


@pytest.fixture
def feed_up(feed_ready: None) -> ray.actor.ActorHandle:
    """The feed actor, once the watchdog has the simulator running and connected."""
    return ray.get_actor(FEED, namespace=PLATFORM_NAMESPACE)


def test_feed_actor_fetches_bars_from_the_launched_simulator(feed_up):
    day = recent_trading_day()
    start, end = session_bounds_utc(day)
    bars = ray.get(feed_up.fetch_bars.remote("NVDA", start, end, 60))
    expected = expected_bars("NVDA", day, 60, regular_hours=True)
    np.testing.assert_array_equal(bars.t, expected.t.to_numpy())
    np.testing.assert_array_equal(bars.v, expected.v.to_numpy())
    status = watchdog_status()
    assert status["program"] == "IQFeed simulator" and status["pid"] > 0


def test_unknown_symbol_reaches_the_caller_typed(feed_up):
    start, end = session_bounds_utc(recent_trading_day())
    with pytest.raises(SymbolNotFound):
        ray.get(feed_up.fetch_bars.remote("NOSUCHSYM", start, end, 60))


def test_killed_feed_is_relaunched_within_10_s_and_outage_fails_fast(feed_up):
    before = watchdog_status()
    start, end = session_bounds_utc(recent_trading_day())
    os.kill(before["pid"], signal.SIGKILL)

    # FeedUnavailable, not FeedTimeout: the request ends on the refused connection at once.
    with pytest.raises(FeedUnavailable):
        ray.get(feed_up.fetch_daily.remote("SPY", _date(start), _date(end)))

    def relaunched() -> bool:
        status = watchdog_status()
        return status["restarts"] > before["restarts"] and status["state"] == "connected"

    assert wait_for(relaunched, 10), "relaunched and connected within 10 s of the kill"
    assert len(ray.get(feed_up.fetch_bars.remote("SPY", start, end, 60))) == (end - start) // 60


def test_health_reports_the_feed_and_a_dtn_disconnect(feed_up, http: httpx.Client, platform):
    health = http.get("/health").json()
    assert health["iqfeed"]["watchdog"]["state"] == "connected"
    assert health["iqfeed"]["feed"]["requests"] >= 1
    assert health["status"] == "ok"
    with simulator_fault(int(platform.env["IQFEED_ADMIN_PORT"]), "NOT_CONNECTED"):
        assert wait_for(lambda: watchdog_status()["state"] == "not_connected", 10)
        health = http.get("/health").json()
        assert health["status"] == "degraded"
        assert "Not Connected" in health["iqfeed"]["watchdog"]["last_error"]
    assert wait_for(lambda: watchdog_status()["state"] == "connected", 10)


def test_dtn_launch_never_shows_the_password(platform):
    settings = load_settings({
        "dtn_product_id": "PRODUCT", "dtn_login": "trader", "dtn_password": SECRET,
        "iqfeed_admin_port": free_port(), "iqfeed_lookup_port": free_port(),
    })
    watchdog = IQFeedWatchdog.options(
        name="test-dtn-watchdog", namespace=PLATFORM_NAMESPACE).remote(settings)
    try:
        ray.get(watchdog.check_now.remote(), timeout=60)
        status = ray.get(watchdog.status.remote())
        assert status["program"] == "IQConnect" and status["state"] in ("down", "starting")
        assert "wine" in status["command"] and MASK in status["command"]
        assert "trader" not in status["command"] and "PRODUCT" not in status["command"]
        assert SECRET not in repr(status)
    finally:
        ray.kill(watchdog)


def _date(epoch: int) -> date:
    return datetime.fromtimestamp(epoch, UTC).date()
