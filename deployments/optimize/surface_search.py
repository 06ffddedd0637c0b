"""The search loop of an optimization job: ask the search for a batch of combinations, sweep
each batch's bar series at once as chunk tasks on the cluster, tell the search the objective.

Every (symbol, interval) series of a batch is swept concurrently (chunks of every series share
the cluster); the metrics come back in the order the combinations were evaluated.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import ray

from deployments.common.settings import Settings
from deployments.optimize.chunks import SlotPool, sweep_on_cluster
from deployments.optimize.grid import Grid
from deployments.optimize.search import Search
from deployments.optimize.series import Series, series_of, strategy_params
from kernels.backtest import METRICS
from strategies.spec import StrategySpec


@dataclass
class Surface:
    """What a search evaluated: grid positions in order, their metrics ``(segments,
    evaluated, metrics)``, where each chunk ran, and how many batches it took."""

    positions: list[int]
    metrics: np.ndarray
    ran: list[dict[str, Any]]
    batches: int


@dataclass(frozen=True)
class Sweep:
    """What every batch of one job shares."""

    job_id: str
    spec: StrategySpec
    grid: Grid
    series: dict[tuple[str, str], Series]
    segments: dict[tuple[str, str], list[tuple[int, int]]]
    params: np.ndarray
    settings: Settings
    default: tuple[str, str]  # the request's (symbol, interval)


async def _sweep_batch(sweep: Sweep, refs: dict, batch: list[int], before: int,
                       rows: dict[int, np.ndarray],
                       on_progress: Callable[[int], Awaitable[None]],
                       cancelled: Callable[[], Awaitable[bool]]) -> list[dict[str, Any]]:
    """Sweep one batch, each of its series concurrently; fills ``rows`` (position -> metrics
    per segment) and answers where the chunks ran."""
    groups: dict[tuple[str, str], list[int]] = {}
    for position in batch:
        groups.setdefault(series_of(sweep.grid.combinations[position], *sweep.default),
                          []).append(position)
    progress = dict.fromkeys(groups, 0)
    pool = SlotPool(sweep.settings)

    def reporter(key: tuple[str, str]) -> Callable[[int], Awaitable[None]]:
        async def report(done: int) -> None:
            progress[key] = done
            await on_progress(before + sum(progress.values()))
        return report

    async def one(key: tuple[str, str], members: list[int]) -> list[dict[str, Any]]:
        bars, context = refs[key]
        combos = [strategy_params(sweep.grid.combinations[k]) for k in members]
        part, where = await sweep_on_cluster(
            sweep.job_id, bars, sweep.spec, combos, sweep.params, sweep.segments[key],
            sweep.settings, reporter(key), cancelled, context, pool)
        for j, k in enumerate(members):
            rows[k] = part[:, j]
        return where

    ran: list[dict[str, Any]] = []
    for where in await asyncio.gather(*(one(key, members) for key, members in groups.items())):
        ran += where
    return ran


async def search_surface(sweep: Sweep, search: Search, batch_size: int, objective: str,
                         min_trades: int, on_progress: Callable[[int], Awaitable[None]],
                         cancelled: Callable[[], Awaitable[bool]]) -> Surface:
    """Run ``search`` to its end over ``sweep``'s series (see the module docstring); the
    search is told NaN for combinations with fewer than ``min_trades`` trades."""
    refs = {key: (ray.put(s.bars), None if s.context is None else ray.put(s.context))
            for key, s in sweep.series.items()}
    column, trades = METRICS.index(objective), METRICS.index("num_trades")
    positions: list[int] = []
    rows: dict[int, np.ndarray] = {}
    ran: list[dict[str, Any]] = []
    batches = 0
    while not search.done:
        batch = search.ask(batch_size)
        if not batch:
            break
        batches += 1
        ran += await _sweep_batch(sweep, refs, batch, len(positions), rows, on_progress,
                                  cancelled)
        whole = np.array([rows[k][0] for k in batch])
        search.tell(batch, np.where(whole[:, trades] >= min_trades, whole[:, column],
                                    np.nan).tolist())
        positions += batch
    metrics = np.stack([rows[k] for k in positions], axis=1)
    return Surface(positions, metrics, ran, batches)
