"""What a chart asks for, validated: symbol, interval, exchange-time range, session kind.

``start`` and ``end`` are ISO dates or date-times in the symbol's time zone (America/New_York
for IQFeed symbols, the imported zone for ``file:`` symbols); a date ``end`` includes that whole
day. Intervals: ``<N>s``, ``<N>m``, ``<N>h`` (up to one day), ``1d`` (one bar per session) and
``1w``. IQFeed ranges are limited in days (daily and weekly ones may be 20 times
``MAX_REQUEST_DAYS`` long); an imported symbol's range is limited by its bar count
(``MAX_CHART_BARS``) and its interval by the file's resolution. Every problem raises
:class:`FieldError` naming the field.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from deployments.charts.tiers import DAILY_TIER, exchange_today
from deployments.common.errors import FieldError
from deployments.common.settings import Settings
from feeds.eastern_time import EASTERN
from feeds.files.store import SymbolEntry, file_symbol, is_file_symbol
from feeds.files.validation import resolution_name
from feeds.iqfeed.client import normalize_symbol
from feeds.iqfeed.errors import SymbolNotFound
from feeds.market_calendar import PRE_MARKET_OPEN, REGULAR_CLOSE, REGULAR_OPEN, trading_days
from feeds.market_clock import cache_name

_INTERVAL = re.compile(r"([1-9][0-9]{0,5})([smh])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}
SESSION_INTERVALS = ("1d", "1w")
FILE_TIER = "file"
"""The tier of an imported symbol: its own bars, at the file's resolution."""
_TIER_BASE_S = {"1s": 1, "1m": 60, "1d": 86400}


def _seconds_of(clock: time) -> int:
    return clock.hour * 3600 + clock.minute * 60


EXCHANGE_SESSION = (_seconds_of(REGULAR_OPEN), _seconds_of(REGULAR_CLOSE))


@dataclass(frozen=True)
class ChartRequest:
    """A validated chart request; times are UTC epoch seconds, ``end`` exclusive."""

    symbol: str
    interval: str
    interval_s: int
    start: int
    end: int
    days: tuple[date, ...]
    rth: bool
    tier: str
    zone: str = "America/New_York"
    base_s: int = 0
    """Seconds of the base bars the chart is built from (0: the tier's)."""
    session: tuple[int, int] | None = EXCHANGE_SESSION
    """Regular session, seconds after local midnight; None: a 24-hour market."""
    generation: int = 0
    """An imported symbol's generation: a re-import changes it, and so the cache keys."""
    market: str = ""
    """The market clock's tag when replaying (its caches are its own), else empty."""

    def as_json(self) -> dict[str, Any]:
        """The request as JSON-ready values, for a job record; :meth:`from_json` reads it."""
        return {**asdict(self), "days": [day.isoformat() for day in self.days]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChartRequest:
        """The request :meth:`as_json` wrote, as it was validated then (not validated again)."""
        session = data.get("session", EXCHANGE_SESSION)
        return cls(**{**data, "days": tuple(date.fromisoformat(day) for day in data["days"]),
                      "session": tuple(session) if session else None})

    @property
    def bar_s(self) -> int:
        """Seconds of one base bar."""
        return self.base_s or _TIER_BASE_S[self.tier]

    @property
    def is_file(self) -> bool:
        """True for an imported symbol."""
        return self.tier == FILE_TIER

    @property
    def cache_symbol(self) -> str:
        """The symbol as cache keys name it (an imported one with its generation)."""
        if self.is_file:
            return f"{self.symbol}@{self.generation}"
        return cache_name(self.symbol, self.market)

    @property
    def anchor_s(self) -> int:
        """Seconds after local midnight that intraday buckets count from (the regular open)."""
        return self.session[0] if self.session else 0

    @property
    def session_open_s(self) -> int:
        """Seconds after local midnight at which this request's sessions open."""
        if self.is_file:
            return self.session[0] if self.rth and self.session else 0
        opening = REGULAR_OPEN if self.rth else PRE_MARKET_OPEN
        return opening.hour * 3600 + opening.minute * 60


_FIRST_YEAR, _LAST_YEAR = 1990, 2100


def _moment(field: str, text: str, end_of_day: bool, zone: ZoneInfo = EASTERN) -> datetime:
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day + timedelta(days=1) if end_of_day else day, time())
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        raise FieldError(field, "must be an ISO date (2024-07-01) or date-time") from None
    except OverflowError:
        raise FieldError(field, f"must be between {_FIRST_YEAR} and {_LAST_YEAR}") from None
    if not _FIRST_YEAR <= moment.year <= _LAST_YEAR:
        raise FieldError(field, f"must be between {_FIRST_YEAR} and {_LAST_YEAR}")
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone).replace(tzinfo=None)
    return moment.replace(tzinfo=zone)


