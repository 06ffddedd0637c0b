"""32 clients on warm /historical for a minute, with session heartbeats, and a replica killed.

One run, one Serve instance: the no-op Serve floor and warm /historical (5000 one-minute bars)
with one client, both sequential; then ``CLIENTS`` clients for ``LOAD_S`` seconds, each with its
own session that it heartbeats every ``HEARTBEAT_S``, each sending its next chart request as soon
as the last one answered. ``KILL_AT_S`` into the load one historical replica is killed with
SIGKILL: printed are the longest wait of the requests in flight at the kill or sent in the
``AROUND_KILL_S`` after it, the errors among them, and how long until the replacement replica
runs. The load's own figures are those of the requests sent before the kill.

Targets (reported, never asserted): single-client p50 <= 1.5x the floor; 32-client p50 <= 4x the
single-client p50; 0 errors; no request waits more than 5 s because a replica died.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta

import httpx
import numpy as np
from ray.serve.context import _get_global_client
from ray.serve.schema import ReplicaDetails, ReplicaState, ServeInstanceDetails

from bench.latency import Latency, Sample, closed_loop, measure
from bench.serve_floor import NOOP_ROUTE, platform_with_floor
from feeds.market_calendar import trading_days
from tests.support.session_calls import SESSION_HEADER

CLIENTS = 32
LOAD_S = 60.0
KILL_AT_S = 40.0
AROUND_KILL_S = 10.0
HEARTBEAT_S = 5.0
APP, DEPLOYMENT = "historical", "HistoricalIngress"


def historical_replicas() -> list[ReplicaDetails]:
    """The historical app's replicas as the Serve controller lists them (state, pid, id)."""
    details = ServeInstanceDetails(**_get_global_client().get_serve_details())
    app = details.applications.get(APP)
    return list(app.deployments[DEPLOYMENT].replicas) if app else []


def _running() -> list[ReplicaDetails]:
    return [r for r in historical_replicas() if r.state == ReplicaState.RUNNING]


def _chart() -> dict[str, str]:
    days = trading_days(date.today() - timedelta(days=40), date.today() - timedelta(days=1))
    return {"symbol": "SPY", "interval": "1m", "start": str(days[-20]), "end": str(days[-1])}


def _initiate(client: httpx.Client, count: int) -> list[str]:
    """``count`` sessions, at a pace the per-address initiate limit allows (429: wait, retry)."""
    tokens: list[str] = []
    while len(tokens) < count:
        answer = client.get("/utils/session/initiate")
        if answer.status_code == 429:
            time.sleep(float(answer.headers.get("retry-after", "1")))
            continue
        answer.raise_for_status()
        tokens.append(answer.json()["session_token"])
        time.sleep(0.1)
    return tokens


class _Watch:
    """Replica counts over the load (a thread polling the controller), and the kill."""

    def __init__(self) -> None:
        self.counts: list[tuple[float, int]] = []
        self.killed: ReplicaDetails | None = None
        self.killed_at: float | None = None
        self.replaced_after_s: float | None = None
        self._before: set[str] = set()
        self._stop = threading.Event()

    def run(self, clock: float) -> None:
        """Poll every 0.5 s until stopped; after a kill, note when a new replica runs."""
        while not self._stop.wait(0.5):
            running = _running()
            now = time.perf_counter() - clock
            self.counts.append((now, len(running)))
            if self.killed is not None and self.replaced_after_s is None:
                ids = {r.replica_id for r in running}
                if self.killed.replica_id not in ids and ids - self._before:
                    self.replaced_after_s = now - self.killed_at

    def kill_one(self, clock: float) -> None:
        """SIGKILL one running historical replica's process."""
        running = _running()
        self._before = {r.replica_id for r in running}
        self.killed = running[0]
        self.killed_at = time.perf_counter() - clock
        os.kill(self.killed.pid, signal.SIGKILL)

    def stop(self) -> None:
        """End the polling."""
        self._stop.set()


async def _load(base_url: str, headers: dict[str, str], tokens: list[str],
                params: dict[str, str], watch: _Watch) -> tuple[list[Sample], list[Sample], float]:
    samples: list[Sample] = []
    beats: list[Sample] = []
    limits = httpx.Limits(max_connections=2 * CLIENTS, max_keepalive_connections=2 * CLIENTS)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits,
                                 timeout=60) as client:
        def chart_request(token: str) -> Callable:
            async def request(c: httpx.AsyncClient) -> httpx.Response:
                return await c.get("/historical/", params=params,
                                   headers={SESSION_HEADER: token})
            return request

        async def heartbeats(index: int, token: str, clock: float, until: float) -> None:
            await asyncio.sleep(HEARTBEAT_S * index / CLIENTS)  # spread over the period
            while (started := time.perf_counter()) < until:
                try:
                    status = (await client.post("/utils/session/heartbeat",
                                                headers={SESSION_HEADER: token})).status_code
                except httpx.HTTPError:
                    status = 0
                beats.append(Sample(started - clock, time.perf_counter() - clock, status))
                await asyncio.sleep(min(HEARTBEAT_S, max(0.0, until - time.perf_counter())))

        async def kill(clock: float) -> None:
            await asyncio.sleep(KILL_AT_S)
            await asyncio.to_thread(watch.kill_one, clock)

        clock = time.perf_counter()
        until = clock + LOAD_S
        poller = threading.Thread(target=watch.run, args=(clock,), daemon=True)
        poller.start()
        await asyncio.gather(
            kill(clock),
            *(closed_loop(client, chart_request(t), clock, until, samples) for t in tokens),
            *(heartbeats(i, t, clock, until) for i, t in enumerate(tokens)))
        elapsed = time.perf_counter() - clock
    return samples, beats, elapsed


