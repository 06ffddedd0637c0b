"""IQFeed's streaming ports: our requests and parser, the simulator's derivative and Level 1
ports seen by a second, independent client, and our BarStream client against it.

The independent client is written from DTN's protocol 6.2 document with plain asyncio streams:
``BW,[Symbol],[Interval],[BeginDate BeginTime],[MaxDaysOfDatapoints],[MaxDatapoints],
[BeginFilterTime],[EndFilterTime],[RequestID],[IntervalType],[Reserved],[UpdateInterval]``;
bar lines ``[RequestID],BH|BC|BU,[Symbol],[YYYY-MM-DD HH:MM:SS],[Open],[High],[Low],[Last],
[CumulativeVolume],[IntervalVolume],[NumberOfTrades],``; ``T,YYYYMMDD HH:MM:SS,`` heartbeats;
``n,[Symbol],`` for an unknown symbol; Level 1 ``w``/``r``, ``P``/``Q`` lines in the selected
fieldset, ``S,SELECT UPDATE FIELDS``, ``S,REQUEST WATCHES``, ``S,UNWATCH ALL``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from feeds.iqfeed.errors import FeedUnavailable
from feeds.iqfeed.streaming_protocol import (
    REQUEST_WATCHES,
    UNWATCH_ALL,
    BarLine,
    Heartbeat,
    Notice,
    br_request,
    bw_request,
    level1_record,
    parse_stream_line,
    select_fields,
    unwatch_trades,
    watch_trades,
)
from feeds.iqfeed.streams import BarStream, Level1Stream
from feeds.simulator import IQFeedSimulator

ET = ZoneInfo("America/New_York")
DAY = date(2026, 3, 11)  # a Wednesday
BAR_LINE = re.compile(
    r"^(?P<rid>[^,]*),(?P<kind>BH|BC|BU),(?P<sym>[A-Z.]+),"
    r"(?P<stamp>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(?P<o>[\d.]+),(?P<h>[\d.]+),(?P<l>[\d.]+),"
    r"(?P<c>[\d.]+),(?P<total>\d+(\.\d+)?),(?P<v>\d+(\.\d+)?),(?P<n>\d+),$")


def _at(hour: int, minute: int, second: int = 0) -> float:
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute, second, tzinfo=ET).timestamp()


class Clock:
    """A clock the test moves."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest_asyncio.fixture
async def streaming() -> AsyncIterator[tuple[IQFeedSimulator, Clock]]:
    """A simulator serving both streaming ports on free ports, on a clock the test moves."""
    clock = Clock(_at(10, 15, 30))
    sim = IQFeedSimulator(lookup_port=0, admin_port=0, derivative_port=0, level1_port=0,
                          clock=clock)
    await sim.start()
    yield sim, clock
    await sim.stop()


