"""The simulator speaks IQFeed's line protocol: checked with raw sockets, no client code."""

from __future__ import annotations

import asyncio

import pytest

from feeds.iqfeed.admin import STATUS_INDEX, AdminConnection, parse_stats
from feeds.simulator import IQFeedSimulator, SimulatorFaults
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
    lines = await _exchange(simulator, "HID,SPY,60,2,,,,1,A5,100,s", until=b"ENDMSG")
    assert lines == ["A5,E,!SYNTAX_ERROR!,", "A5,!ENDMSG!,"], "pyiqfeed's request_bars_for_days"
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
