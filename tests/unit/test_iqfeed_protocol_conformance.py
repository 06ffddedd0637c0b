"""The simulator against IQFeed's lookup-port protocol, checked by a second, independent client.

The client here is written from DTN's protocol document (request field orders of 6.1/6.2, the
answer line formats, ``!ENDMSG!``, ``E,`` lines, request ids, 6.2's ``LH`` line type) with plain
asyncio streams and its own line splitting; it shares no code with ``feeds.iqfeed``. Every one of
the ten history requests is driven in both protocol versions: the field order and format of each
answer line, the request-id prefix, the end line, and the error lines of an unknown symbol, of an
empty answer and of a syntax error, all under the request's id.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from feeds.simulator import IQFeedSimulator

VERSIONS = ("6.1", "6.2")
DAY = date(2026, 3, 11)  # a Wednesday; the simulator's clock stands at 12:30 New York time
NOW = datetime(2026, 3, 11, 12, 30, tzinfo=ZoneInfo("America/New_York")).timestamp()
_D = DAY.strftime("%Y%m%d")

REQUESTS = {
    # command: (answer kind, request with {sym} and {rid}, data lines expected or None: some)
    "HIT": ("bars", f"HIT,{{sym}},60,{_D} 093000,{_D} 100000,,,,1,{{rid}},100,s,1", 31),
    "HID": ("bars", "HID,{sym},300,5,,093000,155500,1,{rid},100,s,1", None),
    "HIX": ("bars", "HIX,{sym},60,25,1,{rid},100,s,1", 25),
    "HTT": ("ticks", f"HTT,{{sym}},{_D} 093000,{_D} 093010,,,,1,{{rid}},100", None),
    "HTD": ("ticks", "HTD,{sym},1,50,,,1,{rid},100", 50),
    "HTX": ("ticks", "HTX,{sym},40,1,{rid},100", 40),
    "HDT": ("daily", f"HDT,{{sym}},20260201,{_D},,1,{{rid}},100", 27),
    "HDX": ("daily", "HDX,{sym},10,1,{rid},100", 10),
    "HWX": ("daily", "HWX,{sym},4,1,{rid},100", 4),
    "HMX": ("daily", "HMX,{sym},3,1,{rid},100", 3),
}
"""Field orders from the protocol document, e.g. ``HIX,[Symbol],[Interval],[MaxDatapoints],
[DataDirection],[RequestID],[DatapointsPerSend],[IntervalType],[LabelAtBeginning]``."""

_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_WHOLE = re.compile(r"\d+")
_STAMP = {
    "bars": re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"),
    "ticks": re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}"),
    "daily": re.compile(r"\d{4}-\d\d-\d\d"),
}
_FIELDS = {"bars": 8, "ticks": 12, "daily": 7}
"""Data fields per line: bars ``time,high,low,open,close,totalvolume,periodvolume,trades``;
ticks ``time,last,lastsize,totalvolume,bid,ask,tickid,basis,marketcenter,conditions,aggressor,
daycode``; daily/weekly/monthly ``date,high,low,open,close,periodvolume,openinterest``."""


class Lookup:
    """A bare lookup-port connection: one protocol version, requests answered in order."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.buffer = b""

    @classmethod
    async def open(cls, port: int, version: str) -> Lookup:
        """Connect and select ``version`` as the protocol document says."""
        lookup = cls(*await asyncio.open_connection("127.0.0.1", port))
        lookup.writer.write(f"S,SET PROTOCOL,{version}\r\n".encode())
        assert await lookup.line() == f"S,CURRENT PROTOCOL,{version},"
        return lookup

    async def line(self) -> str:
        """The next CRLF-terminated line, without its CRLF."""
        async with asyncio.timeout(60):
            while b"\r\n" not in self.buffer:
                chunk = await self.reader.read(65536)
                assert chunk, "the connection closed mid-answer"
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line.decode("ascii")

    async def ask(self, request: str, end: str) -> list[str]:
        """Send ``request``; every line up to and including the end line ``end``."""
        self.writer.write(request.encode() + b"\r\n")
        lines = [await self.line()]
        while lines[-1] != end:
            lines.append(await self.line())
        return lines

    def close(self) -> None:
        """Close the connection."""
        self.writer.close()


@pytest_asyncio.fixture(scope="module")
async def sim() -> AsyncIterator[IQFeedSimulator]:
    """The simulator on free ports, its clock at ``NOW`` unless a test moves it."""
    simulator = IQFeedSimulator(lookup_port=0, admin_port=0, clock=lambda: NOW)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest_asyncio.fixture
async def at_now(sim: IQFeedSimulator) -> AsyncIterator[IQFeedSimulator]:
    """The simulator with its clock at ``NOW`` (and back there afterwards)."""
    sim.clock = lambda: NOW
    yield sim
    sim.clock = lambda: NOW


def _data_fields(line: str, rid: str | None, version: str) -> list[str]:
    """The data fields of an answer line, checking its id prefix, line type and final comma."""
    assert line.endswith(","), line
    fields = line[:-1].split(",")
    if rid is not None:
        assert fields.pop(0) == rid, line
    if version == "6.2":
        assert fields.pop(0) == "LH", f"6.2 data lines carry the line type: {line}"
    else:
        assert fields[0] != "LH", line
    return fields


