"""What the backtest kernels need to know about a chart's bars beyond their prices: where each
session ends and which base bars lie inside each bar (pure NumPy)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np

from feeds.eastern_time import offset_table


def session_ends(t: np.ndarray, zone: str) -> np.ndarray:
    """True for each bar that is the last of its session: the next bar falls on another
    local date in ``zone`` (the last bar: False, its session may go on)."""
    ends = np.zeros(t.size, np.bool_)
    if t.size < 2:
        return ends
    tz_from, tz_offset = offset_table(int(t[0]), int(t[-1]), ZoneInfo(zone))
    local = t + tz_offset[np.searchsorted(tz_from, t, side="right") - 1]
    day = np.floor_divide(local, 86400)
    ends[:-1] = day[1:] != day[:-1]
    return ends


def base_bounds(t: np.ndarray, end: int, base_t: np.ndarray) -> np.ndarray:
    """``bounds`` (bars + 1 indices): bar ``i``'s base bars are those from its start to the
    next bar's (the last bar's: to ``end``), ``base_t`` ascending."""
    return np.searchsorted(base_t, np.r_[t, end]).astype(np.int64)
