"""Resampling OHLCV bars to coarser intervals, aligned to the exchange's session clock.

All kernels take and return NumPy arrays. Bar times ``t`` are UTC epoch seconds of bar STARTS,
integral and strictly ascending (the kernels rely on it: validate input from outside first);
buckets are left-closed and labelled by their start. Exchange wall time comes from a time-zone
table (``tz_from``: UTC instants from which ``tz_offset`` seconds apply, the first entry covering
everything before the data), so DST changes need no Python in the loop.

Aggregation: open = first, high = max, low = min, close = last, volume = sum; a bucket with no
input bar produces no output bar (never NaN-filled rows).

Intraday buckets of ``interval_s`` seconds are counted in wall time from ``anchor_s`` seconds
after local midnight (09:30 for US equities: a 1h bar starts at 09:30, 10:30, ...), restarting
every local day, so an interval that does not divide 24 h still starts at the anchor each day
(the first bucket of a day is cut at local midnight). A bucket never spans two UTC offsets: on
a DST change the wall bucket is cut at the change and merged through its key.

Pitfalls: inputs must hold no NaN (the reductions are compiled with fastmath); volume sums are
exact for integral share counts below 2**53, fractional volumes may differ from a pandas sum in
the last bit because the order of addition differs.
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange

DAY = 86400
WEEK_ANCHOR_DAYS = 4
"""1970-01-01 was a Thursday: local day numbers shifted by 4 make weeks start on Monday."""


@njit(cache=True, nogil=True, inline="always")
def _offset_at(t, tz_from, tz_offset, k):
    """Advance table index ``k`` (non-decreasing in ``t``) and return (offset, k)."""
    while k + 1 < tz_from.size and t >= tz_from[k + 1]:
        k += 1
    return tz_offset[k], k


@njit(cache=True, nogil=True)
def _outputs(size):
    return (np.empty(size, np.int64), np.empty(size, np.float64), np.empty(size, np.float64),
            np.empty(size, np.float64), np.empty(size, np.float64), np.empty(size, np.float64))


@njit(cache=True, nogil=True)
def _bucket(t, interval_s, anchor_s, weekly, session_open_s, tz_from, tz_offset, k):
    """The bucket holding ``t``: (key, UTC start label, UTC end, UTC limit, table index).

    ``interval_s`` > 0: intraday slots from the anchor; 0: the local day (``weekly``: week),
    labelled by its session open. The end is cut at the next offset change so that a bucket
    never spans two offsets; the caller merges the two halves through the equal key. ``limit``
    is the next local midnight or offset change: slots before it follow on without new work.
    """
    offset, k = _offset_at(t, tz_from, tz_offset, k)
    wall = t + offset
    day = wall // DAY
    midnight = day * DAY
    if interval_s > 0:
        slot = (wall - midnight - anchor_s) // interval_s
        start_wall = midnight + anchor_s + slot * interval_s
        end_wall = min(start_wall + interval_s, midnight + DAY)
        key = day * 1_000_000 + slot
        label = max(start_wall, midnight) - offset
    elif weekly:
        week = (day + WEEK_ANCHOR_DAYS) // 7
        end_wall = (week * 7 + 7 - WEEK_ANCHOR_DAYS) * DAY
        key = week
        label = midnight + session_open_s - offset
    else:
        end_wall = midnight + DAY
        key = day
        label = midnight + session_open_s - offset
    limit = midnight + DAY - offset
    if k + 1 < tz_from.size and tz_from[k + 1] < limit:
        limit = tz_from[k + 1]
    return key, label, min(end_wall - offset, limit), limit, k


@njit(cache=True, nogil=True)
def _bucket_stop(t, i, end):
    """First index at or after ``i`` with ``t >= end``: a binary search bounded by the fact that
    distinct integer times fit at most ``end - t[i]`` rows before ``end``."""
    lo = i + 1
    hi = min(t.size, i + max(end - t[i], 1))
    while lo < hi:
        mid = (lo + hi) >> 1
        if t[mid] < end:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True, fastmath=True)
def _fold(h, l, v, start, stop, high, low, volume):
    """Max of ``h``, min of ``l``, sum of ``v`` over ``[start, stop)`` folded into the running
    values. fastmath lets LLVM vectorise; it is exact here because bars carry no NaN, max and
    min do not depend on order, and integral volumes sum exactly in any order."""
    for i in range(start, stop):
        high = max(high, h[i])
        low = min(low, l[i])
        volume += v[i]
    return high, low, volume


@njit(cache=True, nogil=True)
def _resample_range(t, o, h, l, c, v, lo, hi, interval_s, anchor_s, weekly, session_open_s,
                    tz_from, tz_offset, out_t, out_o, out_h, out_l, out_c, out_v, first_out):
    """Resample rows ``[lo, hi)`` into the outputs from row ``first_out`` on; return the count.
    ``lo`` must start a bucket (a local day for intraday, a week for weekly bars)."""
    m = first_out - 1
    k = max(np.searchsorted(tz_from, t[lo], side="right") - 1, 0) if lo < hi else 0
    key = np.int64(-1)
    end = limit = np.iinfo(np.int64).min
    i = lo
    while i < hi:
        previous = key
        if interval_s > 0 and end < limit and t[i] < min(end + interval_s, limit):
            # Fast path: the next slot of the same day and offset; no division needed.
            key, label, end = key + 1, end, min(end + interval_s, limit)
        else:
            key, label, end, limit, k = _bucket(
                t[i], interval_s, anchor_s, weekly, session_open_s, tz_from, tz_offset, k
            )
        if m < first_out or key != previous:
            m += 1
            out_t[m] = label
            out_o[m] = o[i]
            high, low, volume = h[i], l[i], 0.0
        else:  # the same wall bucket after an offset change: keep folding into it
            high, low, volume = out_h[m], out_l[m], out_v[m]
        j = min(_bucket_stop(t, i, end), hi)
        if j - i <= 8:  # short buckets: a plain loop beats a call into the vectorised fold
            for r in range(i, j):
                high = max(high, h[r])
                low = min(low, l[r])
                volume += v[r]
        else:
            high, low, volume = _fold(h, l, v, i, j, high, low, volume)
        i = j
        out_h[m] = high
        out_l[m] = low
        out_c[m] = c[i - 1]
        out_v[m] = volume
    return m + 1 - first_out


@njit(cache=True, nogil=True)
def _day_starts(t, pieces, tz_from, tz_offset):
    """Up to ``pieces`` + 1 row indices that split ``t`` at local midnights into similar parts."""
    bounds = np.zeros(pieces + 1, np.int64)
    bounds[pieces] = t.size
    for p in range(1, pieces):
        i = t.size * p // pieces
        k = max(np.searchsorted(tz_from, t[i], side="right") - 1, 0)
        midnight = (t[i] + tz_offset[k]) // DAY * DAY - tz_offset[k]
        bounds[p] = max(np.searchsorted(t, midnight, side="left"), bounds[p - 1])
    return bounds


@njit(cache=True, nogil=True, parallel=True)
def _resample_intraday_parallel(t, o, h, l, c, v, interval_s, anchor_s, tz_from, tz_offset,
                                pieces):
    bounds = _day_starts(t, pieces, tz_from, tz_offset)
    outs = _outputs(t.size)
    counts = np.zeros(pieces, np.int64)
    for p in prange(pieces):
        counts[p] = _resample_range(
            t, o, h, l, c, v, bounds[p], bounds[p + 1], interval_s, anchor_s, False, 0,
            tz_from, tz_offset, *outs, bounds[p],
        )
    starts = np.zeros(pieces + 1, np.int64)
    starts[1:] = np.cumsum(counts)
    result = _outputs(starts[pieces])
    for p in prange(pieces):
        into, since, n = starts[p], bounds[p], counts[p]
        result[0][into:into + n] = outs[0][since:since + n]
        result[1][into:into + n] = outs[1][since:since + n]
        result[2][into:into + n] = outs[2][since:since + n]
        result[3][into:into + n] = outs[3][since:since + n]
        result[4][into:into + n] = outs[4][since:since + n]
        result[5][into:into + n] = outs[5][since:since + n]
    return result


PARALLEL_MIN_ROWS = 200_000
"""Below this many rows the serial kernel is faster than starting the threads."""


def resample_intraday(t, o, h, l, c, v, interval_s, anchor_s, tz_from, tz_offset):
    """Bars of ``interval_s`` seconds counted from ``anchor_s`` after each local midnight.

    ``t`` must be sorted ascending. One pass; time-zone work only where a bucket ends. Large
    inputs are split at local midnights and resampled in parallel (Numba threads).

    >>> t, x = 86_400 + 34_200 + 60 * np.arange(10), np.arange(1.0, 11.0)  # from 09:30 UTC
    >>> utc = np.array([0]), np.array([0])
    >>> [a.tolist() for a in resample_intraday(t, x, x, x, x, np.ones(10), 300, 34_200, *utc)]
    [[120600, 120900], [1.0, 6.0], [5.0, 10.0], [1.0, 6.0], [5.0, 10.0], [5.0, 5.0]]
    """
    if t.size >= PARALLEL_MIN_ROWS:
        return _resample_intraday_parallel(
            t, o, h, l, c, v, interval_s, anchor_s, tz_from, tz_offset, 4 * get_num_threads()
        )
    return _resample_serial(t, o, h, l, c, v, interval_s, anchor_s, False, 0, tz_from, tz_offset)


@njit(cache=True, nogil=True)
def _resample_serial(t, o, h, l, c, v, interval_s, anchor_s, weekly, session_open_s,
                     tz_from, tz_offset):
    outs = _outputs(t.size)
    n = _resample_range(t, o, h, l, c, v, 0, t.size, interval_s, anchor_s, weekly,
                        session_open_s, tz_from, tz_offset, *outs, 0)
    return outs[0][:n], outs[1][:n], outs[2][:n], outs[3][:n], outs[4][:n], outs[5][:n]


@njit(cache=True, nogil=True)
def resample_sessions(t, o, h, l, c, v, weekly, session_open_s, tz_from, tz_offset):
    """One bar per local day (``weekly`` False) or per Monday-based week, labelled by the first
    day's session open (``session_open_s`` after local midnight, as UTC)."""
    return _resample_serial(t, o, h, l, c, v, 0, 0, weekly, session_open_s, tz_from, tz_offset)


