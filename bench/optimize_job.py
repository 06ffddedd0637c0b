"""End to end: a 10,000-combination SMA-crossover job through ``/optimize`` vs the bare kernel.

One month (about 21 sessions) of regular-hours 1-minute SPY bars from the simulator; grid fast
2..101 x slow 105..204 (10,000 pairs). The job's wall time runs from POST to the ``end``
server-sent event; the bare kernel is :meth:`strategies.spec.StrategySpec.sweep_segments`
(the strategy's sweep the chunk tasks run, on the CPU) over the same bars in this process. Both
are warmed once, then timed three times. Target: the job <= 1.3x the bare kernel.

In the same platform run: the first 20-combination job of the fresh platform (bars cached
first; target <= 3 s), a 500-trial Bayesian search of the same 10,000-combination space next to
the full grid's best, and a 4-interval x 10-symbol x 1,000-combination job over the month.
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
FIRST_GRID = {"fast": [5, 6, 7, 8, 9], "slow": [20, 25, 30, 35]}
SERIES_GRID = {"fast": {"min": 2, "max": 41, "step": 1}, "slow": {"min": 45, "max": 69, "step": 1}}
SYMBOLS = ["SPY", "QQQ", "AAPL", "MSFT", "TSLA", "NVDA", "AMZN", "META", "GOOG", "IWM"]
INTERVALS = ["1m", "5m", "15m", "30m"]


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
        first_s, _ = _job(http, {**body, "grid": FIRST_GRID})  # the fresh platform's first
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
        bayes_s, bayes = _job(http, {**body, "search": {"method": "bayesian", "trials": 500,
                                                         "seed": 1}})
        for symbol in SYMBOLS:  # cache every symbol's month first, as for SPY above
            http.get("/historical/", params={**query, "symbol": symbol}).raise_for_status()
        http.post("/utils/session/heartbeat")
        series_s, series = _job(http, {**body, "grid": SERIES_GRID, "symbols": SYMBOLS,
                                       "intervals": INTERVALS})
    got = np.array([np.nan if v is None else v for v in job["result"]["surface"]["objective"]])
    want = metrics[:, METRICS.index("sharpe")]
    return {"bars": int(bars[0].size), "combinations": len(combos), "bare": bare, "job": jobs,
            "placement": job["result"]["placement"],
            "difference": float(np.nanmax(np.abs(got - want))), "first_s": first_s,
            "grid_best": job["result"]["best"], "bayes_s": bayes_s,
            "bayes_best": bayes["result"]["best"], "bayes_search": bayes["result"]["search"],
            "series_s": series_s, "series_combinations": series["result"]["combinations"],
            "series_chunks": series["result"]["placement"]["chunks"]}


def _sharpe(best: dict | None) -> float:
    return best["metrics"]["sharpe"] if best else float("nan")


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
          f"(target <= 1.3x); largest Sharpe difference {figures['difference']:.1e}")
    print(f"  a fresh platform's first 20-combination job: {figures['first_s']:.2f} s "
          "(target <= 3 s)")
    search = figures["bayes_search"]
    print(f"  Bayesian search ({search['sampler']}), {search['evaluated']} trials in "
          f"{search['batches']} batches: best Sharpe {_sharpe(figures['bayes_best']):.3f} in "
          f"{figures['bayes_s']:.2f} s vs the full grid's {_sharpe(figures['grid_best']):.3f} "
          f"over {figures['combinations']:,} in {job:.2f} s")
    rate = figures["series_combinations"] / figures["series_s"]
    print(f"  {len(INTERVALS)} intervals x {len(SYMBOLS)} symbols x 1,000 combinations "
          f"({figures['series_combinations']:,}, {figures['series_chunks']} chunk tasks) over "
          f"the month: {figures['series_s']:.2f} s end to end, {rate:,.0f} combinations/s "
          f"= {rate / (figures['combinations'] / bare):.2f}x the bare kernel's rate on one "
          "series")


def main() -> None:
    """Measure and report."""
    report(measure())


if __name__ == "__main__":
    main()
