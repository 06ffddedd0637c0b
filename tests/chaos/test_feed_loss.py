"""kill -9 of the IQFeed simulator while a cold /historical request waits on it.

The request must not wait out the feed's deadline (``IQFEED_TIMEOUT_S``): the dropped
connection ends it at once with 503 and ``Retry-After``. Once the ``iqfeed-watchdog`` has
relaunched the simulator, the same request is answered.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import httpx
import ray
import redis

from deployments import PLATFORM_NAMESPACE
from deployments.iqfeed.feed_actor import ACTOR_NAME as FEED
from tests.conftest import Platform
from tests.support.feed_expectations import regular_minutes, trading_days_back
from tests.support.launched_feed import _switch as switch_simulator_fault
from tests.support.launched_feed import watchdog_status
from tests.support.paced_sessions import initiate_paced
from tests.support.polling import wait_for
from tests.support.session_calls import session_headers

SYMBOL = "KO"
HELD_S = "60"
"""The simulator holds each history request this long (longer than the feed's deadline): only
the kill can end the request early."""


def _feed_requests() -> int:
    feed = ray.get_actor(FEED, namespace=PLATFORM_NAMESPACE)
    return ray.get(feed.stats.remote(), timeout=10)["requests"]


def _forget_symbol(client: redis.Redis, symbol: str) -> None:
    """Make the chart cold: drop every cached bar, result and lock of ``symbol``."""
    for pattern in (f"v1:bars:*:{symbol}:*", f"v1:agg:{symbol}:*", f"v1:lock:*{symbol}*"):
        for key in client.scan_iter(match=pattern, count=1000):
            client.delete(key)


def test_killed_simulator_fails_a_cold_chart_fast_then_serves_it(
        platform: Platform, http: httpx.Client, feed_ready, redis_client, recovery):
    token = initiate_paced(http)
    days = trading_days_back(2, skip=12)
    params = {"symbol": SYMBOL, "interval": "1m", "start": str(days[0]), "end": str(days[-1])}
    _forget_symbol(redis_client, SYMBOL)
    launched = watchdog_status()
    admin_port = int(platform.env["IQFEED_ADMIN_PORT"])
    asked = _feed_requests()
    answers: list[tuple[httpx.Response, float]] = []

    def ask() -> None:
        answer = http.get("/historical/", params=params, headers=session_headers(token),
                          timeout=60)
        answers.append((answer, time.monotonic()))

    switch_simulator_fault(admin_port, "DELAY_S", HELD_S)
    killed = None
    try:
        thread = threading.Thread(target=ask)
        thread.start()
        assert wait_for(lambda: _feed_requests() > asked, 30), "the request reached the feed"
        time.sleep(0.3)  # its lines are on the simulator's socket now
        assert not answers, "the simulator holds the request"
        os.kill(launched["pid"], signal.SIGKILL)
        killed = time.monotonic()
        thread.join(60)
    finally:
        if killed is None:  # not killed: the held requests must not outlive the test
            switch_simulator_fault(admin_port, "DELAY_S", "0")
    (answer, at), = answers
    recovery("cold /historical answered 503 after simulator kill -9", at - killed)
    assert answer.status_code == 503, answer.text
    assert int(answer.headers["Retry-After"]) > 0
    body = answer.json()
    assert body["error"] == "feed_unavailable", body
    # The dropped connection ended it, not the feed's deadline ("too slow").
    assert "unavailable" in body["detail"][0]["message"], body

    def relaunched() -> bool:
        status = watchdog_status()
        return status["restarts"] > launched["restarts"] and status["state"] == "connected"

    assert wait_for(relaunched, 30), watchdog_status()
    recovery("watchdog relaunched and connected the simulator", time.monotonic() - killed)
    again = http.get("/historical/", params=params, headers=session_headers(token), timeout=60)
    recovery("kill -> the same /historical request answered 200", time.monotonic() - killed)
    assert again.status_code == 200, again.text
    assert again.json()["total"] == regular_minutes(days)
