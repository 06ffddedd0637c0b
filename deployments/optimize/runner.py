"""The orchestrator of one optimization job: the Ray task ``optimize:<job_id>``.

It reads the job's request from Redis, loads the chart's bars once (from the bar cache, else
the feed), puts them in the object store once, sweeps the grid in chunk tasks
(:mod:`deployments.optimize.chunks`), scores the walk-forward splits and writes progress and
the result back under the job id. A cancelled or expired job stops it between chunks. A
Redis outage (a restart of the embedded server, say) is ridden out: progress writes skip it,
the cancel check counts the job as still running, and the other reads and writes wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import numpy as np
import ray
import redis.asyncio as aioredis

from deployments.backtest.chart_context import load_context
from deployments.backtest.request import OptimizeIn
from deployments.charts.request import ChartRequest
from deployments.charts.source import ChartSource
from deployments.common.errors import StateUnavailable
from deployments.common.redis_client import make_client, outlasting_outages
from deployments.common.settings import Settings
from deployments.optimize.chunks import SweepCancelled, devices_used, search_batch
from deployments.optimize.grid import expand_grid
from deployments.optimize.jobs import JobStore
from deployments.optimize.result import (
    MINIMIZED,
    best_in_sample,
    build_result,
    walk_forward_json,
    walk_forward_minimums,
    walk_forward_segments,
    walk_forward_summary,
)
from deployments.optimize.search import make_search
from deployments.optimize.series import Series, series_of, with_series_axes
from deployments.optimize.surface_search import Sweep, search_surface
from deployments.optimize.top_runs import out_of_sample_equity, top_extras
from deployments.runs.store import RunStore
from kernels.backtest import Context, sweep_signals
from kernels.strategy_sweep import sweep_segments
from strategies.registry import load_registry

log = logging.getLogger(__name__)
PROGRESS_INTERVAL_S = 0.2
"""Progress writes to Redis are at most this frequent (the last one always lands)."""


def _out_of_sample(signals, arrays: tuple[np.ndarray, ...], grid, chosen: list[int],
                   windows: list, params: np.ndarray, context: Context) -> np.ndarray:
    """Metrics of each split's chosen combination over its out-of-sample bars."""
    rows = [sweep_segments(signals, arrays, [grid.combinations[best]], params, [window[1]],
                           sweep=sweep_signals, context=context)[0, 0]
            for best, window in zip(chosen, windows, strict=True)]
    return np.array(rows)


