"""The simulator speaks IQFeed's line protocol: checked with raw sockets, no client code."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import pytest_asyncio

from feeds.iqfeed.admin import STATUS_INDEX, AdminConnection, parse_stats
from feeds.market_calendar import session_bounds_utc
from feeds.simulator import IQFeedSimulator, SimulatorFaults
from feeds.synthetic_market import second_bars
from tests.support.feed_expectations import recent_trading_day


async def _exchange(sim: IQFeedSimulator, *lines: str, until: bytes = b"!ENDMSG!") -> list[str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.lookup_port)
    for line in lines:
        writer.write(line.encode() + b"\r\n")
    await writer.drain()
    received = b""
    async with asyncio.timeout(10):
        while until not in received:
            chunk = await reader.read(65536)
            if not chunk:
                break
            received += chunk
        if not received.endswith(b"\r\n"):
            received += await reader.readline()
    writer.close()
    assert received.endswith(b"\r\n")
    return received.decode().split("\r\n")[:-1]


def _day() -> str:
    return recent_trading_day().strftime("%Y%m%d")


@pytest.mark.parametrize(("version", "prefix"), [("6.2", "R9,LH,"), ("6.1", "R9,")])
async def test_bar_lines_follow_the_protocol(simulator, faults, version, prefix):
    lines = await _exchange(
        simulator, f"S,SET PROTOCOL,{version}",
        f"HIT,SPY,60,{_day()} 093000,{_day()} 095959,,,,1,R9,100,s,1",
    )
    assert lines[0] == f"S,CURRENT PROTOCOL,{version},"
    data, end = lines[1:-1], lines[-1]
    assert end == "R9,!ENDMSG!,"
    assert len(data) == 30
    for line in data:
        assert line.startswith(prefix) and line.endswith(",")
        fields = line[len(prefix):-1].split(",")
        assert len(fields) == 8  # time, high, low, open, close, total vol, period vol, trades
        high, low, open_, close = map(float, fields[1:5])
        assert low <= min(open_, close) <= max(open_, close) <= high
    assert data[0][len(prefix):].startswith(f"{_day()[:4]}-{_day()[4:6]}-{_day()[6:]} 09:30:00")


async def test_default_label_is_the_bar_end(simulator, faults):
    window = f"{_day()} 093100,{_day()} 093500,,,,1"
    by_end = await _exchange(simulator, "S,SET PROTOCOL,6.2", f"HIT,SPY,60,{window},X1,,s")
    by_start = await _exchange(simulator, "S,SET PROTOCOL,6.2", f"HIT,SPY,60,{window},X2,,s,1")
    end_rows = [line.split(",")[2:] for line in by_end[1:-1]]
    start_rows = [line.split(",")[2:] for line in by_start[1:-1]]
    assert end_rows[0][0].endswith("09:31:00") and start_rows[0][0].endswith("09:31:00")
    assert end_rows[1][1:] == start_rows[0][1:], "the bar ending 09:32 is the one starting 09:31"


async def test_errors_are_answered_as_iqfeed_does(simulator, faults):
    lines = await _exchange(
        simulator, "S,SET PROTOCOL,6.2", f"HIT,NOSUCH,60,{_day()} 093000,,,,,1,A1,,s,1"
    )
    assert lines[1:] == ["A1,E,Invalid symbol.,", "A1,!ENDMSG!,"]
    lines = await _exchange(simulator, "HDT,SPY,20261121,20261122,,1,A2,")
    assert lines == ["A2,E,!NO_DATA!,", "A2,!ENDMSG!,"]
    lines = await _exchange(simulator, "HIT,SPY,sixty,,,,,,1,A3", until=b"ENDMSG")
    assert lines == ["A3,E,!SYNTAX_ERROR!,", "A3,!ENDMSG!,"], "the error carries the id"
    lines = await _exchange(simulator, "HID,SPY,60,2,,,,1,A5,100,v", until=b"ENDMSG")
    assert lines == ["A5,E,!SYNTAX_ERROR!,", "A5,!ENDMSG!,"], "volume bars are not simulated"
    lines = await _exchange(simulator, "XYZ,whatever", until=b"ENDMSG")
    assert lines == ["E,!SYNTAX_ERROR!,", "!ENDMSG!,"], "no id to carry"
    faults.too_many = 1
    lines = await _exchange(simulator, "HDT,SPY,20260105,20260106,,1,A4,")
    assert lines == ["A4,E,Too many simultaneous history requests.,", "A4,!ENDMSG!,"]


async def test_admin_port_reports_status_and_takes_fault_switches(simulator, faults):
    admin = await AdminConnection.open("127.0.0.1", simulator.admin_port)
    try:
        status = await admin.status()
        assert status.connected and status.status == "Connected"
        await admin.send("S,SIM,NOT_CONNECTED,1")
        await asyncio.sleep(0.5)
        assert (await admin.status(max_age_s=0.5)).status == "Not Connected"
        await admin.send("S,SIM,CLEAR")
        await asyncio.sleep(0.5)
        assert (await admin.status(max_age_s=0.5)).connected
    finally:
        admin.close()


def test_stats_status_is_the_thirteenth_field():
    line = IQFeedSimulator().stats_line().decode()
    assert line.split(",")[STATUS_INDEX] == "Connected"
    assert parse_stats(line).connected
    assert parse_stats("S,KEY,abc,") is None


async def test_exits_when_idle_like_iqconnect():
    sim = IQFeedSimulator(lookup_port=0, admin_port=0, idle_exit_s=0.5, stats_interval_s=0.1)
    await sim.start()
    admin = await AdminConnection.open("127.0.0.1", sim.admin_port)
    await asyncio.sleep(1.5)
    assert not sim.stopped.is_set(), "a held admin connection keeps it alive"
    admin.close()
    await asyncio.wait_for(sim.stopped.wait(), 5)


def test_faults_parse_their_text_form():
    faults = SimulatorFaults()
    faults.set("DROP_AFTER_LINES", "10")
    faults.set("not_connected", "1")
    assert faults.drop_after_lines == 10 and faults.not_connected is True
    with pytest.raises(KeyError):
        faults.set("explode", "1")
    faults.clear()
    assert faults == SimulatorFaults()


# -- honest today: the clock is fixed, nothing after it is answered ---------------------------

_TRADING_DAY = date(2026, 3, 11)  # a Wednesday
_ET = ZoneInfo("America/New_York")


def _at(day: date, hour: int, minute: int, second: int = 0) -> float:
    """UTC epoch seconds of a wall-clock time in New York."""
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=_ET).timestamp()


@pytest_asyncio.fixture
async def clocked() -> AsyncIterator[IQFeedSimulator]:
    """A simulator of its own whose clock a test sets (``sim.clock = lambda: ...``)."""
    sim = IQFeedSimulator(lookup_port=0, admin_port=0)
    await sim.start()
    yield sim
    await sim.stop()


def _rows(lines: list[str], rid: str) -> list[list[str]]:
    """The data fields of an answer's lines (6.1: after the id), checking its end line."""
    assert lines[-1] == f"{rid},!ENDMSG!,"
    return [line.split(",")[1:-1] for line in lines[:-1]]


