"""Conversions between US/Eastern wall time (what IQFeed speaks) and UTC epoch seconds.

Inside the platform every time is UTC epoch seconds; IQFeed timestamps and request times are
America/New_York wall time. The vectorised conversion looks up the UTC offset once per
calendar day and computes transition days (DST changes) per element. In the repeated hour of
a fall-back day a wall time is read as its first occurrence (EDT), IQFeed's convention for
history requests; equity markets are closed at that hour.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

EASTERN = ZoneInfo("America/New_York")
_DAY = 86400


@lru_cache(maxsize=8192)
def _day_offsets(day_number: int) -> tuple[int, int]:
    """UTC offsets (seconds) at the start and the end of local day ``day_number``."""
    midnight = datetime(1970, 1, 1) + timedelta(days=day_number)
    first = midnight.replace(tzinfo=EASTERN).utcoffset()
    last = (midnight + timedelta(seconds=_DAY - 1)).replace(tzinfo=EASTERN).utcoffset()
    return int(first.total_seconds()), int(last.total_seconds())


def _offset_of(wall_seconds: int) -> int:
    wall = datetime(1970, 1, 1) + timedelta(seconds=int(wall_seconds))
    return int(wall.replace(tzinfo=EASTERN).utcoffset().total_seconds())


def eastern_to_utc(wall_seconds: np.ndarray) -> np.ndarray:
    """UTC epoch seconds of Eastern wall times given as seconds since 1970-01-01 00:00 (naive).

    >>> int(eastern_to_utc(np.array([1704205800]))[0])  # 2024-01-02 14:30 wall -> 19:30Z
    1704223800
    """
    wall = np.asarray(wall_seconds, dtype=np.int64)
    if wall.size == 0:
        return wall.copy()
    days = wall // _DAY
    unique_days, inverse = np.unique(days, return_inverse=True)
    offsets = np.empty(unique_days.size, dtype=np.int64)
    transition = np.zeros(unique_days.size, dtype=bool)
    for k, day in enumerate(unique_days.tolist()):
        first, last = _day_offsets(day)
        offsets[k] = first
        transition[k] = first != last
    utc = wall - offsets[inverse]
    if transition.any():
        for idx in np.flatnonzero(transition[inverse]).tolist():
            utc[idx] = wall[idx] - _offset_of(wall[idx])
    return utc


def utc_to_eastern(epoch_seconds: np.ndarray) -> np.ndarray:
    """Eastern wall times (naive seconds since 1970-01-01) of UTC epoch seconds."""
    utc = np.asarray(epoch_seconds, dtype=np.int64)
    if utc.size == 0:
        return utc.copy()
    tz_from, tz_offset = offset_table(int(utc.min()), int(utc.max()))
    return utc + tz_offset[np.searchsorted(tz_from, utc, side="right") - 1]


def format_request_time(epoch_seconds: int) -> str:
    """``CCYYMMDD HHMMSS`` in Eastern wall time, as IQFeed history requests expect."""
    return datetime.fromtimestamp(int(epoch_seconds), UTC).astimezone(EASTERN).strftime(
        "%Y%m%d %H%M%S"
    )


@lru_cache(maxsize=256)
def _year_transitions(year: int, zone: ZoneInfo) -> tuple[tuple[int, int], ...]:
    """(UTC instant, new offset) of each offset change in ``year``, found on whole hours."""
    start = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    hours = np.arange(start, int(datetime(year + 1, 1, 1, tzinfo=UTC).timestamp()), 3600)
    offsets = np.array([
        int(datetime.fromtimestamp(int(h), zone).utcoffset().total_seconds()) for h in hours
    ])
    changes = np.flatnonzero(offsets[1:] != offsets[:-1]) + 1
    return tuple((int(hours[i]), int(offsets[i])) for i in changes)


def offset_table(start: int, end: int, zone: ZoneInfo = EASTERN) -> tuple[np.ndarray, np.ndarray]:
    """``(tz_from, tz_offset)`` for the resample kernels: from ``tz_from[k]`` on (UTC), wall time
    is UTC + ``tz_offset[k]``; the first entry covers everything before ``start``."""
    first_year = datetime.fromtimestamp(int(start), UTC).year
    last_year = datetime.fromtimestamp(int(end), UTC).year
    initial = int(datetime.fromtimestamp(int(start), zone).utcoffset().total_seconds())
    froms, offsets = [np.iinfo(np.int64).min], [initial]
    for year in range(first_year, last_year + 1):
        for instant, offset in _year_transitions(year, zone):
            if start < instant <= end:
                froms.append(instant)
                offsets.append(offset)
    return np.array(froms, dtype=np.int64), np.array(offsets, dtype=np.int64)
