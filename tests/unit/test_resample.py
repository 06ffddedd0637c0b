"""Resampling kernels against pandas ``resample().agg()`` in exchange time, property-tested."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds.eastern_time import offset_table
from kernels.resample import (
    PARALLEL_MIN_ROWS,
    STANDARD_INTERVALS,
    derive_standard,
    resample_intraday,
    resample_sessions,
    session_mask,
)

NY = ZoneInfo("America/New_York")
ANCHOR = 9 * 3600 + 1800
# First days of windows that cross DST changes, a weekend and a holiday (Good Friday 2024).
FIRST_DAYS = ["2024-03-07", "2024-10-31", "2024-03-27", "2024-06-03"]


def _random_bars(seed: int, first_day: str, days: int, fill: float):
    """Random 1-second bars inside the extended session (04:00-20:00 New York) of each
    weekday, with ``1 - fill`` of the seconds empty."""
    rng = np.random.default_rng(seed)
    seconds = []
    for day in pd.bdate_range(first_day, periods=days):
        open_ = int(pd.Timestamp(f"{day.date()} 04:00", tz=NY).timestamp())
        seconds.append(np.arange(open_, open_ + 16 * 3600, dtype=np.int64))
    seconds = np.concatenate(seconds)
    t = seconds[rng.random(seconds.size) < fill]
    if t.size == 0:
        t = seconds[:1]
    close = 100 + np.cumsum(rng.normal(0, 0.05, t.size)).round(2)
    open_ = np.r_[close[0], close[:-1]]
    high = np.maximum(open_, close) + rng.random(t.size).round(2)
    low = np.minimum(open_, close) - rng.random(t.size).round(2)
    volume = rng.integers(1, 500, t.size).astype(np.float64)
    return t, open_, high, low, close, volume


def _pandas(t, o, h, l, c, v, rule: str, offset: str | None):
    """pandas' bars, resampled one local day at a time: across a DST change pandas keeps an
    absolute-time grid, while session alignment (and this platform) keeps the wall clock."""
    frame = pd.DataFrame(
        {"o": o, "h": h, "l": l, "c": c, "v": v},
        index=pd.to_datetime(t, unit="s", utc=True).tz_convert(NY),
    )
    days = []
    for local_date, day in frame.groupby(frame.index.date):
        grouped = day.resample(rule, offset=offset, label="left", closed="left")
        bars = grouped.agg({"o": "first", "h": "max", "l": "min", "c": "last", "v": "sum"})
        bars = bars[grouped.size() > 0]
        # A day's first bucket starts no earlier than its local midnight (documented).
        midnight = pd.Timestamp(local_date, tz=NY)
        bars.index = bars.index.where(bars.index >= midnight, midnight)
        days.append(bars)
    bars = pd.concat(days)
    return bars.index.tz_convert("UTC").as_unit("s").asi8, bars


def _assert_same(ours, expected_t, expected):
    t, o, h, l, c, v = ours
    np.testing.assert_array_equal(t, expected_t)
    for got, column in zip((o, h, l, c, v), "ohlcv", strict=True):
        np.testing.assert_array_equal(got, expected[column].to_numpy())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    first_day=st.sampled_from(FIRST_DAYS),
    days=st.integers(1, 3),
    fill=st.floats(0.02, 1.0),
    # The standard intervals and some that do not divide an hour or a day.
    interval=st.sampled_from([*sorted(STANDARD_INTERVALS.values()), 7, 420, 5400, 36000, 46800]),
)
def test_intraday_matches_pandas(seed, first_day, days, fill, interval):
    bars = _random_bars(seed, first_day, days, fill)
    tz_from, tz_offset = offset_table(bars[0][0], bars[0][-1])
    ours = resample_intraday(*bars, interval, ANCHOR, tz_from, tz_offset)
    expected_t, expected = _pandas(*bars, f"{interval}s", "9h30min")
    _assert_same(ours, expected_t, expected)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1), first_day=st.sampled_from(FIRST_DAYS),
    fill=st.floats(0.02, 1.0),
)
def test_derived_levels_equal_direct_resampling(seed, first_day, fill):
    bars = _random_bars(seed, first_day, 3, fill)
    tz_from, tz_offset = offset_table(bars[0][0], bars[0][-1])
    derived = derive_standard(*bars, 1, ANCHOR, ANCHOR, tz_from, tz_offset)
    for name, seconds in STANDARD_INTERVALS.items():
        direct = resample_intraday(*bars, seconds, ANCHOR, tz_from, tz_offset)
        for got, want in zip(derived[name], direct, strict=True):
            np.testing.assert_array_equal(got, want)
    daily = resample_sessions(*bars, False, ANCHOR, tz_from, tz_offset)
    for got, want in zip(derived["1d"], daily, strict=True):
        np.testing.assert_array_equal(got, want)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1), first_day=st.sampled_from(FIRST_DAYS), weekly=st.booleans()
)
def test_sessions_match_pandas_days_and_weeks(seed, first_day, weekly):
    bars = _random_bars(seed, first_day, 12, 0.01)
    tz_from, tz_offset = offset_table(bars[0][0], bars[0][-1])
    t, *ohlcv = resample_sessions(*bars, weekly, ANCHOR, tz_from, tz_offset)
    expected = _weekly(bars) if weekly else _pandas(*bars, "1D", None)[1]
    for got, column in zip(ohlcv, "ohlcv", strict=True):
        np.testing.assert_array_equal(got, expected[column].to_numpy())
    local_days = pd.to_datetime(t, unit="s", utc=True).tz_convert(NY)
    assert all(x.hour == 9 and x.minute == 30 for x in local_days), "labelled at the 09:30 open"


def _weekly(bars):
    t, o, h, l, c, v = bars
    frame = pd.DataFrame(
        {"o": o, "h": h, "l": l, "c": c, "v": v},
        index=pd.to_datetime(t, unit="s", utc=True).tz_convert(NY),
    )
    week = frame.index.tz_localize(None).to_period("W-SUN")
    return frame.groupby(week).agg({"o": "first", "h": "max", "l": "min", "c": "last", "v": "sum"})


def test_hour_bars_start_at_half_past_in_both_offsets():
    for day in ("2024-01-08", "2024-07-08"):
        bars = _random_bars(1, day, 1, 1.0)
        tz_from, tz_offset = offset_table(bars[0][0], bars[0][-1])
        t = resample_intraday(*bars, 3600, ANCHOR, tz_from, tz_offset)[0]
        local = pd.to_datetime(t, unit="s", utc=True).tz_convert(NY)
        # 04:00-20:00 of data: the first bucket [03:30, 04:30) is labelled by its start.
        assert [x.strftime("%H:%M") for x in local] == [f"{hour:02d}:30" for hour in range(3, 20)]


def test_session_mask_keeps_regular_hours():
    start = int(pd.Timestamp("2024-03-08 09:00", tz=NY).timestamp())
    t = np.arange(start, start + 4 * 86400, 60, dtype=np.int64)
    tz_from, tz_offset = offset_table(t[0], t[-1])
    keep = session_mask(t, ANCHOR, 16 * 3600, tz_from, tz_offset)
    local = pd.to_datetime(t, unit="s", utc=True).tz_convert(NY)
    minutes = local.hour * 60 + local.minute
    np.testing.assert_array_equal(keep, (minutes >= 570) & (minutes < 960))


@pytest.mark.parametrize("interval", [5, 60, 7200])
def test_large_inputs_split_by_day_in_parallel_give_the_same_bars(interval):
    bars = _random_bars(3, "2024-03-06", 6, 0.9)  # ~311k rows across the spring DST change
    assert bars[0].size >= PARALLEL_MIN_ROWS
    tz_from, tz_offset = offset_table(bars[0][0], bars[0][-1])
    ours = resample_intraday(*bars, interval, ANCHOR, tz_from, tz_offset)
    expected_t, expected = _pandas(*bars, f"{interval}s", "9h30min")
    _assert_same(ours, expected_t, expected)
