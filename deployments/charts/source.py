"""Where chart bars come from, for every application that needs them (historical, backtest).

Two sources behind one interface: IQFeed symbols (``AAPL``: base bars from the Redis cache or
the ``iqfeed`` actor) and imported ones (``file:GOOG``: the ``bar-files`` actor's store, its
catalog entry read from Redis). A chart's full result lives in Redis under
:func:`deployments.charts.bar_store.result_key`. On a miss exactly one caller in the cluster
builds it (single flight): base bars, resampling off the event loop, storing, and starting the
background pre-aggregation of the range's standard intervals.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import numpy as np
import ray
import redis.asyncio as aioredis

from deployments.charts import bar_codec
from deployments.charts.bar_store import BarStore, result_key
from deployments.charts.base_bars import BaseBarLoader, concat
from deployments.charts.builder import build_chart, select_base
from deployments.charts.preaggregate import LOCK_TTL_S, lock_key, preaggregate, task_name
from deployments.charts.request import ChartRequest, parse_chart_request
from deployments.charts.single_flight import SingleFlight
from deployments.charts.tiers import DAILY_TIER, exchange_today
from deployments.common.errors import ResultChanged
from deployments.common.redis_client import redis_guard
from deployments.common.settings import Settings
from deployments.data.catalog import cached_entry
from deployments.data.store_actor import ensure_bar_files_actor
from deployments.iqfeed.feed_actor import ensure_feed_actor
from feeds.bars import Bars
from feeds.files.store import SymbolEntry, file_symbol, is_file_symbol
from feeds.market_clock import WALL_CLOCK, MarketClock
from kernels.resample import (
    PARALLEL_MIN_ROWS,
    derive_standard,
    resample_intraday,
    session_mask,
)

_preaggregate = ray.remote(num_cpus=1, max_retries=1)(preaggregate)


def warm_up_kernels() -> None:
    """Compile (or load cached) the resampling kernels."""
    tz = (np.array([np.iinfo(np.int64).min]), np.array([-18000]))
    for size in (600, PARALLEL_MIN_ROWS):  # the serial and the parallel paths
        t = np.arange(1_700_000_000, 1_700_000_000 + size, dtype=np.int64)
        price = np.linspace(100, 101, t.size)
        derive_standard(t, price, price, price, price, price, 1, 34200, 34200, *tz)
        resample_intraday(t, price, price, price, price, price, 60, 34200, *tz)
        session_mask(t, 34200, 57600, *tz)


def includes_today(chart: ChartRequest, clock: MarketClock = WALL_CLOCK) -> bool:
    """True when the chart's range reaches the current (still changing) trading day."""
    return bool(chart.days) and chart.days[-1] >= exchange_today(clock)


def _build_encoded(chart: ChartRequest, base: Bars) -> tuple[int, bytes]:
    bars = build_chart(chart, base)
    return len(bars), bar_codec.encode(bars)


def _worth_preaggregating(chart: ChartRequest, max_days: int) -> bool:
    """Intraday tiers over ranges an intraday request may ask for."""
    span = (chart.end - chart.start) / 86400
    return chart.tier != DAILY_TIER and chart.interval_s < 86400 and span <= max_days


