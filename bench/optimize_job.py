"""End to end: a 10,000-combination SMA-crossover job through ``/optimize`` vs the bare kernel.

One month (about 21 sessions) of regular-hours 1-minute SPY bars from the simulator; grid fast
2..101 x slow 105..204 (10,000 pairs). The job's wall time runs from POST to the ``end``
server-sent event; the bare kernel is :meth:`strategies.spec.StrategySpec.sweep_segments`
(the strategy's sweep the chunk tasks run, on the CPU) over the same bars in this process. Both
are warmed once, then timed three times. Target: the job <= 1.5x the bare kernel.
"""

from __future__ import annotations

import statistics
import time
from datetime import date, timedelta

import httpx
import numpy as np

from bench.serve_floor import platform_with_floor
from deployments.common.fields import SESSION_HEADER
from feeds.market_calendar import trading_days
from kernels.backtest import METRICS, pack_params
from strategies.sma_cross import STRATEGY

RUNS = 3
GRID = {"fast": {"min": 2, "max": 101, "step": 1}, "slow": {"min": 105, "max": 204, "step": 1}}


def _month() -> tuple[str, str]:
    days = trading_days(date.today() - timedelta(days=60), date.today() - timedelta(days=5))
    return str(days[-21]), str(days[-1])


def _bars(http: httpx.Client, query: dict) -> tuple[np.ndarray, ...]:
    """Every bar of the chart, through /historical and its chunks."""
    answer = http.get("/historical/", params=query).raise_for_status().json()
    parts = [answer["bars"]]
    while answer["has_more"]:
        answer = http.get("/historical/chunk", params={
            "request_id": answer["request_id"], "before": parts[0]["t"][0],
            "limit": 50_000}).raise_for_status().json()
        parts.insert(0, answer["bars"])
    t = np.concatenate([np.asarray(p["t"], np.int64) for p in parts])
    o, h, l, c, v = (np.concatenate([np.asarray(p[k], np.float64) for p in parts])
                     for k in ("o", "h", "l", "c", "v"))
    return t, o, h, l, c, v


def _job(http: httpx.Client, body: dict) -> tuple[float, dict]:
    began = time.perf_counter()
    job_id = http.post("/optimize/", json=body).raise_for_status().json()["job_id"]
    with http.stream("GET", f"/optimize/{job_id}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("event: end"):
                break
    seconds = time.perf_counter() - began
    job = http.get(f"/optimize/{job_id}").raise_for_status().json()
    if job["status"] != "succeeded":
        raise RuntimeError(f"job ended {job['status']}: {job['error']}")
    return seconds, job


def measure() -> dict:
    """Time the job and the bare kernel; return the figures and their agreement."""
    start, end = _month()
    with platform_with_floor() as base_url, httpx.Client(base_url=base_url,
                                                     timeout=600) as http:
        token = http.get("/utils/session/initiate").json()["session_token"]
        http.headers[SESSION_HEADER] = token  # every later call is the session's
        query = {"symbol": "SPY", "interval": "1m", "start": start, "end": end}
        bars = _bars(http, query)
        body = {"strategy": "sma_cross", "grid": GRID, "symbol": "SPY", "interval": "1m",
                "start": start, "end": end, "commission": 0.0005}
        params = pack_params(0, False, 0.0005, 0.0, 0.0, 0.0, 0.0, 1.0, 100_000.0)
        combos = [{"fast": f, "slow": s} for f in range(2, 102) for s in range(105, 205)]
        whole = [(0, int(bars[0].size))]
        STRATEGY.sweep_segments(bars, combos[:64], params, whole)  # compile
        bare = []
        for _ in range(RUNS):
            began = time.perf_counter()
            metrics = STRATEGY.sweep_segments(bars, combos, params, whole)[0]
            bare.append(time.perf_counter() - began)
        _job(http, body)  # warm: workers start, kernels compile in them
        jobs = []
        for _ in range(RUNS):
            http.post("/utils/session/heartbeat")
            seconds, job = _job(http, body)
            jobs.append(seconds)
    got = np.array([np.nan if v is None else v for v in job["result"]["surface"]["objective"]])
    want = metrics[:, METRICS.index("sharpe")]
    return {"bars": int(bars[0].size), "combinations": len(combos), "bare": bare, "job": jobs,
            "placement": job["result"]["placement"],
            "difference": float(np.nanmax(np.abs(got - want)))}


def report(figures: dict) -> None:
    """Print the end-to-end line next to the bare kernel's, as a ratio."""
    bare, job = min(figures["bare"]), min(figures["job"])
    print(f"end to end: {figures['combinations']:,}-combination job over {figures['bars']:,} "
          f"1m bars ({figures['placement']['chunks']} chunk tasks on "
          f"{figures['placement']['device']})")
    print(f"  bare kernel (in process)  best {bare:7.3f} s  median "
          f"{statistics.median(figures['bare']):7.3f} s")
    print(f"  POST /optimize -> end     best {job:7.3f} s  median "
          f"{statistics.median(figures['job']):7.3f} s  = {job / bare:.2f}x the bare kernel "
          f"(target <= 1.5x); largest Sharpe difference {figures['difference']:.1e}")


def main() -> None:
    """Measure and report."""
    report(measure())


if __name__ == "__main__":
    main()