@njit(cache=True, nogil=True)
def session_mask(t, open_s, close_s, tz_from, tz_offset):
    """True for bars whose wall time of day lies in ``[open_s, close_s)``."""
    keep = np.empty(t.size, np.bool_)
    k = 0
    for i in range(t.size):
        offset, k = _offset_at(t[i], tz_from, tz_offset, k)
        clock = (t[i] + offset) % DAY
        keep[i] = open_s <= clock < close_s
    return keep


STANDARD_INTERVALS: dict[str, int] = {
    "5s": 5, "10s": 10, "15s": 15, "30s": 30, "1m": 60, "2m": 120, "3m": 180, "5m": 300,
    "10m": 600, "15m": 900, "30m": 1800, "1h": 3600, "2h": 7200, "4h": 14400,
}
"""Intraday intervals derived by :func:`derive_standard`, finest first."""


def derive_standard(t, o, h, l, c, v, base_s, anchor_s, session_open_s, tz_from, tz_offset):
    """Every standard interval coarser than ``base_s`` plus ``1d``: each from the coarsest level
    already computed that nests in it. Returns ``{name: (t, o, h, l, c, v)}``."""
    levels: dict[int, tuple] = {base_s: (t, o, h, l, c, v)}
    result: dict[str, tuple] = {}
    for name, seconds in STANDARD_INTERVALS.items():
        if seconds <= base_s or seconds % base_s:
            continue
        parent = max(level for level in levels if seconds % level == 0)
        levels[seconds] = resample_intraday(
            *levels[parent], seconds, anchor_s, tz_from, tz_offset
        )
        result[name] = levels[seconds]
    coarsest = max(levels)
    result["1d"] = resample_sessions(
        *levels[coarsest], False, session_open_s, tz_from, tz_offset
    )
    return result
