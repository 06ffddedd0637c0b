"""The asyncio IQFeed client against the simulator over real TCP, in both protocol versions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import numpy as np
import pytest
import pytest_asyncio

from deployments.launcher import free_port
from feeds.iqfeed import (
    FeedTimeout,
    FeedUnavailable,
    IQFeedClient,
    ProtocolError,
    SymbolNotFound,
)
from feeds.iqfeed.client import _BAR_DTYPES
from feeds.iqfeed.line_parser import parse_bar_chunk
from feeds.iqfeed.protocol import hit_request
from feeds.market_calendar import session_bounds_utc, trading_days
from feeds.simulator import IQFeedSimulator
from feeds.synthetic_market import daily_bars
from tests.support.feed_expectations import expected_bars, recent_trading_day

VERSIONS = ["6.1", "6.2"]


def client_for(sim: IQFeedSimulator, **options) -> IQFeedClient:
    """A client of the simulator's lookup port."""
    return IQFeedClient("127.0.0.1", sim.lookup_port, **options)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("interval_s", [1, 60, 300])
async def test_interval_bars_match_the_market(simulator, faults, version, interval_s):
    day = recent_trading_day()
    start, end = session_bounds_utc(day, extended=True)
    client = client_for(simulator, protocol=version)
    bars = await client.fetch_bars("SPY", start, end, interval_s)
    expected = expected_bars("SPY", day, interval_s, regular_hours=False)
    np.testing.assert_array_equal(bars.t, expected.t.to_numpy())
    for column in "ohlcv":
        np.testing.assert_array_equal(getattr(bars, column), expected[column].to_numpy())
    await client.close()


@pytest.mark.parametrize("label_at_beginning", [True, False])
async def test_regular_hours_and_either_label_give_bar_start_times(
    simulator, faults, label_at_beginning
):
    day = recent_trading_day(2)
    start, end = session_bounds_utc(day, extended=True)
    client = client_for(simulator, label_at_beginning=label_at_beginning)
    bars = await client.fetch_bars("AAPL", start, end, 60, regular_hours=True)
    expected = expected_bars("AAPL", day, 60, regular_hours=True)
    np.testing.assert_array_equal(bars.t, expected.t.to_numpy())
    np.testing.assert_array_equal(bars.c, expected.c.to_numpy())
    assert bars.t[0] == session_bounds_utc(day)[0]


async def test_regular_hours_end_at_an_early_close(simulator, faults):
    day = date(2026, 11, 27)  # the day after Thanksgiving: 13:00
    start, end = session_bounds_utc(day, extended=True)
    bars = await client_for(simulator).fetch_bars("AAPL", start, end, 60, regular_hours=True)
    expected = expected_bars("AAPL", day, 60, regular_hours=True)
    np.testing.assert_array_equal(bars.t, expected.t.to_numpy())
    assert bars.t[-1] == session_bounds_utc(day)[1] - 60


async def test_dst_change_weekend_converts_to_utc(simulator, faults):
    friday, monday = date(2026, 10, 30), date(2026, 11, 2)  # EDT ends on Sunday 2026-11-01
    client = client_for(simulator)
    bars = await client.fetch_bars(
        "MSFT", session_bounds_utc(friday)[0], session_bounds_utc(monday)[1], 60,
        regular_hours=True,
    )
    assert np.all(np.diff(bars.t) > 0)
    opens = bars.t[np.r_[True, np.diff(bars.t) > 3600]]
    assert opens.tolist() == [
        int(np.datetime64("2026-10-30T13:30", "s").astype(np.int64)),  # 09:30 EDT
        int(np.datetime64("2026-11-02T14:30", "s").astype(np.int64)),  # 09:30 EST
    ]


@pytest.mark.parametrize("version", VERSIONS)
async def test_ticks(simulator, faults, version):
    day = recent_trading_day()
    open_ = session_bounds_utc(day)[0]
    ticks = await client_for(simulator, protocol=version).fetch_ticks("AAPL", open_, open_ + 120)
    assert len(ticks) > 100
    assert np.all(np.diff(ticks.t_us) >= 0)
    assert ticks.t_us[0] >= open_ * 1_000_000 and ticks.t_us[-1] < (open_ + 120) * 1_000_000
    assert np.all(ticks.bid < ticks.ask) and np.all(ticks.size >= 1)
    assert np.unique(ticks.tick_id).size == len(ticks)


@pytest.mark.parametrize("version", VERSIONS)
async def test_daily_bars(simulator, faults, version):
    first, last = date(2025, 12, 1), date(2026, 1, 31)
    bars = await client_for(simulator, protocol=version).fetch_daily("QQQ", first, last)
    expected = daily_bars("QQQ", trading_days(first, last))
    np.testing.assert_array_equal(bars.t, expected["t"])
    for column in "ohlcv":
        np.testing.assert_array_equal(getattr(bars, column), expected[column])


