"""Base bars for a chart: from the Redis cache per trading day, else from the feed, once.

Tiers: ``1s`` and ``1m`` intraday bars over each day's extended session, ``1d`` one regular-
session bar per day. A day missing from the cache is fetched through the ``iqfeed`` actor by
exactly one caller in the cluster (single flight per symbol-day) and stored: past days for
``BAR_CACHE_TTL_S``, the current day for ``TODAY_CACHE_TTL_S`` since it is still filling.

Today's daily bar is never the feed's: it is today's regular-session 1-minute bars so far,
aggregated, so it equals resampling the intraday bars at any time of day and holds nothing
after now.
"""

from __future__ import annotations

import asyncio
from datetime import date

import numpy as np
import ray

from deployments.charts.bar_store import BarStore, day_key
from deployments.charts.single_flight import SingleFlight
from deployments.charts.tiers import DAILY_TIER, TIER_SECONDS, exchange_today
from deployments.common.settings import Settings
from feeds.bars import Bars
from feeds.eastern_time import utc_to_eastern
from feeds.market_calendar import session_bounds_utc
from feeds.market_clock import cache_name


def concat(parts: list[Bars]) -> Bars:
    """One Bars of several, in the order given."""
    if not parts:
        return Bars.empty()
    return Bars(*(np.concatenate(columns) for columns in zip(*(p.columns() for p in parts),
                                                             strict=True)))


def session_bar(bars: Bars, opening: int, closing: int) -> Bars:
    """The bars starting in ``[opening, closing)`` aggregated into one bar at ``opening``."""
    lo, hi = np.searchsorted(bars.t, [opening, closing])
    if hi <= lo:
        return Bars.empty()
    return Bars(np.array([opening], np.int64), bars.o[lo:lo + 1].copy(),
                np.array([bars.h[lo:hi].max()]), np.array([bars.l[lo:hi].min()]),
                bars.c[hi - 1:hi].copy(), np.array([bars.v[lo:hi].sum()]))


class BaseBarLoader:
    """Loads base bars of a symbol over trading days, filling the cache from the feed."""

    def __init__(
        self, store: BarStore, feed: ray.actor.ActorHandle, flights: SingleFlight,
        settings: Settings,
    ) -> None:
        self._store = store
        self._feed = feed
        self._flights = flights
        self._settings = settings
        self._clock = settings.market_clock()

    def _ttl(self, day: date) -> int:
        past = day < exchange_today(self._clock)
        return self._settings.bar_cache_ttl_s if past else self._settings.today_cache_ttl_s

    def stored(self, symbol: str) -> str:
        """The symbol as the cache names it (see :func:`feeds.market_clock.cache_name`)."""
        return cache_name(symbol, self._clock.tag)

    async def load(self, symbol: str, tier: str, days: list[date]) -> Bars:
        """Base bars of ``symbol`` at ``tier`` over ``days`` (ascending trading days)."""
        cached = await self._store.get_days(tier, self.stored(symbol), days)
        missing = [day for day, bars in zip(days, cached, strict=True) if bars is None]
        fetched: dict[date, Bars] = {}
        today = exchange_today(self._clock)
        if today in missing and tier == DAILY_TIER:
            missing.remove(today)
            fetched[today] = await self._today_daily(symbol, today)
        if missing and tier == DAILY_TIER:
            fetched.update(await self._daily(symbol, missing))
        elif missing:
            loaded = await asyncio.gather(*(self._intraday(symbol, tier, d) for d in missing))
            fetched = dict(zip(missing, loaded, strict=True))
        return concat([bars if bars is not None else fetched[day]
                       for day, bars in zip(days, cached, strict=True)])

    async def _intraday(self, symbol: str, tier: str, day: date) -> Bars:
        async def cached() -> Bars | None:
            return (await self._store.get_days(tier, self.stored(symbol), [day]))[0]

        async def fetch() -> Bars:
            start, end = session_bounds_utc(day, extended=True)
            bars = await self._feed.fetch_bars.remote(symbol, start, end, TIER_SECONDS[tier])
            await self._store.put_day(tier, self.stored(symbol), day, bars, self._ttl(day))
            return bars

        return await self._flights.run(day_key(tier, self.stored(symbol), day), cached, fetch)

    async def _today_daily(self, symbol: str, today: date) -> Bars:
        """Today's regular session so far, as one bar labelled at the open (none before it)."""
        minutes = await self._intraday(symbol, "1m", today)
        return session_bar(minutes, *session_bounds_utc(today))

    async def _daily(self, symbol: str, days: list[date]) -> dict[date, Bars]:
        first, last = days[0], days[-1]

        async def cached() -> dict[date, Bars] | None:
            found = await self._store.get_days(DAILY_TIER, self.stored(symbol), days)
            return None if any(b is None for b in found) else dict(zip(days, found, strict=True))

        async def fetch() -> dict[date, Bars]:
            bars = await self._feed.fetch_daily.remote(symbol, first, last)
            wall_days = utc_to_eastern(bars.t) // 86400
            by_day = {}
            for day in days:
                rows = wall_days == (day - date(1970, 1, 1)).days
                by_day[day] = Bars(*(column[rows] for column in bars.columns()))
            await self._store.put_days(
                DAILY_TIER, self.stored(symbol), by_day, {day: self._ttl(day) for day in days}
            )
            return by_day

        key = f"{day_key(DAILY_TIER, self.stored(symbol), first)}-{last:%Y%m%d}"
        return await self._flights.run(key, cached, fetch)