def _check_record(kind: str, fields: list[str]) -> str:
    """Field count and format of one record; returns its time stamp."""
    assert len(fields) == _FIELDS[kind], fields
    assert _STAMP[kind].fullmatch(fields[0]), fields
    if kind == "ticks":
        last, size, total, bid, ask, tick_id = fields[1:7]
        assert all(_NUMBER.fullmatch(x) for x in (last, bid, ask))
        assert all(_WHOLE.fullmatch(x) for x in (size, total, tick_id, fields[8]))
        assert float(bid) <= float(last) <= float(ask)
        assert len(fields[7]) == 1 and re.fullmatch(r"([0-9A-F]{2})+", fields[9]), fields
        assert fields[10] in ("0", "1", "2", "3"), "trade aggressor"
        assert int(fields[11]) == int(fields[0][8:10]), "day code: the day of the month"
        return fields[0]
    high, low, open_, close = (float(x) for x in fields[1:5])
    assert low <= min(open_, close) <= max(open_, close) <= high
    assert all(_WHOLE.fullmatch(x) for x in fields[5:]), fields
    if kind == "bars":
        assert int(fields[5]) >= int(fields[6]), "the day's total volume includes the bar's"
    return fields[0]


def _check_answer(lines: list[str], kind: str, rid: str | None, version: str) -> list[str]:
    """Every line before the end line is a record of ``kind``; returns their time stamps."""
    assert lines[-1] == (f"{rid},!ENDMSG!," if rid else "!ENDMSG!,")
    stamps = [_check_record(kind, _data_fields(line, rid, version)) for line in lines[:-1]]
    assert stamps == sorted(stamps), "DataDirection 1: oldest first"
    return stamps


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("command", REQUESTS)
async def test_answer_lines_follow_the_protocol(at_now, command, version):
    kind, template, expected_rows = REQUESTS[command]
    lookup = await Lookup.open(at_now.lookup_port, version)
    try:
        rid = f"{command}-{version}"
        lines = await lookup.ask(template.format(sym="SPY", rid=rid), f"{rid},!ENDMSG!,")
        stamps = _check_answer(lines, kind, rid, version)
        assert stamps, "an answer with data"
        if expected_rows is not None:
            assert len(stamps) == expected_rows
        assert stamps[-1][:10] <= DAY.isoformat(), "nothing after now"
        if command in ("HID", "HTD"):
            assert stamps[0][:10] >= (DAY - timedelta(days=4)).isoformat(), "the last N days"
        no_id = template.format(sym="SPY", rid="")
        _check_answer(await lookup.ask(no_id, "!ENDMSG!,"), kind, None, version)
    finally:
        lookup.close()


async def _error(lookup: Lookup, request: str, rid: str) -> list[str]:
    return await lookup.ask(request, f"{rid},!ENDMSG!,")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("command", REQUESTS)
async def test_errors_come_under_the_request_id(at_now, command, version):
    _, template, _ = REQUESTS[command]
    lookup = await Lookup.open(at_now.lookup_port, version)
    try:
        bad_symbol = template.format(sym="NOSUCHSYMBOL", rid="B1")
        assert await _error(lookup, bad_symbol, "B1") == ["B1,E,Invalid symbol.,", "B1,!ENDMSG!,"]
        fields = template.format(sym="SPY", rid="S1").split(",")
        fields[2] = "x!"  # interval, period begin, days or MaxDatapoints: never "x!"
        assert await _error(lookup, ",".join(fields), "S1") == [
            "S1,E,!SYNTAX_ERROR!,", "S1,!ENDMSG!,"]
        at_now.clock = lambda: datetime(1990, 6, 1).timestamp()  # before any history
        empty = template.format(sym="SPY", rid="N1")
        assert await _error(lookup, empty, "N1") == ["N1,E,!NO_DATA!,", "N1,!ENDMSG!,"]
    finally:
        lookup.close()


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("request_line", [
    "HIT,SPY,60,20260307 093000,20260307 160000,,,,1,N2,100,s,1",  # a Saturday
    "HID,SPY,60,3,,000000,000100,1,N2,100,s,1",  # no trade in the first minute of a day
    "HTT,SPY,20260308 000000,20260308 235959,,,,1,N2,100",  # a Sunday
    "HTD,SPY,2,,000000,000100,1,N2,100",
    "HDT,SPY,20260307,20260308,,1,N2,100",  # a weekend
])
async def test_empty_windows_are_no_data(at_now, version, request_line):
    lookup = await Lookup.open(at_now.lookup_port, version)
    try:
        assert await _error(lookup, request_line, "N2") == ["N2,E,!NO_DATA!,", "N2,!ENDMSG!,"]
    finally:
        lookup.close()


async def test_unknown_command_without_an_id_gets_an_unprefixed_error(at_now):
    lookup = await Lookup.open(at_now.lookup_port, "6.2")
    try:
        assert await lookup.ask("HXX,SPY,10,1,Q1", "!ENDMSG!,") == [
            "E,!SYNTAX_ERROR!,", "!ENDMSG!,"]
    finally:
        lookup.close()