def _errors(samples: list[Sample]) -> str:
    bad = [s.status for s in samples if not s.ok]
    if not bad:
        return "0 errors"
    statuses, counts = np.unique(bad, return_counts=True)
    kinds = ", ".join(f"{n}x {s}" for s, n in zip(statuses, counts, strict=True))
    return f"{len(bad)} errors ({kinds})"


def _report(floor: Latency, single: Latency, samples: list[Sample], beats: list[Sample],
            elapsed: float, watch: _Watch) -> None:
    kill_at = watch.killed_at if watch.killed_at is not None else elapsed
    before = [s for s in samples if s.ended < kill_at]
    load = Latency.of([s.wait_s for s in before], kill_at)
    print(floor.row("no-op GET floor (1 client)"))
    print(single.row("warm /historical (1 client)"))
    print(load.row(f"warm /historical ({CLIENTS} clients)") +
          f"  {_errors(before)}  [{kill_at:.0f} s before the kill]")
    print(Latency.of([s.wait_s for s in beats], elapsed).row(
        f"heartbeat (every {HEARTBEAT_S:.0f} s, {CLIENTS} sessions)") + f"  {_errors(beats)}")
    print(f"{'  1-client p50 / floor p50':<34} {single.p50_ms / floor.p50_ms:7.2f} x"
          "  (target <= 1.5)")
    print(f"{f'  {CLIENTS}-client p50 / 1-client p50':<34} {load.p50_ms / single.p50_ms:7.2f} x"
          "  (target <= 4)")
    counts = [n for _, n in watch.counts]
    if counts:
        print(f"historical replicas running during the load: {counts[0]} at start, "
              f"at most {max(counts)}" + "".join(
                  f"; {n} from {t:.0f} s" for (t, n), (_, m) in
                  zip(watch.counts[1:], watch.counts[:-1], strict=True) if n != m))
    if watch.killed is None:
        return
    in_flight = [s for s in samples if s.started < kill_at < s.ended]
    sent_after = [s for s in samples if kill_at <= s.started < kill_at + AROUND_KILL_S]
    longest = max((s.wait_s for s in in_flight + sent_after), default=float("nan"))
    replaced = (f"{watch.replaced_after_s:.1f} s" if watch.replaced_after_s is not None
                else f"not within {elapsed - kill_at:.0f} s")
    print(f"replica killed (SIGKILL, pid {watch.killed.pid}) at {kill_at:.1f} s; "
          f"replacement running after {replaced}")
    print(f"  {len(in_flight)} requests in flight at the kill: {_errors(in_flight)}; "
          f"{len(sent_after)} sent in the {AROUND_KILL_S:.0f} s after it: {_errors(sent_after)}")
    print(f"  longest wait of these: {longest * 1000:.0f} ms (target < 5000)")
    after = [s for s in samples if s.started >= kill_at + AROUND_KILL_S]
    print(f"whole load ({elapsed:.0f} s): {len(samples)} requests, {_errors(samples)}; "
          f"after the kill window: {_errors(after)}")


def main() -> None:
    """Floor and one client, then the load with a replica killed in it; print the figures."""
    access = secrets.token_urlsafe(24)
    auth = {"Authorization": f"Bearer {access}"}
    # One address opens all the sessions here: the per-address initiate limit is raised to fit.
    env = {"ACCESS_TOKEN": access, "INITIATE_LIMIT": str(CLIENTS + 8)}
    with platform_with_floor(env) as base_url:
        params = _chart()
        with httpx.Client(base_url=base_url, headers=auth, timeout=300) as client:
            tokens = _initiate(client, CLIENTS + 1)
            cold = client.get("/historical/", params=params,
                              headers={SESSION_HEADER: tokens[-1]})
            cold.raise_for_status()
        print(f"cold chart ({params['symbol']} {params['interval']}, 20 sessions): "
              f"{cold.elapsed.total_seconds() * 1000:.0f} ms")

        async def noop(c: httpx.AsyncClient) -> httpx.Response:
            return await c.get(f"{NOOP_ROUTE}/")

        async def historical(c: httpx.AsyncClient) -> httpx.Response:
            return await c.get("/historical/", params=params,
                               headers={**auth, SESSION_HEADER: tokens[-1]})

        floor = measure(base_url, noop, 300, 1)
        single = measure(base_url, historical, 300, 1)
        watch = _Watch()
        try:
            samples, beats, elapsed = asyncio.run(
                _load(base_url, auth, tokens[:CLIENTS], params, watch))
        finally:
            watch.stop()
        _report(floor, single, samples, beats, elapsed, watch)


if __name__ == "__main__":
    main()