class Raw:
    """A bare streaming-port connection: lines out, lines in (CRLF stripped)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Raw:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, text: str) -> None:
        self.writer.write(text.encode() + b"\r\n")
        await self.writer.drain()

    async def line(self, timeout_s: float = 3.0) -> str:
        raw = await asyncio.wait_for(self.reader.readline(), timeout_s)
        assert raw.endswith(b"\r\n"), raw
        return raw[:-2].decode()

    async def until(self, test, timeout_s: float = 5.0, skip_heartbeats: bool = True) -> list[str]:
        """Lines up to and including the first that passes ``test``."""
        lines = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            line = await self.line(max(0.1, deadline - loop.time()))
            if skip_heartbeats and line.startswith("T,"):
                continue
            lines.append(line)
            if test(line):
                return lines

    async def quiet(self, seconds: float) -> list[str]:
        """Every non-heartbeat line within ``seconds``."""
        lines = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            try:
                line = await self.line(deadline - loop.time())
            except TimeoutError:
                break
            if not line.startswith("T,"):
                lines.append(line)
        return lines

    def close(self) -> None:
        self.writer.close()


# --- our requests and parser --------------------------------------------------------------

def test_requests_are_the_documented_field_orders():
    assert bw_request("AAPL", 60, "R1", begin="20260311 093000", update_s=2) == \
        b"BW,AAPL,60,20260311 093000,,,,,R1,s,,2\r\n"
    assert bw_request("SPY", 1, "X", max_days=1) == b"BW,SPY,1,,1,,,,X,s,,\r\n"
    assert br_request("R1") == b"BR,R1\r\n"
    assert watch_trades("AAPL") == b"wAAPL\r\n"
    assert unwatch_trades("AAPL") == b"rAAPL\r\n"
    assert select_fields(("Symbol", "Most Recent Trade", "Total Volume")) == \
        b"S,SELECT UPDATE FIELDS,Most Recent Trade,Total Volume\r\n"
    assert UNWATCH_ALL == b"S,UNWATCH ALL\r\n"
    assert REQUEST_WATCHES == b"S,REQUEST WATCHES\r\n"


@pytest.mark.parametrize(("text", "kind", "rid"), [
    ("R1,BH,AAPL,2026-03-11 10:14:00,100.5,101,100,100.75,52000,1200,14,", "history", "R1"),
    ("R1,BC,AAPL,2026-03-11 10:14:00,100.5,101,100,100.75,52000,1200,14,", "complete", "R1"),
    ("BU,AAPL,2026-03-11 10:14:00,100.5,101,100,100.75,52000,1200,14,", "update", ""),
])
def test_bar_lines_parse_with_and_without_a_request_id(text, kind, rid):
    line = parse_stream_line(text + "\r\n")
    assert isinstance(line, BarLine)
    assert (line.kind, line.request_id, line.symbol) == (kind, rid, "AAPL")
    assert line.t == int(_at(10, 14))  # the bar's start, Eastern to UTC
    assert (line.o, line.h, line.low, line.c, line.total_volume, line.v, line.trades) == \
        (100.5, 101.0, 100.0, 100.75, 52000.0, 1200.0, 14)


def test_other_lines_parse_as_heartbeats_and_notices():
    assert parse_stream_line("T,20260311 10:15:31,\r\n") == Heartbeat(int(_at(10, 15, 31)))
    assert parse_stream_line("n,ZZZZ,\r\n") == Notice("n", ("ZZZZ",))
    assert parse_stream_line("S,SERVER CONNECTED,\r\n") == Notice("S", ("SERVER CONNECTED",))
    assert parse_stream_line("E,!SYNTAX_ERROR!,\r\n") == Notice("E", ("!SYNTAX_ERROR!",))
    quote = parse_stream_line("Q,AAPL,101.25,100,10:15:30.500000,\r\n")
    assert quote.kind == "Q"
    assert level1_record(quote.fields, ("Symbol", "Most Recent Trade", "Most Recent Trade Size",
                                        "Most Recent Trade Time")) == {
        "Symbol": "AAPL", "Most Recent Trade": "101.25", "Most Recent Trade Size": "100",
        "Most Recent Trade Time": "10:15:30.500000"}
    with pytest.raises(ValueError):
        parse_stream_line("R1,BC,AAPL,2026-03-11 10:14:00,100.5,\r\n")


# --- the simulator, seen by an independent client -----------------------------------------

async def test_bw_answers_history_then_updates_then_completes(streaming):
    sim, clock = streaming
    raw = await Raw.open(sim.derivative_port)
    assert await raw.line() == "S,SERVER CONNECTED,"
    await raw.send("S,SET PROTOCOL,6.2")
    assert await raw.until(lambda s: s.startswith("S,CURRENT PROTOCOL")) == \
        ["S,CURRENT PROTOCOL,6.2,"]
    await raw.send("BW,AAPL,60,20260311 100000,,,,,R7,s,,0")
    lines = await raw.until(lambda s: ",BU," in s)
    history = [BAR_LINE.match(s) for s in lines[:-1]]
    assert all(history) and {m["kind"] for m in history} == {"BH"}
    stamps = [m["stamp"] for m in history]
    assert stamps[0] == "2026-03-11 10:00:00" and stamps[-1] == "2026-03-11 10:14:00"
    assert len(stamps) == 15 and all(m["rid"] == "R7" and m["sym"] == "AAPL" for m in history)
    totals = [float(m["total"]) for m in history]
    assert totals == sorted(totals)  # cumulative volume of the day
    forming = BAR_LINE.match(lines[-1])
    assert forming["stamp"] == "2026-03-11 10:15:00"
    # The market moves on: updates of the forming minute, then its BC once it ended.
    clock.now = _at(10, 16, 2)
    moved = await raw.until(lambda s: ",BC," in s and "10:15:00" in s)
    complete = BAR_LINE.match(moved[-1])
    assert float(complete["h"]) >= float(forming["h"])
    assert float(complete["v"]) >= float(forming["v"])
    nxt = await raw.until(lambda s: ",BU," in s and "10:16:00" in s)
    assert BAR_LINE.match(nxt[-1])
    # BR stops the watch: no more bar lines, heartbeats go on.
    await raw.send("BR,R7")
    await asyncio.sleep(0.1)
    await raw.quiet(0.2)
    clock.now = _at(10, 18)
    assert [s for s in await raw.quiet(0.5) if BAR_LINE.match(s)] == []
    beat = await raw.until(lambda s: s.startswith("T,"), skip_heartbeats=False)
    assert beat[-1] == "T,20260311 10:18:00,"
    raw.close()


async def test_watches_are_listed_replaced_and_dropped(streaming):
    sim, _ = streaming
    raw = await Raw.open(sim.derivative_port)
    await raw.send("S,SET PROTOCOL,6.2")
    await raw.send("BW,MSFT,300,,1,,,,W1,s,,")
    await raw.until(lambda s: ",BU," in s)
    await raw.send("BW,MSFT,300,,1,,,,W1,s,,")
    assert "S,REPLACED PREVIOUS WATCH,MSFT," in await raw.until(
        lambda s: s.startswith("S,REPLACED"))
    await raw.quiet(0.2)
    await raw.send("S,REQUEST WATCHES")
    assert (await raw.until(lambda s: s.startswith("S,WATCHES")))[-1] == \
        "S,WATCHES,MSFT,300s,W1,"
    await raw.send("BW,NOSUCHSYMBOL,60,,1,,,,W2,s,,")
    assert (await raw.until(lambda s: s.startswith("n,")))[-1] == "n,NOSUCHSYMBOL,"
    await raw.send("BW,MSFT,sixty,,1,,,,W3,s,,")
    assert (await raw.until(lambda s: s.startswith("W3,E") or s.startswith("E,")))[-1] \
        .endswith("!SYNTAX_ERROR!,")
    await raw.send("S,UNWATCH ALL")
    await raw.send("S,REQUEST WATCHES")
    assert (await raw.until(lambda s: s.startswith("S,WATCHES")))[-1] == "S,WATCHES,"
    raw.close()


async def test_level1_summary_then_one_q_per_trade(streaming):
    sim, clock = streaming
    raw = await Raw.open(sim.level1_port)
    assert await raw.line() == "S,SERVER CONNECTED,"
    await raw.send("S,SELECT UPDATE FIELDS,Most Recent Trade,Most Recent Trade Size,"
                   "Most Recent Trade Time,Total Volume")
    assert (await raw.until(lambda s: s.startswith("S,CURRENT UPDATE"))) [-1] == \
        "S,CURRENT UPDATE FIELDNAMES,Symbol,Most Recent Trade,Most Recent Trade Size," \
        "Most Recent Trade Time,Total Volume,"
    await raw.send("wAAPL")
    summary = (await raw.until(lambda s: s.startswith("P,")))[-1].split(",")
    assert summary[0] == "P" and summary[1] == "AAPL" and summary[-1] == ""
    before = float(summary[5])
    clock.now += 3
    trades = [s.split(",") for s in await raw.quiet(0.6) if s.startswith("Q,")]
    assert trades, "three seconds of market hours print trades"
    times = [q[4] for q in trades]
    assert times == sorted(times) and all(re.fullmatch(r"\d\d:\d\d:\d\d\.\d{6}", t)
                                          for t in times)
    volumes = [float(q[5]) for q in trades]
    assert volumes[0] > before and volumes == sorted(volumes)
    await raw.send("rAAPL")
    await asyncio.sleep(0.1)
    await raw.quiet(0.1)
    clock.now += 3
    assert [s for s in await raw.quiet(0.4) if s.startswith("Q,")] == []
    await raw.send("wNOSUCHSYMBOL")
    assert (await raw.until(lambda s: s.startswith("n,")))[-1] == "n,NOSUCHSYMBOL,"
    raw.close()


async def test_completed_stream_bars_are_the_history_bars(streaming):
    """A minute streamed as BU updates and its BC equals the minute the lookup port serves."""
    sim, clock = streaming
    raw = await Raw.open(sim.derivative_port)
    await raw.send("S,SET PROTOCOL,6.2")
    await raw.send("BW,SPY,60,20260311 101000,,,,,S1,s,,0")
    await raw.until(lambda s: ",BU," in s)
    for second in range(0, 200, 7):  # the clock runs on in uneven steps
        clock.now = _at(10, 15, 30) + second
        await asyncio.sleep(0.03)
    clock.now = _at(10, 19, 0)
    lines = await raw.until(lambda s: ",BC," in s and "10:18:00" in s)
    streamed = {m["stamp"][11:16]: m for m in map(BAR_LINE.match, lines) if m
                and m["kind"] == "BC"}
    assert set(streamed) == {"10:15", "10:16", "10:17", "10:18"}
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.lookup_port)
    writer.write(b"S,SET PROTOCOL,6.2\r\n"
                 b"HIT,SPY,60,20260311 101500,20260311 101900,,,,1,H,,s,1\r\n")
    await writer.drain()
    history = {}
    while (line := (await asyncio.wait_for(reader.readline(), 5)).decode().strip()) \
            != "H,!ENDMSG!,":
        fields = line.split(",")
        if fields[0] == "H" and fields[1] == "LH":
            # LH,time,high,low,open,close,totalvolume,periodvolume,trades
            history[fields[2][11:16]] = fields[3:]
    writer.close()
    for minute, bar in streamed.items():
        high, low, opening, close, _, volume, _ = history[minute][:7]
        assert (float(bar["o"]), float(bar["h"]), float(bar["l"]), float(bar["c"]),
                float(bar["v"])) == (float(opening), float(high), float(low), float(close),
                                     float(volume)), minute
    raw.close()


# --- our client -------------------------------------------------------------------------

async def test_bar_stream_reads_watches_and_notices_a_dead_port(streaming):
    sim, _ = streaming
    stream = await BarStream.open("127.0.0.1", sim.derivative_port, silence_s=3.0)
    await stream.watch("AAPL", 60, "C1", begin=int(_at(10, 10)))
    seen: list[BarLine] = []
    while not any(line.kind == "update" for line in seen):
        line = await stream.read()
        if isinstance(line, BarLine):
            seen.append(line)
    assert [b.t for b in seen if b.kind == "history"] == [
        int(_at(10, m)) for m in range(10, 15)]
    await stream.unwatch("C1")
    await sim.stop()  # the port goes away: the next read says so instead of hanging
    with pytest.raises(FeedUnavailable):
        for _ in range(1000):
            await stream.read()
    stream.close()
    with pytest.raises(FeedUnavailable):
        await BarStream.open("127.0.0.1", sim.derivative_port, connect_timeout_s=1)


async def test_bar_stream_notices_a_silent_port():
    async def mute(reader, writer):
        await reader.read()

    server = await asyncio.start_server(mute, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    stream = await BarStream.open("127.0.0.1", port, silence_s=0.3)
    with pytest.raises(FeedUnavailable, match="silent"):
        await stream.read()
    stream.close()
    server.close()


async def test_level1_stream_names_the_selected_fields_of_each_trade(streaming):
    sim, clock = streaming
    stream = await Level1Stream.open("127.0.0.1", sim.level1_port, silence_s=3.0)
    await stream.select(("Most Recent Trade", "Most Recent Trade Size", "Total Volume"))
    await stream.watch("MSFT")
    lines: list[Notice] = []
    for _ in range(50):
        if len([n for n in lines if n.kind == "Q"]) >= 3:
            break
        line = await stream.read()
        if isinstance(line, Notice) and line.kind in ("P", "Q"):
            lines.append(line)
            clock.now += 1  # after the summary: the market moves on and prints trades
    assert lines[0].kind == "P"
    trades = [stream.record(n) for n in lines if n.kind == "Q"]
    assert all(set(t) == {"Symbol", "Most Recent Trade", "Most Recent Trade Size",
                          "Total Volume"} and t["Symbol"] == "MSFT" for t in trades)
    assert all(float(t["Most Recent Trade"]) > 0 for t in trades)
    await stream.unwatch("MSFT")
    stream.close()