class ChartSource:
    """Builds and caches chart results; shared by the applications of one replica."""

    def __init__(self, client: aioredis.Redis, redis_url: str, settings: Settings) -> None:
        self._redis = client
        self._redis_url = redis_url
        self._settings = settings
        self.clock = settings.market_clock()
        self.store = BarStore(client)
        self._flights = SingleFlight(client)
        self._loader = BaseBarLoader(self.store, ensure_feed_actor(settings), self._flights,
                                     settings)
        self._files: ray.actor.ActorHandle | None = None

    def _bar_files(self) -> ray.actor.ActorHandle:
        if self._files is None:
            self._files = ensure_bar_files_actor(self._settings)
        return self._files

    async def imported(self, symbol: str) -> SymbolEntry | None:
        """An imported symbol's catalog entry (Redis mirror, else the actor); None if unknown."""
        try:
            symbol = file_symbol(symbol)
        except ValueError:
            return None
        published, entry = await cached_entry(self._redis, symbol)
        if published:
            return entry
        found = await self._bar_files().entry.remote(symbol)
        return SymbolEntry.from_json(found) if found else None

    async def chart_request(
        self, symbol: str, interval: str, start: str, end: str, rth: bool
    ) -> ChartRequest:
        """The validated request (see :func:`parse_chart_request`), an imported symbol's
        entry looked up first."""
        entry = await self.imported(symbol) if is_file_symbol(symbol) else None
        return parse_chart_request(self._settings, symbol, interval, start, end, rth, entry)

    async def ensure(self, chart: ChartRequest, key: str) -> int:
        """Rows of the stored result for ``chart``, building it first if needed."""
        return await self._flights.run(
            key, lambda: self.store.result_rows(key), lambda: self._compute(chart, key)
        )

    async def count(self, chart: ChartRequest) -> int:
        """How many bars the chart has, read from its stored header (built first on a miss)."""
        return await self.ensure(chart, result_key(chart.cache_symbol, chart.rth,
                                                   chart.interval, chart.start, chart.end))

    async def full(self, chart: ChartRequest) -> Bars:
        """Every bar of the chart (read whole from Redis, built first on a miss)."""
        key = result_key(chart.cache_symbol, chart.rth, chart.interval, chart.start, chart.end)
        for _ in range(2):
            await self.ensure(chart, key)
            async with redis_guard():
                value = await self._redis.get(key)
            if value is not None:
                return bar_codec.decode(value)
        raise ResultChanged("the chart's result expired while it was being read; retry")

    async def intrabar_base(self, chart: ChartRequest) -> tuple[Bars, list[str]]:
        """The finest stored bars inside the chart's range and sessions, for replaying a bar
        inside itself: 1-second bars for the days that keep them, else 1-minute (an imported
        symbol: its own bars). Also answers the resolutions used, finest first."""
        if chart.is_file:
            return select_base(chart, await self._base(chart))[0], [f"{chart.bar_s}s"]
        recent = exchange_today(self.clock) - timedelta(days=self._settings.second_history_days)
        by_tier = {"1s": [day for day in chart.days if day >= recent]}
        by_tier["1m"] = [day for day in chart.days if day < recent]
        parts = []
        for tier, days in by_tier.items():
            if days:
                loaded = await self._loader.load(chart.symbol, tier, days)
                parts.append(select_base(dataclasses.replace(chart, tier=tier), loaded)[0])
        base = concat(parts)
        order = np.argsort(base.t, kind="stable")
        return (Bars(*(column[order] for column in base.columns())),
                [tier for tier, days in by_tier.items() if days])

    async def _base(self, chart: ChartRequest) -> Bars:
        if chart.is_file:
            return await self._bar_files().read.remote(chart.symbol, chart.start, chart.end)
        return await self._loader.load(chart.symbol, chart.tier, list(chart.days))

    async def _compute(self, chart: ChartRequest, key: str) -> int:
        base = await self._base(chart)
        rows, encoded = await asyncio.to_thread(_build_encoded, chart, base)
        live = includes_today(chart, self.clock)
        ttl = self._settings.today_cache_ttl_s if live else self._settings.result_ttl_s
        await self.store.put_encoded(key, encoded, ttl)
        if live and not chart.is_file:
            await self.store.register_live_result(chart.cache_symbol, key, ttl)
        if _worth_preaggregating(chart, self._settings.max_request_days) and len(base):
            await self._start_preaggregation(chart, base, ttl)
        return rows

    async def _start_preaggregation(self, chart: ChartRequest, base: Bars, ttl: int) -> None:
        async with redis_guard():
            locked = await self._redis.set(lock_key(chart), 1, nx=True, ex=LOCK_TTL_S)
        if locked:
            _preaggregate.options(name=task_name(chart)).remote(
                self._redis_url, chart, base, ttl
            )