def _ohlcv(rows: list[list[str]], volume_at: int = 5) -> np.ndarray:
    """(o, h, l, c, v) of rows of time, high, low, open, close, ... (volume: field
    ``volume_at``; daily rows 5, interval rows 6, after the total volume)."""
    table = np.array([[float(row[k]) for k in (1, 2, 3, 4, volume_at)] for row in rows])
    high, low, open_, close, volume = table.T
    return np.stack([open_, high, low, close, volume], axis=1)


def _aggregate(bars: np.ndarray) -> list[float]:
    return [bars[0, 0], bars[:, 1].max(), bars[:, 2].min(), bars[-1, 3], bars[:, 4].sum()]


@pytest.mark.parametrize(("clock", "last_minute"), [
    ((10, 0), "09:59"), ((12, 30), "12:29"), ((15, 59), "15:58"), ((18, 0), "15:59"),
])
async def test_todays_daily_bar_is_the_session_so_far(clocked, clock, last_minute):
    clocked.clock = lambda: _at(_TRADING_DAY, *clock)
    day = _TRADING_DAY.strftime("%Y%m%d")
    daily = _rows(await _exchange(clocked, f"HDT,SPY,{day},{day},,1,D1,"), "D1")
    minutes = _rows(await _exchange(
        clocked, f"HIT,SPY,60,{day} 093000,{day} 155900,,,,1,M1,,s,1"), "M1")
    assert [row[0] for row in daily] == [_TRADING_DAY.isoformat()]
    assert minutes[-1][0] == f"{_TRADING_DAY} {last_minute}:00", "the last minute so far"
    np.testing.assert_allclose(_ohlcv(daily)[0], _aggregate(_ohlcv(minutes, 6)), rtol=1e-12)


