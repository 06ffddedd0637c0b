"""kill -9 of the embedded Valkey server of a platform launched as ``make run`` runs it.

The ``embedded-redis`` actor pings its server every second and relaunches a dead one on the
same port from its append-only file (synced every second). What a trader had before the kill
must still be there after it: the cached chart (answered without the feed), the session (a
heartbeat works), and an optimization running across the outage ends as an undisturbed run of
the same job does. While Valkey is down the platform answers 503 with ``Retry-After``, never
a 500 or a hang; it answers again within 10 s of the kill.

The /historical answer does not say whether it was a cache hit: a hit is an answer for which
the ``iqfeed`` actor made no request (``/health``: ``iqfeed.feed.requests``), its result key
still in Valkey.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.support.feed_expectations import trading_days_back
from tests.support.launched_platform import LaunchedPlatform
from tests.support.optimize_jobs import big_job_body, finish, job, submit
from tests.support.paced_sessions import initiate_paced
from tests.support.polling import wait_for
from tests.support.session_calls import session_headers

RECOVERY_LIMIT_S = 10.0
"""The issue's bound: the platform answers again within 10 s of the kill."""
AOF_SYNC_S = 1.5
"""Valkey fsyncs its append-only file once a second: what is older than this is durable."""
JOB_TIMEOUT_S = 120
JOB_STALL_S = 30
"""The job takes ~10-15 s undisturbed here, its progress moving every second or two: one whose
status and progress stand still for 30 s is stuck (a bound on waiting, not a figure under
test)."""


@pytest.fixture(scope="module")
def launched_http(launched: LaunchedPlatform) -> Iterator[httpx.Client]:
    """A client of the launched platform, once its feed is connected."""
    launched.wait_feed_connected()
    with launched.client(timeout_s=120) as client:
        yield client


def _feed_requests(http: httpx.Client) -> int:
    return http.get("/health").json()["iqfeed"]["feed"]["requests"]


def _chart(http: httpx.Client, token: str, timeout_s: float = 120) -> httpx.Response:
    days = trading_days_back(5, skip=3)
    return http.get("/historical/", params={"symbol": "AAPL", "interval": "5m",
                                            "start": str(days[0]), "end": str(days[-1])},
                    headers=session_headers(token), timeout=timeout_s)


class _Load:
    """Keeps asking for the cached chart and heartbeating on a thread of its own, counting the
    answers (status, Retry-After present) and noting any that is neither 200 nor a 503."""

    def __init__(self, launched: LaunchedPlatform, token: str) -> None:
        self._launched = launched
        self._token = token
        self._stop = threading.Event()
        self.answers: Counter[tuple[str, int]] = Counter()
        self.unexpected: list[str] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _Load:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        with self._launched.client(timeout_s=15) as http:
            while not self._stop.is_set():
                for name, call in (
                    ("chart", lambda: _chart(http, self._token, timeout_s=15)),
                    ("heartbeat", lambda: http.post("/utils/session/heartbeat",
                                                    headers=session_headers(self._token))),
                ):
                    try:
                        answer = call()
                    except httpx.HTTPError as error:
                        self.unexpected.append(f"{name}: {type(error).__name__} {error}")
                        continue
                    self.answers[(name, answer.status_code)] += 1
                    if answer.status_code == 503 and "Retry-After" not in answer.headers:
                        self.unexpected.append(f"{name}: 503 without Retry-After")
                    elif answer.status_code not in (200, 503):
                        self.unexpected.append(f"{name}: {answer.status_code} {answer.text[:300]}")
                time.sleep(0.05)


def _progress(http: httpx.Client, job_id: str, token: str) -> tuple[int, int]:
    state = job(http, job_id, token)["progress"]
    return state["done"], state["total"]


@dataclass
class _Killed:
    """What the module's one kill left: the state made before it and how the platform came
    back."""

    token: str
    chart: dict
    feed_requests: int
    body: dict
    job_id: str
    pid: int
    killed: float
    answered_after: float | None
    load: _Load


