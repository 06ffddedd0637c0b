"""Checks of imported bars, batch by batch, and the resolution the file's bars have.

Each batch is checked in a few vectorised passes; the first bad row raises ImportRejected with
its row number and the file's column name: a time that is not after the previous one
(duplicate or unsorted), a time after now, a missing (NaN) or infinite price or volume, a
high below max(open, close), a low above min(open, close), a negative volume. The resolution
is the most common step between consecutive bars in wall time of the symbol's zone (so that
daily bars are 86400 s apart across DST changes), from one second to one day.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np

from feeds.bars import Bars
from feeds.eastern_time import offset_table
from feeds.files.columns import ColumnMap
from feeds.files.errors import ImportRejected

DAY_S = 86400
RESOLUTIONS_S = (1, 2, 5, 10, 15, 30, 60, 120, 180, 300, 600, 900, 1200, 1800, 3600, 7200,
                 10800, 14400, 21600, 28800, 43200, DAY_S)
"""Bar lengths a file may have: they divide a day, so sessions and days split into whole bars."""


def resolution_name(seconds: int) -> str:
    """``60`` -> ``1m``, ``86400`` -> ``1d``: the interval name the charts take.

    >>> resolution_name(300), resolution_name(86400), resolution_name(15)
    ('5m', '1d', '15s')
    """
    if seconds == DAY_S:
        return "1d"
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    raise ValueError(seconds)


def wall_seconds(t: np.ndarray, zone: ZoneInfo) -> np.ndarray:
    """Wall-clock seconds (naive, since 1970-01-01) in ``zone`` of UTC epoch seconds."""
    if t.size == 0:
        return t.copy()
    tz_from, tz_offset = offset_table(int(t.min()), int(t.max()), zone)
    return t + tz_offset[np.searchsorted(tz_from, t, side="right") - 1]


@dataclass
class BarChecks:
    """Checks consecutive batches of one file; :meth:`resolution_s` after the last one."""

    columns: ColumnMap
    zone: ZoneInfo
    now: float = field(default_factory=time.time)
    rows: int = 0
    _last_t: int | None = None
    _last_wall: int | None = None
    _steps: Counter = field(default_factory=Counter)

    def check(self, first_row: int, bars: Bars) -> None:
        """Raise ImportRejected for the first bad row of the batch starting at ``first_row``."""
        names = self.columns
        t = bars.t
        self._check_order(first_row, t)
        future = np.flatnonzero(t > self.now)
        if future.size:
            raise ImportRejected("is in the future", row=first_row + int(future[0]),
                                 column=names.time)
        for role, column in names.prices().items():
            values = getattr(bars, role[0] if role != "volume" else "v")
            bad = np.flatnonzero(~np.isfinite(values))
            if bad.size:
                raise ImportRejected("is missing or not a number (NaN)",
                                     row=first_row + int(bad[0]), column=column)
        _first_bad(first_row, bars.h < np.maximum(bars.o, bars.c), names.high,
                   "high is below max(open, close)")
        _first_bad(first_row, bars.l > np.minimum(bars.o, bars.c), names.low,
                   "low is above min(open, close)")
        if names.volume is not None:
            _first_bad(first_row, bars.v < 0, names.volume, "volume is negative")
        wall = wall_seconds(t, self.zone)
        self._count_steps(_steps(self._last_wall, wall))
        self._last_t, self._last_wall = int(t[-1]), int(wall[-1])
        self.rows += t.size

    def _count_steps(self, steps: np.ndarray) -> None:
        """Count the positive steps, ascending (as np.unique would): a bincount up to a day,
        np.unique above (a few gaps)."""
        short = steps[(steps > 0) & (steps <= DAY_S)]
        counts = np.bincount(short, minlength=0) if short.size else np.zeros(0, np.int64)
        values = np.flatnonzero(counts)
        long_values, long_counts = np.unique(steps[steps > DAY_S], return_counts=True)
        self._steps.update(dict(zip(values.tolist() + long_values.tolist(),
                                    counts[values].tolist() + long_counts.tolist(), strict=True)))

    def _check_order(self, first_row: int, t: np.ndarray) -> None:
        previous = self._last_t
        steps = _steps(previous, t)
        bad = np.flatnonzero(steps <= 0)
        if bad.size:
            index = int(bad[0]) + (0 if previous is not None else 1)
            problem = "duplicate timestamp" if steps[bad[0]] == 0 else (
                "timestamps are not sorted (earlier than the row before)")
            raise ImportRejected(problem, row=first_row + index, column=self.columns.time)

    def resolution_s(self, declared_s: int | None) -> int:
        """The file's bar length: ``declared_s`` when given (checked), else the commonest step."""
        if self.rows == 0:
            raise ImportRejected("the file holds no bars")
        if not self._steps:
            if declared_s is None:
                raise ImportRejected("one bar only: give the resolution", column=None)
            return declared_s
        common = self._steps.most_common(1)[0][0]
        shortest = min(self._steps)
        if declared_s is None:
            if common not in RESOLUTIONS_S:
                daily = common % DAY_S == 0 and shortest >= DAY_S
                if daily and common < 7 * DAY_S:
                    common = DAY_S
                elif common > DAY_S:
                    raise ImportRejected(
                        f"bars are {common // DAY_S} days apart: the coarsest resolution is 1d")
                else:
                    raise ImportRejected(
                        f"bars are {common} s apart, not a resolution that divides a day "
                        "(1s, 5s, 1m, 5m, 1h, 1d ...): give the resolution")
            declared_s = common
        if shortest < declared_s:
            raise ImportRejected(
                f"bars {shortest} s apart are closer than the resolution "
                f"{resolution_name(declared_s)}")
        return declared_s


def _steps(previous: int | None, values: np.ndarray) -> np.ndarray:
    """Differences of consecutive ``values`` (int64), the first one from ``previous`` if any."""
    values = values.astype(np.int64, copy=False)
    if previous is None:
        return np.diff(values)
    return np.diff(values, prepend=np.int64(previous))


def _first_bad(first_row: int, bad: np.ndarray, column: str, message: str) -> None:
    rows = np.flatnonzero(bad)
    if rows.size:
        raise ImportRejected(message, row=first_row + int(rows[0]), column=column)
