"""What a chart asks for, validated: symbol, interval, exchange-time range, session kind.

``start`` and ``end`` are ISO dates or date-times in exchange time (America/New_York); a date
``end`` includes that whole day. Intervals: ``<N>s``, ``<N>m``, ``<N>h`` (up to one day), ``1d``
(one bar per session) and ``1w``; daily and weekly ranges may be 20 times ``MAX_REQUEST_DAYS``
long. Every problem raises :class:`FieldError` naming the field.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from deployments.charts.tiers import DAILY_TIER, exchange_today
from deployments.common.errors import FieldError
from deployments.common.settings import Settings
from feeds.eastern_time import EASTERN
from feeds.iqfeed.client import normalize_symbol
from feeds.market_calendar import PRE_MARKET_OPEN, REGULAR_OPEN, trading_days

_INTERVAL = re.compile(r"([1-9][0-9]{0,5})([smh])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}
SESSION_INTERVALS = ("1d", "1w")


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

    def as_json(self) -> dict[str, Any]:
        """The request as JSON-ready values, for a job record; :meth:`from_json` reads it."""
        return {**asdict(self), "days": [day.isoformat() for day in self.days]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChartRequest:
        """The request :meth:`as_json` wrote, as it was validated then (not validated again)."""
        return cls(**{**data, "days": tuple(date.fromisoformat(day) for day in data["days"])})

    @property
    def session_open_s(self) -> int:
        """Seconds after local midnight at which this request's sessions open."""
        opening = REGULAR_OPEN if self.rth else PRE_MARKET_OPEN
        return opening.hour * 3600 + opening.minute * 60


_FIRST_YEAR, _LAST_YEAR = 1990, 2100


def _moment(field: str, text: str, end_of_day: bool) -> datetime:
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
        moment = moment.astimezone(EASTERN).replace(tzinfo=None)
    return moment.replace(tzinfo=EASTERN)


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
    settings: Settings, symbol: str, interval: str, start: str, end: str, rth: bool
) -> ChartRequest:
    """Validate the query parameters of /historical; FieldError names the first bad one."""
    try:
        symbol = normalize_symbol(symbol)
    except ValueError as error:
        raise FieldError("symbol", str(error)) from None
    name, seconds = _interval(interval)
    first = _moment("start", start, end_of_day=False)
    last = _moment("end", end, end_of_day=True)
    if last <= first:
        raise FieldError("end", "must be after start")
    today = exchange_today()
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
        days=days, rth=rth, tier=tier,
    )