def _interval(text: str) -> tuple[str, int]:
    """(canonical name, seconds): ``60s`` and ``1m`` are the same interval, named ``1m``."""
    if text in SESSION_INTERVALS:
        return text, 86400 if text == "1d" else 7 * 86400
    match = _INTERVAL.fullmatch(text)
    if not match:
        raise FieldError("interval", "must look like 5s, 1m, 15m, 1h, 4h, 1d or 1w")
    seconds = int(match[1]) * _UNIT_SECONDS[match[2]]
    if seconds > 86400:
        raise FieldError("interval", "intraday intervals go up to 24h; use 1d or 1w")
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}", seconds
    raise AssertionError("unreachable")


def parse_chart_request(
    settings: Settings, symbol: str, interval: str, start: str, end: str, rth: bool,
    imported: SymbolEntry | None = None,
) -> ChartRequest:
    """Validate the query parameters of /historical; FieldError names the first bad one.

    A ``file:`` symbol needs its catalog entry ``imported`` (SymbolNotFound without one).
    """
    if is_file_symbol(symbol):
        return _file_request(settings, symbol, interval, start, end, rth, imported)
    try:
        symbol = normalize_symbol(symbol)
    except ValueError as error:
        raise FieldError("symbol", str(error)) from None
    name, seconds = _interval(interval)
    first = _moment("start", start, end_of_day=False)
    last = _moment("end", end, end_of_day=True)
    if last <= first:
        raise FieldError("end", "must be after start")
    clock = settings.market_clock()
    today = exchange_today(clock)
    if first.date() > today:
        raise FieldError("start", "is in the future")
    span_days = (last - first).days
    # Daily bars of regular sessions are cheap (one feed request); anything built from
    # intraday bars is held to MAX_REQUEST_DAYS.
    long_ok = name in SESSION_INTERVALS and rth
    limit = settings.max_request_days * (20 if long_ok else 1)
    if span_days > limit:
        raise FieldError("end", f"the range may span at most {limit} days at this interval")
    final_day = (last - timedelta(seconds=1)).date()  # ``last`` is exclusive
    days = tuple(trading_days(first.date(), min(final_day, today)))
    seconds_kept_since = today - timedelta(days=settings.second_history_days)
    if name in SESSION_INTERVALS:
        # Regular sessions come from IQFeed's daily bars; extended ones from minute bars.
        tier = DAILY_TIER if rth else "1m"
    elif span_days > settings.minute_tier_after_days or first.date() < seconds_kept_since:
        if seconds % 60:
            raise FieldError("interval", (
                f"second intervals need a range of at most {settings.minute_tier_after_days} "
                f"days within the last {settings.second_history_days} days"))
        tier = "1m"
    else:
        tier = "1s"
    return ChartRequest(
        symbol=symbol, interval=name, interval_s=seconds,
        start=int(first.timestamp()), end=int(last.timestamp()),
        days=days, rth=rth, tier=tier, market=clock.tag,
    )


def _file_request(
    settings: Settings, symbol: str, interval: str, start: str, end: str, rth: bool,
    imported: SymbolEntry | None,
) -> ChartRequest:
    """An imported symbol's chart: its zone, its resolution as the finest interval, and a range
    limited by the bars it holds rather than by days."""
    try:
        symbol = file_symbol(symbol)
    except ValueError as error:
        raise FieldError("symbol", str(error)) from None
    if imported is None or imported.symbol != symbol:
        raise SymbolNotFound(f"unknown symbol: {symbol} (not imported)")
    name, seconds = _interval(interval)
    resolution = imported.resolution_s
    if seconds < resolution:
        raise FieldError("interval",
                         f"finest interval for this symbol is {resolution_name(resolution)}")
    if name not in SESSION_INTERVALS and seconds % resolution:
        raise FieldError("interval", f"must be a multiple of {resolution_name(resolution)} "
                                     "(the symbol's resolution)")
    zone = ZoneInfo(imported.timezone)
    first = _moment("start", start, end_of_day=False, zone=zone)
    last = _moment("end", end, end_of_day=True, zone=zone)
    if last <= first:
        raise FieldError("end", "must be after start")
    if first.date() > datetime.now(zone).date():
        raise FieldError("start", "is in the future")
    lo, hi = int(first.timestamp()), int(last.timestamp())
    held = max(1, imported.last + resolution - imported.first)
    overlap = max(0, min(hi, imported.last + resolution) - max(lo, imported.first))
    estimate = int(imported.bars * overlap / held)
    if estimate > settings.max_chart_bars:
        raise FieldError("end", (
            f"the range holds about {estimate:,} bars of {resolution_name(resolution)}; a chart "
            f"may hold at most {settings.max_chart_bars:,} (MAX_CHART_BARS): shorten it"))
    return ChartRequest(
        symbol=symbol, interval=name, interval_s=seconds, start=lo, end=hi, days=(), rth=rth,
        tier=FILE_TIER, zone=imported.timezone, base_s=resolution, session=imported.session,
        generation=imported.generation,
    )