async def test_before_the_open_today_has_no_daily_bar(clocked):
    clocked.clock = lambda: _at(_TRADING_DAY, 9, 0)
    day = _TRADING_DAY.strftime("%Y%m%d")
    assert await _exchange(clocked, f"HDT,SPY,{day},{day},,1,D2,") == [
        "D2,E,!NO_DATA!,", "D2,!ENDMSG!,"]


async def test_the_current_bar_and_ticks_hold_nothing_after_now(clocked):
    now = _at(_TRADING_DAY, 10, 0, 30)
    clocked.clock = lambda: now
    last = _rows(await _exchange(clocked, "HIX,AAPL,60,1,1,X1,,s,1"), "X1")
    seconds = second_bars("AAPL", _TRADING_DAY)
    part = (seconds["t"] >= now - 30) & (seconds["t"] < now)
    assert last[0][0] == f"{_TRADING_DAY} 10:00:00"
    assert float(last[0][4]) == seconds["c"][part][-1] and float(last[0][6]) == seconds["v"][
        part].sum()
    ticks = _rows(await _exchange(clocked, "HTX,AAPL,5,1,X2"), "X2")
    assert all(row[0] < f"{_TRADING_DAY} 10:00:30" for row in ticks)


async def test_weekly_and_monthly_bars_aggregate_the_daily_bars_so_far(clocked):
    clocked.clock = lambda: _at(_TRADING_DAY, 12, 30)
    days = _rows(await _exchange(clocked, "HDT,SPY,20260101,,,1,D3,"), "D3")
    weeks = _rows(await _exchange(clocked, "HWX,SPY,2,1,W1"), "W1")
    months = _rows(await _exchange(clocked, "HMX,SPY,3,1,M2"), "M2")
    week_of = {row[0]: date.fromisoformat(row[0]).isocalendar()[:2] for row in days}
    for rows, key in ((weeks, week_of), (months, {row[0]: row[0][:7] for row in days})):
        for bar in rows:
            members = [row for row in days if key[row[0]] == key[bar[0]]]
            assert bar[0] == members[-1][0], "dated by its last day so far"
            np.testing.assert_allclose(_ohlcv([bar])[0], _aggregate(_ohlcv(members)))
    assert [row[0] for row in weeks] == ["2026-03-06", "2026-03-11"]
    assert [row[0][:7] for row in months] == ["2026-01", "2026-02", "2026-03"]


async def test_last_n_requests_are_the_tail_of_the_period_requests(clocked):
    clocked.clock = lambda: _at(_TRADING_DAY, 12, 30)
    day = _TRADING_DAY.strftime("%Y%m%d")
    period = _rows(await _exchange(clocked, f"HIT,SPY,300,{day} 040000,,,,,1,P1,,s,1"), "P1")
    last = _rows(await _exchange(clocked, "HIX,SPY,300,7,1,P2,,s,1"), "P2")
    newest_first = _rows(await _exchange(clocked, "HIX,SPY,300,7,0,P3,,s,1"), "P3")
    assert last == period[-7:] and newest_first == last[::-1]
    days = _rows(await _exchange(clocked, "HDT,SPY,20260201,,,1,P4,"), "P4")
    assert _rows(await _exchange(clocked, "HDX,SPY,4,1,P5"), "P5") == days[-4:]
    ticks = _rows(await _exchange(clocked, f"HTT,SPY,{day} 122900,,,,,1,P6"), "P6")
    assert _rows(await _exchange(clocked, "HTX,SPY,9,1,P7"), "P7") == ticks[-9:]
    today = _rows(await _exchange(clocked, "HID,SPY,300,1,,,,1,P8,,s,1"), "P8")
    assert today == [row for row in period if row[0].startswith(str(_TRADING_DAY))]


async def test_an_early_close_day_ends_its_daily_bar_at_the_close(clocked):
    day = date(2026, 11, 27)  # the day after Thanksgiving: regular session 09:30-13:00
    clocked.clock = lambda: _at(day, 18, 0)
    close = datetime.fromtimestamp(session_bounds_utc(day)[1], _ET)
    stamp = day.strftime("%Y%m%d")
    daily = _rows(await _exchange(clocked, f"HDT,SPY,{stamp},{stamp},,1,E1,"), "E1")
    minutes = _rows(await _exchange(clocked, f"HIT,SPY,60,{stamp} 093000,"
                                             f"{stamp} {close:%H%M%S},,,,1,E2,,s,1"), "E2")
    minutes = [row for row in minutes if row[0] < f"{day} {close:%H:%M:%S}"]
    np.testing.assert_allclose(_ohlcv(daily)[0], _aggregate(_ohlcv(minutes, 6)), rtol=1e-12)