async def _run(job_id: str, store: JobStore, client: aioredis.Redis, redis_url: str,
               settings: Settings) -> None:
    record = await outlasting_outages(lambda: store.request(job_id))
    if record is None or record["status"] != "queued":
        return  # cancelled before it started, or its record expired
    if not await outlasting_outages(lambda: store.update(
            job_id, ("queued",), status="running", started_at=time.time())):
        return
    began = time.perf_counter()
    # Admission validated the request, counted the grid and fixed the chart: trusted here.
    body = OptimizeIn.model_validate(record["request"])
    spec = load_registry(settings.strategies_dir).strategies[body.strategy]
    admitted = record["admitted"]
    entries = admitted.get("series") or [{"chart": admitted["chart"]}]
    charts = [ChartRequest.from_json(entry["chart"]) for entry in entries]
    full_grid = with_series_axes(expand_grid(spec, body.grid, max_combinations=None),
                                 list(dict.fromkeys(c.symbol for c in charts)),
                                 list(dict.fromkeys(c.interval for c in charts)))
    total = body.trial_count(len(full_grid))
    source = ChartSource(client, redis_url, settings)
    plain = body.intrabar != "base_bars" and not body.flat_at_close
    series: dict[tuple[str, str], Series] = {}
    for chart in charts:
        bars = await outlasting_outages(lambda chart=chart: source.full(chart))
        context, _ = await outlasting_outages(lambda chart=chart, bars=bars: load_context(
            source, chart, bars, body))
        series[(chart.symbol, chart.interval)] = Series(
            chart.symbol, chart.interval, (bars.t, bars.o, bars.h, bars.l, bars.c, bars.v),
            None if plain else context)
    first = series[(charts[0].symbol, charts[0].interval)]
    arrays, context = first.bars, first.context
    loaded = time.perf_counter()
    windows = []
    if body.walk_forward is not None:
        windows = walk_forward_segments(arrays[0].size, body.walk_forward.splits,
                                        body.walk_forward.oos_fraction,
                                        *walk_forward_minimums(full_grid))
        if not windows:
            raise ValueError("the range is too short for the walk-forward splits")
    segments = {key: [(0, s.bars[0].size)] + [window[0] for window in windows]
                for key, s in series.items()}
    last_write = 0.0

    async def on_progress(done: int) -> None:
        nonlocal last_write
        if done == total or time.monotonic() - last_write >= PROGRESS_INTERVAL_S:
            last_write = time.monotonic()
            with contextlib.suppress(StateUnavailable):  # the next write or the result has it
                await store.update(job_id, ("running",), done=done)

    async def cancelled() -> bool:
        try:
            return await store.status(job_id) != "running"
        except StateUnavailable:  # a cancel made meanwhile is seen once Redis is back
            return False

    params = body.packed_params()
    search = make_search(body.search.method, full_grid, total, body.search.seed,
                         body.objective not in MINIMIZED)
    batch_size = total if body.search.method != "bayesian" else search_batch(settings)
    sweep = Sweep(job_id, spec, full_grid, series, segments, params, settings, first.key)
    surface = await search_surface(sweep, search, batch_size, body.objective,
                                   body.min_trades, on_progress, cancelled)
    metrics, ran, evaluated = surface.metrics, surface.ran, surface.positions
    grid = full_grid.subset(evaluated)
    swept = time.perf_counter()
    walk_forward = summary = None
    if windows:
        chosen = best_in_sample(metrics, len(windows), body.objective)
        out = await asyncio.to_thread(_out_of_sample, spec.signals, arrays, grid, chosen,
                                      windows, params, context)
        walk_forward = walk_forward_json(grid, metrics, windows, chosen, out, arrays[0],
                                         body.objective)
        stitched = await asyncio.to_thread(out_of_sample_equity, spec, arrays, grid, chosen,
                                           windows, params, body.initial_cash, context)
        in_sample = np.array([metrics[1 + k][best] for k, best in enumerate(chosen)])
        summary = walk_forward_summary(in_sample, out, stitched)

    def lookup(values: dict[str, Any]) -> Series:
        return series[series_of(values, *first.key)]

    extras = top_extras(spec, lookup, grid, metrics[0], params, body.initial_cash,
                        body.monte_carlo)
    result = await asyncio.to_thread(build_result, grid, metrics, body.objective, body.top_n,
                                     arrays[0], walk_forward, body.min_trades, body.select,
                                     extras)
    if walk_forward is not None:
        result["walk_forward_efficiency"] = summary["efficiency"]
        result["walk_forward_equity"] = summary["equity"]
    result["search"] = {"method": body.search.method, "trials": total,
                        "evaluated": len(evaluated), "seed": body.search.seed,
                        "batches": surface.batches, "grid_combinations": len(full_grid),
                        "sampler": getattr(search, "sampler", None)}
    device = devices_used(ran)
    result["placement"] = {"device": device, "chunks": len(ran),
                           "nodes": sorted({r["node_id"] for r in ran}),
                           "cuda_simulator": any(r["cuda_simulator"] for r in ran)}
    result["timings"] = {"prepare_s": round(loaded - began, 4), "sweep_s": round(swept - loaded, 4),
                         "total_s": round(time.perf_counter() - began, 4)}
    if admitted.get("workspace"):  # kept as a run: it outlives the session and its job
        runs = RunStore.from_settings(client, settings)
        result["run_id"] = await outlasting_outages(lambda: runs.save(
            admitted["workspace"], "optimize", record["request"], result))
    await outlasting_outages(lambda: store.update(
        job_id, ("running",), status="succeeded", done=len(evaluated), finished_at=time.time(),
        device=device, result=result))


async def _guarded_run(job_id: str, settings: Settings, redis_url: str) -> None:
    client = make_client(redis_url)
    store = JobStore(client)
    try:
        await _run(job_id, store, client, redis_url, settings)
    except SweepCancelled:
        log.info("optimization %s cancelled", job_id)
    except Exception as error:  # the job fails with a message; the orchestrator must not die
        log.exception("optimization %s failed", job_id)
        message = f"{type(error).__name__}: {str(error) or type(error).__name__}"[:2000]
        await outlasting_outages(lambda: store.update(
            job_id, ("queued", "running"), status="failed", finished_at=time.time(),
            error=message))
    finally:
        await client.aclose()


@ray.remote(num_cpus=0, max_retries=0)
def run_job(job_id: str, settings: Settings, redis_url: str) -> None:
    """Run optimization job ``job_id`` to its end (succeeded, failed or cancelled)."""
    asyncio.run(_guarded_run(job_id, settings, redis_url))


def submit_job(job_id: str, settings: Settings, redis_url: str) -> Any:
    """Start the orchestrator task of ``job_id``; returns its ObjectRef."""
    return run_job.options(name=f"optimize:{job_id}").remote(job_id, settings, redis_url)