async def test_no_data_is_an_empty_result(simulator, faults):
    saturday = date(2026, 11, 21)
    start, end = session_bounds_utc(date(2026, 11, 20), extended=True)
    bars = await client_for(simulator).fetch_bars("SPY", end, end + 86400, 60)
    assert len(bars) == 0, f"{saturday} is a Saturday"
    assert len(await client_for(simulator).fetch_bars("SPY", start, end, 60)) > 0


async def test_unknown_symbol(simulator, faults):
    start, end = session_bounds_utc(recent_trading_day())
    client = client_for(simulator, pool_size=1)
    with pytest.raises(SymbolNotFound):
        await client.fetch_bars("NOSUCH", start, end, 60)
    assert len(await client.fetch_bars("SPY", start, end, 60)) > 0, "connection still usable"


async def test_symbols_that_could_inject_protocol_lines_are_refused(simulator):
    client = client_for(simulator)
    for bad in ("SPY,\r\nHDT", "", "A B", "x" * 40):
        with pytest.raises(ValueError):
            await client.fetch_bars(bad, 0, 60, 1)


async def test_syntax_error_raises_protocol_error_and_next_request_works(simulator, faults):
    client = client_for(simulator, pool_size=1)
    start, end = session_bounds_utc(recent_trading_day())

    def malformed(request_id: str) -> bytes:
        return hit_request("SPY", 60, "2026-11-20", "yesterday", request_id)

    with pytest.raises(ProtocolError, match="SYNTAX_ERROR"):
        await client._request("SPY", malformed, parse_bar_chunk, _BAR_DTYPES, 16)
    assert len(await client.fetch_bars("SPY", start, end, 60)) == 390


async def test_stream_dropped_midway_raises_and_next_request_succeeds(simulator, faults):
    client = client_for(simulator, pool_size=1)
    start, end = session_bounds_utc(recent_trading_day())
    faults.drop_after_lines = 100
    with pytest.raises(FeedUnavailable, match="mid-answer"):
        await client.fetch_bars("SPY", start, end, 1)
    faults.clear()
    bars = await client.fetch_bars("SPY", start, end, 1)
    assert len(bars) > 20_000


async def test_timed_out_request_leaves_the_client_usable(simulator, faults):
    client = client_for(simulator, pool_size=1, timeout_s=0.5)
    start, end = session_bounds_utc(recent_trading_day())
    faults.delay_s = 1.5
    with pytest.raises(FeedTimeout):  # raised by the 0.5 s deadline, before any answer
        await client.fetch_bars("SPY", start, end, 60)
    faults.clear()
    await asyncio.sleep(1.2)  # the late answer to the first request is on its way now
    bars = await client.fetch_bars("SPY", start, start + 600, 60)
    np.testing.assert_array_equal(bars.t, start + 60 * np.arange(10))


async def test_too_many_simultaneous_is_retried_with_backoff(simulator, faults):
    start, end = session_bounds_utc(recent_trading_day())
    faults.too_many = 2
    assert len(await client_for(simulator).fetch_bars("SPY", start, end, 60)) == 390
    assert faults.too_many == 0
    faults.too_many = 100
    with pytest.raises(FeedUnavailable, match="too many"):
        await client_for(simulator, max_retries=2).fetch_bars("SPY", start, end, 60)


async def test_feed_down_fails_fast(simulator, faults):
    # FeedUnavailable (not FeedTimeout) shows the call ended on the refusal, not the deadline.
    faults.refuse = True
    with pytest.raises(FeedUnavailable):
        await client_for(simulator).fetch_daily("SPY", date(2026, 1, 2), date(2026, 1, 9))
    faults.clear()
    with pytest.raises(FeedUnavailable, match="not reachable"):
        await IQFeedClient("127.0.0.1", free_port()).fetch_daily(
            "SPY", date(2026, 1, 2), date(2026, 1, 9)
        )


async def test_rate_limiter_holds_the_configured_rate(simulator, faults):
    client = client_for(simulator, rate_per_s=20, burst=2, pool_size=4)
    began = time.monotonic()
    await asyncio.gather(*(
        client.fetch_daily("SPY", date(2026, 1, 2), date(2026, 1, 9)) for _ in range(22)
    ))
    # 2 requests go at once, the other 20 at 20 per second: at least ~1 s in all.
    assert time.monotonic() - began >= 0.95


async def test_pooled_connection_survives_a_feed_restart():
    sim = IQFeedSimulator(lookup_port=0, admin_port=0)
    await sim.start()
    client = IQFeedClient("127.0.0.1", sim.lookup_port, pool_size=1)
    days = (date(2026, 1, 2), date(2026, 1, 9))
    assert len(await client.fetch_daily("SPY", *days)) == 6
    await sim.stop()
    restarted = IQFeedSimulator(lookup_port=sim.lookup_port, admin_port=0)
    await restarted.start()
    try:
        assert len(await client.fetch_daily("SPY", *days)) == 6
    finally:
        await restarted.stop()


# -- last-N, days-back, weekly and monthly requests, against a simulator with a fixed clock ----

_DAY = date(2026, 3, 11)  # a Wednesday
_NOW = session_bounds_utc(_DAY)[0] + 3 * 3600  # 12:30 ET


