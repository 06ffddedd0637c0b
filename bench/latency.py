"""HTTP latency measurement shared by the benchmarks: sequential and concurrent percentiles."""

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
    ms = np.array(samples) * 1000
    return Latency(float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), len(ms) / elapsed)


def measure(base_url: str, request: Request, total: int = 400, concurrency: int = 1) -> Latency:
    """Time ``total`` requests made by ``concurrency`` clients in parallel."""
    return asyncio.run(_run(base_url, request, total, concurrency))


def report(label: str, ours: Latency, floor_label: str, floor: Latency) -> None:
    """Print ours, the floor, and the ratio of their percentiles."""
    print(ours.row(label))
    print(floor.row(floor_label))
    print(f"{'  ratio to the floor':<34} p50 {ours.p50_ms / floor.p50_ms:7.2f} x    "
          f"p99 {ours.p99_ms / floor.p99_ms:7.2f} x")
