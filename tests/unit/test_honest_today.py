"""Today's daily bar on the chart path, with the clock fixed at several times of day.

The simulator (over real TCP, its clock fixed) answers the day's 1-minute bars so far; the chart
path makes today's daily bar from them (:func:`session_bar`, what ``BaseBarLoader`` does for
today) and the 1d chart of the 1-minute tier resamples them (:func:`build_chart`). Both equal the
simulator's own daily bar at that moment, and nothing lies after the clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import pytest_asyncio

from deployments.charts.base_bars import session_bar
from deployments.charts.builder import build_chart
from deployments.charts.request import ChartRequest
from feeds.bars import Bars
from feeds.iqfeed import IQFeedClient
from feeds.market_calendar import is_early_close, session_bounds_utc
from feeds.simulator import IQFeedSimulator

ET = ZoneInfo("America/New_York")
FULL_DAY = date(2026, 3, 11)
EARLY_CLOSE = date(2026, 11, 27)  # the day after Thanksgiving: 13:00


def _at(day: date, hour: int, minute: int) -> float:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ET).timestamp()


@pytest_asyncio.fixture
async def clocked() -> AsyncIterator[tuple[IQFeedSimulator, IQFeedClient]]:
    """A simulator whose clock the test sets, and our client connected to it."""
    sim = IQFeedSimulator(lookup_port=0, admin_port=0, second_history_days=0)
    await sim.start()
    client = IQFeedClient("127.0.0.1", sim.lookup_port, pool_size=1, timeout_s=30)
    yield sim, client
    await client.close()
    await sim.stop()


def _daily_request(day: date) -> ChartRequest:
    opening, closing = session_bounds_utc(day, extended=True)
    return ChartRequest(symbol="SPY", interval="1d", interval_s=86400, start=opening,
                        end=closing, days=(day,), rth=True, tier="1m")


def _row(bars: Bars) -> list[float]:
    assert len(bars) == 1
    return [float(column[0]) for column in bars.columns()]


@pytest.mark.parametrize(("day", "clock"), [
    (FULL_DAY, (9, 45)), (FULL_DAY, (12, 30)), (FULL_DAY, (15, 59)), (FULL_DAY, (19, 0)),
    (EARLY_CLOSE, (11, 0)), (EARLY_CLOSE, (14, 0)),
])
async def test_todays_daily_bar_is_its_minutes_so_far(clocked, day, clock):
    sim, client = clocked
    now = _at(day, *clock)
    sim.clock = lambda: now
    start, end = session_bounds_utc(day, extended=True)
    minutes = await client.fetch_bars("SPY", start, end, 60)
    assert minutes.t.size and minutes.t[-1] + 60 <= now, "no minute ends after now"
    ours = session_bar(minutes, *session_bounds_utc(day))
    resampled = build_chart(_daily_request(day), minutes)
    feed = await client.fetch_daily("SPY", day, day)
    np.testing.assert_allclose(_row(ours), _row(feed), rtol=1e-12)
    np.testing.assert_allclose(_row(resampled), _row(feed), rtol=1e-12)
    opening, closing = session_bounds_utc(day)
    if is_early_close(day) and clock[0] >= 13:
        assert minutes.t[-1] >= closing, "after-hours bars exist and stay out of the day bar"
    regular = (minutes.t >= opening) & (minutes.t < closing)
    assert _row(ours)[5] == pytest.approx(minutes.v[regular].sum(), rel=1e-12)


async def test_before_the_open_there_is_no_daily_bar_today(clocked):
    sim, client = clocked
    sim.clock = lambda: _at(FULL_DAY, 9, 0)
    start, end = session_bounds_utc(FULL_DAY, extended=True)
    minutes = await client.fetch_bars("SPY", start, end, 60)
    assert len(session_bar(minutes, *session_bounds_utc(FULL_DAY))) == 0
    assert len(build_chart(_daily_request(FULL_DAY), minutes)) == 0
