"""The market's clock: real time, or a past session replayed at N x speed.

Every part that asks "what time is it on the market" (the simulator's history and streams, the
platform's "today") reads one :class:`MarketClock`. Live, it is the wall clock. In replay mode
(``--replay 2026-11-20 --speed 60``) the market's now starts at the replayed moment (the
regular open when only a date is given) at ``origin`` (a UTC epoch second of the wall clock,
the same in every process, so the simulator relaunched by the watchdog resumes where it was)
and runs ``speed`` times faster than the wall clock. Nothing of the replayed day after the
market's now exists anywhere: it is "today" and is still trading.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime

from feeds.eastern_time import EASTERN
from feeds.market_calendar import is_trading_day, session_bounds_utc


def cache_name(symbol: str, tag: str) -> str:
    """``symbol`` as caches name it under market clock ``tag``: a replay's bars (its "today"
    is a past day, still trading) are kept apart from the live market's."""
    return f"{symbol}~{tag}" if tag else symbol


def parse_replay_start(text: str) -> int:
    """UTC epoch second a replay starts at: ``2026-11-20`` (that day's regular open) or
    ``2026-11-20T10:15`` (Eastern); ValueError naming the problem."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            if not is_trading_day(day):
                raise ValueError(f"{text} is not a trading day")
            return session_bounds_utc(day)[0]
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise ValueError(f"replay start must be a trading day (2026-11-20) or an Eastern "
                         f"date-time (2026-11-20T10:15): {error}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=EASTERN)
    if not is_trading_day(moment.astimezone(EASTERN).date()):
        raise ValueError(f"{text} is not on a trading day")
    return int(moment.timestamp())


@dataclass(frozen=True)
class MarketClock:
    """The market's now; ``replay_start`` None means the wall clock."""

    replay_start: int | None = None
    speed: float = 1.0
    origin: float = 0.0

    @property
    def replaying(self) -> bool:
        """True for a replayed session."""
        return self.replay_start is not None

    @property
    def tag(self) -> str:
        """A short name of this replay (empty when live), for keeping its caches apart."""
        if self.replay_start is None:
            return ""
        return f"replay-{self.replay_start}-{int(self.origin)}-{self.speed:g}"

    def now(self) -> float:
        """UTC epoch seconds on the market's clock."""
        if self.replay_start is None:
            return time.time()
        return self.replay_start + (time.time() - self.origin) * self.speed

    def wall_delay(self, market_seconds: float) -> float:
        """Wall seconds that ``market_seconds`` of market time take."""
        return market_seconds / self.speed

    def today(self) -> date:
        """The exchange's date at the market's now."""
        return datetime.fromtimestamp(self.now(), EASTERN).date()


WALL_CLOCK = MarketClock()
"""The live market: the wall clock."""
