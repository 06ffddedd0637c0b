"""US equity (NYSE) trading calendar in the exchange time zone, America/New_York.

Answers which days the market trades and when its sessions open and close in UTC, so that the
synthetic market and the IQFeed simulator agree with a real feed on where bars can exist.

Early closes: the regular session ends at 13:00 ET, and the extended (NYSE Arca late) session at
17:00 ET instead of 20:00, on the day after Thanksgiving, on 24 December and on 3 July, each only
when it is a trading day. So 3 July closes early when Independence Day falls Tuesday to Friday
(a Saturday 4 July makes Friday 3 July the observed holiday; a Monday 4 July leaves Friday 1 July
a full day), and 24 December when it falls Monday to Thursday (a Friday 24 December is the
observed Christmas holiday). Before 2013 a Thursday Independence Day moved the early close from
Wednesday 3 July to Friday 5 July, as NYSE did from 1996 to 2012.

Left out: one-off closures (9/11, Hurricane Sandy, national days of mourning) and one-off early
closes (26 December 1997 and 2003, weather); 14:00 closes before 1993 and the irregular Christmas
Eves before 1999 are treated as the rules above. Holiday rules follow current NYSE practice and
are applied to all years alike, except that MLK Day starts in 1998 and Juneteenth in 2022.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import numpy as np

from feeds.eastern_time import EASTERN

EXCHANGE_TZ = EASTERN

PRE_MARKET_OPEN = time(4, 0)
REGULAR_OPEN = time(9, 30)
REGULAR_CLOSE = time(16, 0)
AFTER_HOURS_CLOSE = time(20, 0)
EARLY_CLOSE = time(13, 0)
EARLY_AFTER_HOURS_CLOSE = time(17, 0)

_MONDAY, _THURSDAY, _SATURDAY, _SUNDAY = 0, 3, 5, 6
_FRIDAY_AFTER_JULY_4_UNTIL = 2013  # from 2013 a Thursday July 4 closes Wednesday July 3 early


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th (1-based) given weekday of a month."""
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    """The last given weekday of a month."""
    nxt = date(year + month // 12, month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _easter(year: int) -> date:
    """Easter Sunday, anonymous Gregorian algorithm (Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _observed(day: date) -> date:
    """Saturday holidays move to the Friday before, Sunday holidays to the Monday after."""
    if day.weekday() == _SATURDAY:
        return day - timedelta(days=1)
    if day.weekday() == _SUNDAY:
        return day + timedelta(days=1)
    return day


@lru_cache(maxsize=256)
def nyse_holidays(year: int) -> frozenset[date]:
    """NYSE full-day closures of ``year`` as observed (weekend rules applied).

    A Saturday New Year's Day is not observed on the Friday before (NYSE rule 7.2).
    """
    days: set[date] = set()
    new_year = date(year, 1, 1)
    if new_year.weekday() != _SATURDAY:
        days.add(_observed(new_year))
    if year >= 1998:
        days.add(_nth_weekday(year, 1, _MONDAY, 3))  # Martin Luther King Jr. Day
    days.add(_nth_weekday(year, 2, _MONDAY, 3))  # Washington's Birthday
    days.add(_easter(year) - timedelta(days=2))  # Good Friday
    days.add(_last_weekday(year, 5, _MONDAY))  # Memorial Day
    if year >= 2022:
        days.add(_observed(date(year, 6, 19)))  # Juneteenth
    days.add(_observed(date(year, 7, 4)))  # Independence Day
    days.add(_nth_weekday(year, 9, _MONDAY, 1))  # Labor Day
    days.add(_nth_weekday(year, 11, _THURSDAY, 4))  # Thanksgiving
    days.add(_observed(date(year, 12, 25)))  # Christmas
    return frozenset(days)


def is_trading_day(day: date) -> bool:
    """True when NYSE trades on ``day``: a weekday that is not a full-day holiday."""
    return day.weekday() < _SATURDAY and day not in nyse_holidays(day.year)


def trading_days(start: date, end: date) -> list[date]:
    """Trading days from ``start`` to ``end``, both inclusive, ascending (empty if end < start)."""
    return [
        start + timedelta(days=i)
        for i in range((end - start).days + 1)
        if is_trading_day(start + timedelta(days=i))
    ]


def _independence_eve(year: int) -> date:
    """The early-close candidate near Independence Day: 3 July (5 July for a pre-2013 Thursday)."""
    july_4 = date(year, 7, 4)
    if year < _FRIDAY_AFTER_JULY_4_UNTIL and july_4.weekday() == _THURSDAY:
        return date(year, 7, 5)
    return date(year, 7, 3)


@lru_cache(maxsize=256)
def early_closes(year: int) -> frozenset[date]:
    """Trading days of ``year`` whose regular session closes at 13:00 ET.

    >>> sorted(early_closes(2026))
    [datetime.date(2026, 11, 27), datetime.date(2026, 12, 24)]
    """
    thanksgiving = _nth_weekday(year, 11, _THURSDAY, 4)
    candidates = (_independence_eve(year), thanksgiving + timedelta(days=1), date(year, 12, 24))
    return frozenset(day for day in candidates if is_trading_day(day))


def is_early_close(day: date) -> bool:
    """True when ``day`` is a trading day that closes early (13:00 ET, late session 17:00 ET)."""
    return day in early_closes(day.year)


def regular_close(day: date) -> time:
    """Wall-clock end of ``day``'s regular session: 13:00 on early-close days, else 16:00."""
    return EARLY_CLOSE if is_early_close(day) else REGULAR_CLOSE


def after_hours_close(day: date) -> time:
    """Wall-clock end of ``day``'s extended session: 17:00 on early-close days, else 20:00."""
    return EARLY_AFTER_HOURS_CLOSE if is_early_close(day) else AFTER_HOURS_CLOSE


def _utc_seconds(day: date, at: time) -> int:
    """UTC epoch seconds of wall-clock time ``at`` on ``day`` in the exchange time zone."""
    return int(datetime.combine(day, at, tzinfo=EXCHANGE_TZ).timestamp())


def session_bounds_utc(day: date, extended: bool = False) -> tuple[int, int]:
    """UTC epoch seconds [open, close) of ``day``'s session, DST-correct.

    Regular session 09:30-16:00 ET (09:30-13:00 on early-close days); with ``extended``
    04:00-20:00 ET (04:00-17:00 on early-close days). The day is not checked for trading.
    """
    if extended:
        return _utc_seconds(day, PRE_MARKET_OPEN), _utc_seconds(day, after_hours_close(day))
    return _utc_seconds(day, REGULAR_OPEN), _utc_seconds(day, regular_close(day))


def after_early_closes(t: np.ndarray, days: Iterable[date]) -> np.ndarray:
    """True for UTC times ``t`` between the 13:00 close and the usual 16:00 of those ``days``
    that close early: after-hours there, although a fixed 09:30-16:00 window holds them."""
    late = np.zeros(t.size, dtype=bool)
    for day in days:
        if is_early_close(day):
            late |= (t >= session_bounds_utc(day)[1]) & (t < _utc_seconds(day, REGULAR_CLOSE))
    return late