@pytest_asyncio.fixture
async def clocked() -> AsyncIterator[IQFeedSimulator]:
    """A simulator of its own whose clock stands at 12:30 ET on ``_DAY``."""
    sim = IQFeedSimulator(lookup_port=0, admin_port=0, clock=lambda: _NOW)
    await sim.start()
    yield sim
    await sim.stop()


def _assert_bars_equal(bars, expected) -> None:
    np.testing.assert_array_equal(bars.t, expected.t.to_numpy())
    for column in "ohlcv":
        np.testing.assert_array_equal(getattr(bars, column), expected[column].to_numpy())


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("label_at_beginning", [True, False])
async def test_last_bars_are_the_newest_ones_so_far(clocked, version, label_at_beginning):
    client = client_for(clocked, protocol=version, label_at_beginning=label_at_beginning)
    bars = await client.fetch_last_bars("SPY", 60, 30)
    expected = expected_bars("SPY", _DAY, 60, regular_hours=False)
    _assert_bars_equal(bars, expected[expected.t < _NOW].tail(30))
    assert bars.t[-1] == _NOW - 60


async def test_bars_for_days_cover_today_so_far(clocked):
    bars = await client_for(clocked).fetch_bars_for_days("AAPL", 300, 1, regular_hours=True)
    expected = expected_bars("AAPL", _DAY, 300, regular_hours=True)
    _assert_bars_equal(bars, expected[expected.t < _NOW])
    two = await client_for(clocked).fetch_bars_for_days("AAPL", 300, 2, regular_hours=True)
    assert len(two) == len(bars) + 78, "yesterday's 78 regular five-minute bars too"


@pytest.mark.parametrize("version", VERSIONS)
async def test_last_ticks_end_before_now(clocked, version):
    client = client_for(clocked, protocol=version)
    ticks = await client.fetch_last_ticks("AAPL", 100)
    period = await client.fetch_ticks("AAPL", _NOW - 60, _NOW + 60)
    assert len(ticks) == 100 and ticks.t_us[-1] < _NOW * 1_000_000
    np.testing.assert_array_equal(ticks.tick_id, period.tick_id[-100:])
    np.testing.assert_array_equal(ticks.price, period.price[-100:])


@pytest.mark.parametrize("version", VERSIONS)
async def test_last_daily_bars_end_with_today_so_far(clocked, version):
    bars = await client_for(clocked, protocol=version).fetch_last_daily("QQQ", 5)
    past = daily_bars("QQQ", trading_days(date(2026, 3, 1), date(2026, 3, 10)))
    np.testing.assert_array_equal(bars.t[:4], past["t"][-4:])
    np.testing.assert_array_equal(bars.c[:4], past["c"][-4:])
    today = expected_bars("QQQ", _DAY, 60, regular_hours=True)
    today = today[today.t < _NOW]
    assert bars.t[-1] == session_bounds_utc(_DAY)[0]
    assert (bars.o[-1], bars.h[-1], bars.l[-1], bars.c[-1], bars.v[-1]) == (
        today.o.iloc[0], today.h.max(), today.l.min(), today.c.iloc[-1], today.v.sum())


def _by_period(daily, key) -> list[tuple]:
    """(t of the last day, o, h, l, c, v) of daily bars grouped by ``key(date)``."""
    groups: dict = {}
    for row in zip(*daily.columns(), strict=True):
        day = datetime.fromtimestamp(int(row[0]), UTC).date()
        groups.setdefault(key(day), []).append(row)
    return [(rows[-1][0], rows[0][1], max(r[2] for r in rows), min(r[3] for r in rows),
             rows[-1][4], sum(r[5] for r in rows)) for rows in groups.values()]


@pytest.mark.parametrize("version", VERSIONS)
async def test_weekly_and_monthly_bars_aggregate_the_daily_ones(clocked, version):
    client = client_for(clocked, protocol=version)
    daily = await client.fetch_daily("SPY", date(2026, 1, 1), _DAY)
    weekly = await client.fetch_weekly("SPY", 3)
    monthly = await client.fetch_monthly("SPY", 3)
    weeks = _by_period(daily, lambda d: d.isocalendar()[:2])[-3:]
    months = _by_period(daily, lambda d: (d.year, d.month))
    for bars, expected in ((weekly, weeks), (monthly, months)):
        assert len(bars) == len(expected)
        np.testing.assert_allclose(np.stack(bars.columns(), axis=1), np.array(expected))
    assert weekly.t[-1] == monthly.t[-1] == session_bounds_utc(_DAY)[0]


async def test_new_requests_refuse_bad_arguments_and_unknown_symbols(clocked):
    client = client_for(clocked)
    for call in (client.fetch_last_bars("SPY", 60, 0), client.fetch_weekly("SPY", 0),
                 client.fetch_last_ticks("SPY", -1), client.fetch_bars_for_days("SPY", 0, 1)):
        with pytest.raises(ValueError):
            await call
    with pytest.raises(SymbolNotFound):
        await client.fetch_monthly("NOSUCH", 2)
