"""A historical replica killed (SIGKILL) under concurrent load on warm /historical.

What the platform promises: the other replica answers at once, so no request sent after the kill
fails and none waits more than 5 s because a replica died (a stated product requirement, the one
timing bound in the suite). What Ray Serve cannot promise: a request the dead replica had already
accepted is not replayed elsewhere; the proxy answers it 500 (or drops it). serve.yaml bounds how
many those can be (the replica's ``max_ongoing_requests``), and a GET is safe to send again: the
clients here resend a failed one once after 0.25 s, as the web app does, and with that no request
fails and none waits more than 5 s. The test checks both and prints the figures.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

import httpx
from ray.serve.context import _get_global_client
from ray.serve.schema import DeploymentDetails, ReplicaState, ServeInstanceDetails

from tests.support.feed_expectations import trading_days_back
from tests.support.polling import wait_for
from tests.support.session_calls import session_headers

CLIENTS = 16
SESSIONS = 4
LOAD_S = 24.0
KILL_AT_S = 8.0
REQUIRED_MAX_WAIT_S = 5.0
RESENT = (0, 500)
RESEND_AFTER_S = 0.25


def _historical() -> DeploymentDetails:
    details = ServeInstanceDetails(**_get_global_client().get_serve_details())
    return details.applications["historical"].deployments["HistoricalIngress"]


def _running_ids() -> set[str]:
    return {r.replica_id for r in _historical().replicas if r.state == ReplicaState.RUNNING}


def _initiate(http: httpx.Client) -> str:
    for _ in range(30):
        answer = http.get("/utils/session/initiate")
        if answer.status_code != 429:
            assert answer.status_code == 200, answer.text
            return answer.json()["session_token"]
        time.sleep(float(answer.headers.get("retry-after", "1")))
    raise AssertionError("no session: initiate kept answering 429")


async def _load(platform, params: dict[str, str], tokens: list[str]) -> dict:
    """Closed-loop clients for LOAD_S; one replica killed at KILL_AT_S and watched until its
    replacement runs. Returns the samples (started, ended, status), the kill's time and the
    replacement's on the same clock, and the killed replica's id."""
    samples: list[tuple[float, float, int, int]] = []
    run: dict = {"samples": samples, "replaced_at": None}
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=platform.base_url, headers=platform.auth_headers,
                                 limits=limits, timeout=60) as client:
        clock = time.perf_counter()
        until = clock + LOAD_S

        async def one_client(token: str) -> None:
            while (started := time.perf_counter()) < until:
                status = await one_get(token)
                final = status
                if status in RESENT:  # what the web app does with a failed GET
                    await asyncio.sleep(RESEND_AFTER_S)
                    final = await one_get(token)
                samples.append((started - clock, time.perf_counter() - clock, status, final))

        async def one_get(token: str) -> int:
            try:
                return (await client.get("/historical/", params=params,
                                         headers=session_headers(token))).status_code
            except httpx.HTTPError:
                return 0  # no answer at all: a dropped connection or a timeout

        async def kill_and_watch() -> None:
            await asyncio.sleep(KILL_AT_S)
            replicas = await asyncio.to_thread(_historical)
            before = {r.replica_id for r in replicas.replicas if r.state == ReplicaState.RUNNING}
            victim = next(r for r in replicas.replicas if r.state == ReplicaState.RUNNING)
            run["killed_at"] = time.perf_counter() - clock
            run["victim"] = victim.replica_id
            os.kill(victim.pid, signal.SIGKILL)
            while time.perf_counter() < until:
                running = await asyncio.to_thread(_running_ids)
                if victim.replica_id not in running and running - before:
                    run["replaced_at"] = time.perf_counter() - clock
                    return
                await asyncio.sleep(0.25)

        await asyncio.gather(kill_and_watch(),
                             *(one_client(tokens[i % len(tokens)]) for i in range(CLIENTS)))
    return run


def test_killing_a_historical_replica_under_load(platform, http, feed_ready):
    assert wait_for(lambda: len(_running_ids()) >= 2, 120), (
        f"serve.yaml keeps two historical replicas: {_historical().replicas}")
    days = trading_days_back(5, skip=12)
    params = {"symbol": "MSFT", "interval": "1m", "start": str(days[0]), "end": str(days[-1])}
    tokens = [_initiate(http) for _ in range(SESSIONS)]
    for token in tokens:  # the first one fills the caches; all are warm from here on
        answer = http.get("/historical/", params=params, headers=session_headers(token),
                          timeout=120)
        assert answer.status_code == 200, answer.text
    per_replica = _historical().deployment_config.max_ongoing_requests

    run = asyncio.run(_load(platform, params, tokens))
    samples, killed_at, victim = run["samples"], run["killed_at"], run["victim"]
    replaced = (f"{run['replaced_at'] - killed_at:.1f} s" if run["replaced_at"] is not None
                else f"not within {LOAD_S - killed_at:.0f} s")
    in_flight = [s for s in samples if s[0] < killed_at < s[1]]
    after = [s for s in samples if s[0] >= killed_at]
    failed_in_flight = [s for s in in_flight if s[2] != 200]
    longest = max(s[1] - s[0] for s in in_flight + after)
    print(f"\n{len(samples)} requests by {CLIENTS} clients over {LOAD_S:.0f} s; replica {victim} "
          f"killed at {killed_at:.1f} s with {len(in_flight)} requests in flight, "
          f"{len(failed_in_flight)} of them failed {sorted({s[2] for s in failed_in_flight})} "
          f"and answered {sorted({s[3] for s in failed_in_flight})} when sent again; "
          f"{len(after)} sent after the kill, "
          f"{sum(s[2] != 200 for s in after)} failed; longest wait of these "
          f"{longest * 1000:.0f} ms; replacement running after {replaced}")

    assert all(s[2] == 200 for s in samples if s[1] < killed_at), "steady load: no errors"
    assert all(s[2] == 200 for s in after), [s for s in after if s[2] != 200][:5]
    # A request the dead replica held ends as a 500 or, when the proxy's connection to the
    # client drops with it, with no answer (0); never a hang, and the web app resends a GET.
    assert all(s[2] in (0, 500) for s in failed_in_flight), failed_in_flight
    assert len(failed_in_flight) <= per_replica, (
        "only requests the dead replica had accepted may fail")
    assert all(s[3] == 200 for s in samples), "resent once, every request is answered"
    assert longest < REQUIRED_MAX_WAIT_S, f"a request waited {longest:.1f} s around the kill"
    assert wait_for(lambda: victim not in _running_ids() and len(_running_ids()) >= 2, 120), (
        "the killed replica is replaced")
