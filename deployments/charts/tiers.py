"""The base-bar tiers charts are built from, and the exchange's today (pure: no I/O)."""

from __future__ import annotations

from datetime import date, datetime

from feeds.eastern_time import EASTERN
from feeds.market_clock import WALL_CLOCK, MarketClock

TIER_SECONDS = {"1s": 1, "1m": 60}
"""Intraday tiers of stored base bars and their bar length in seconds."""
DAILY_TIER = "1d"
"""The tier of one regular-session bar per trading day."""


def exchange_today(clock: MarketClock = WALL_CLOCK) -> date:
    """Today's date on the exchange's clock (a replay's day when replaying)."""
    if clock.replaying:
        return clock.today()
    return datetime.now(EASTERN).date()
