"""HTTP latency measurement shared by the benchmarks: sequential and concurrent percentiles,
and timed closed-loop load (each client sends its next request when the last one answered)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import numpy as np

Request = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


@dataclass(frozen=True)
class Latency:
    """Percentiles in milliseconds and throughput of one measured request kind."""

    p50_ms: float
    p99_ms: float
    rps: float

    def row(self, label: str) -> str:
        """One aligned line of the report."""
        return (f"{label:<34} p50 {self.p50_ms:7.2f} ms  p99 {self.p99_ms:7.2f} ms  "
                f"{self.rps:8.0f} req/s")

    @classmethod
    def of(cls, seconds: list[float] | np.ndarray, elapsed_s: float) -> Latency:
        """Percentiles of request durations in ``seconds``, made in ``elapsed_s`` in all."""
        ms = np.asarray(seconds, dtype=float) * 1000
        if ms.size == 0:
            return cls(float("nan"), float("nan"), 0.0)
        return cls(float(np.percentile(ms, 50)), float(np.percentile(ms, 99)),
                   ms.size / elapsed_s)


@dataclass(frozen=True)
class Sample:
    """One request of a timed load: when it started and answered (seconds since the load's
    clock started) and its HTTP status (0: no answer, a transport error or timeout)."""

    started: float
    ended: float
    status: int

    @property
    def wait_s(self) -> float:
        """How long the client waited for the answer."""
        return self.ended - self.started

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return 200 <= self.status < 300


async def closed_loop(client: httpx.AsyncClient, request: Request, clock: float, until: float,
                      samples: list[Sample]) -> None:
    """One client: request after request until ``until`` (``time.perf_counter()``), appending a
    :class:`Sample` for each, timed from ``clock``; failures are recorded, not raised."""
    while (started := time.perf_counter()) < until:
        try:
            status = (await request(client)).status_code
        except httpx.HTTPError:
            status = 0
        samples.append(Sample(started - clock, time.perf_counter() - clock, status))


async def _run(base_url: str, request: Request, total: int, concurrency: int) -> Latency:
    samples: list[float] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        for _ in range(min(20, total)):  # warm-up: connections, replicas, kernels
            (await request(client)).raise_for_status()

        async def worker(count: int) -> None:
            for _ in range(count):
                started = time.perf_counter()
                (await request(client)).raise_for_status()
                samples.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker(total // concurrency) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return Latency.of(samples, elapsed)


def measure(base_url: str, request: Request, total: int = 400, concurrency: int = 1) -> Latency:
    """Time ``total`` requests made by ``concurrency`` clients in parallel."""
    return asyncio.run(_run(base_url, request, total, concurrency))


def report(label: str, ours: Latency, floor_label: str, floor: Latency) -> None:
    """Print ours, the floor, and the ratio of their percentiles."""
    print(ours.row(label))
    print(floor.row(floor_label))
    print(f"{'  ratio to the floor':<34} p50 {ours.p50_ms / floor.p50_ms:7.2f} x    "
          f"p99 {ours.p99_ms / floor.p99_ms:7.2f} x")