@pytest.fixture(scope="module")
def valkey_killed(launched: LaunchedPlatform, launched_http: httpx.Client) -> _Killed:
    """A session, a cached chart and a running optimization; then kill -9 of the Valkey server
    under load, until a heartbeat of that session is answered again (30 s at most)."""
    http = launched_http
    token = initiate_paced(http)
    before = _feed_requests(http)
    cold = _chart(http, token)
    assert cold.status_code == 200, cold.text
    assert _feed_requests(http) > before, "the first load came from the feed"
    body = big_job_body()
    job_id = submit(http, token, body)  # admission loads (and caches) the job's chart
    fetched = _feed_requests(http)
    warm = _chart(http, token)
    assert warm.status_code == 200 and _feed_requests(http) == fetched, "a cache hit"
    assert wait_for(lambda: 0 < (p := _progress(http, job_id, token))[0] < p[1], 120), (
        job(http, job_id, token))
    time.sleep(AOF_SYNC_S)  # the session, the chart and the job's record are on disk

    (pid,) = launched.valkey_pids()
    with _Load(launched, token) as load, launched.client(timeout_s=2) as probe:
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()

        def answers() -> bool:
            try:
                return probe.post("/utils/session/heartbeat",
                                  headers=session_headers(token)).status_code == 200
            except httpx.HTTPError:
                return False

        answered_after = time.monotonic() - killed if wait_for(answers, 30) else None
        time.sleep(1)  # some load after the recovery, too
    print(f"\nanswers under load across the kill: {dict(load.answers)}")
    return _Killed(token, cold.json(), fetched, body, job_id, pid, killed, answered_after, load)


def test_platform_answers_again_within_10_s(launched: LaunchedPlatform, launched_http,
                                            valkey_killed: _Killed, recovery):
    after = valkey_killed.answered_after
    assert after is not None, "no heartbeat answered within 30 s of the kill"
    recovery("Valkey kill -9 -> the platform answers again (heartbeat 200)", after)
    assert after <= RECOVERY_LIMIT_S, f"answered again only after {after:.1f} s"
    assert not valkey_killed.load.unexpected, valkey_killed.load.unexpected[:10]
    server = launched_http.get("/health").json()["redis"]["server"]
    assert server["up"] and server["restarts"] >= 1, server
    assert launched.valkey_pids() and valkey_killed.pid not in launched.valkey_pids()


def test_chart_cached_before_the_kill_is_still_a_cache_hit(launched: LaunchedPlatform,
                                                           launched_http,
                                                           valkey_killed: _Killed):
    again = _chart(launched_http, valkey_killed.token)
    assert again.status_code == 200, again.text
    assert again.json()["bars"] == valkey_killed.chart["bars"]
    assert _feed_requests(launched_http) == valkey_killed.feed_requests, (
        "answered from the relaunched Valkey, not the feed")
    assert launched.valkey_client().keys("v1:agg:AAPL:rth:5m:*"), "the result is in Valkey"


def test_session_created_before_the_kill_is_still_valid(launched_http, valkey_killed: _Killed):
    beat = launched_http.post("/utils/session/heartbeat",
                              headers=session_headers(valkey_killed.token))
    assert beat.status_code == 200, beat.text
    assert beat.json()["session_token"] == valkey_killed.token


def test_optimization_running_across_the_kill_ends_as_an_undisturbed_run(
        launched_http, valkey_killed: _Killed, recovery):
    http, token = launched_http, valkey_killed.token
    disturbed = finish(http, valkey_killed.job_id, token, JOB_TIMEOUT_S, JOB_STALL_S)
    recovery("Valkey kill -9 -> the optimization running across it ended",
             time.monotonic() - valkey_killed.killed)
    assert disturbed["status"] == "succeeded", disturbed
    undisturbed = finish(http, submit(http, token, valkey_killed.body), token)
    assert undisturbed["status"] == "succeeded", undisturbed
    assert disturbed["result"]["surface"] == undisturbed["result"]["surface"]
    assert disturbed["result"]["top"] == undisturbed["result"]["top"]
