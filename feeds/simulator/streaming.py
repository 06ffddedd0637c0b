"""The simulator's streaming ports: interval bars (derivative, 9400) and Level 1 trades (5009).

Both stream the market the lookup port serves as history, on the same clock: a one-second bar
of the synthetic market is printed once it has ended (its trades spread inside it), which is
the moment history starts serving it, so a streamed trade is in the history at most one second
later. Streams run in real time, or at N x speed in replay mode (the clock says). Every
connection gets ``T,`` heartbeats once a (wall) second stamped with the market's time.

Derivative: ``BW`` answers the history asked for as ``BH`` lines (completed bars), then the
forming bar as ``BU`` (at most every UpdateInterval market seconds) and each bar as ``BC`` once
its interval has passed. Bars are aligned from midnight Eastern and stamped with their start.
Level 1: ``w`` answers a ``P`` summary, then one ``Q`` per trade.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np

from feeds.eastern_time import utc_to_eastern
from feeds.iqfeed.protocol import SUPPORTED_VERSIONS, protocol_reply
from feeds.iqfeed.streaming_protocol import DEFAULT_LEVEL1_FIELDS
from feeds.simulator import history
from feeds.simulator.line_format import error_line
from feeds.synthetic_market import is_known_symbol, second_bars

PUMP_S = 0.02
"""Wall seconds between two passes over a connection's watches."""
HEARTBEAT_S = 1.0


def _wall(utc: int) -> int:
    return int(utc_to_eastern(np.array([utc], np.int64))[0])


def _moment(wall: int) -> datetime:
    return datetime(1970, 1, 1) + timedelta(seconds=wall)


def _stamp(wall: int) -> str:
    return f"{_moment(wall):%Y-%m-%d %H:%M:%S}"


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


class _Day:
    """One symbol-day's one-second bars, revealed as the clock passes their end."""

    def __init__(self, symbol: str, day: date) -> None:
        raw = second_bars(symbol, day)
        self.day = day
        self.t = raw["t"]
        self.wall = utc_to_eastern(raw["t"]) if raw["t"].size else raw["t"]
        self.o, self.h, self.low, self.c, self.v, self.n = (
            raw["o"], raw["h"], raw["l"], raw["c"], raw["v"], raw["n"])

    def ended_by(self, now: float) -> int:
        """How many of the day's bars ended by ``now`` (a bar ``[t, t+1)`` ends at ``t+1``)."""
        return int(np.searchsorted(self.t, int(now) - 1, side="right"))


@dataclass
class _Bar:
    start: int  # wall seconds
    o: float
    h: float
    low: float
    c: float
    v: float
    n: int

    def add(self, o: float, h: float, low: float, c: float, v: float, n: int) -> None:
        self.h, self.low, self.c = max(self.h, h), min(self.low, low), c
        self.v += v
        self.n += n


@dataclass
class BarWatch:
    """One ``BW`` watch: its forming bar and how far into the day it has been printed."""

    symbol: str
    interval_s: int
    request_id: str
    update_s: int
    day: _Day | None = None
    cursor: int = 0
    total: float = 0.0
    forming: _Bar | None = None
    changed: bool = False
    last_update: float = -1e18

    def _line(self, kind: str, bar: _Bar) -> str:
        head = f"{self.request_id}," if self.request_id else ""
        return (f"{head}{kind},{self.symbol},{_stamp(bar.start)},{_number(bar.o)},"
                f"{_number(bar.h)},{_number(bar.low)},{_number(bar.c)},{_number(self.total)},"
                f"{_number(bar.v)},{bar.n},\r\n")

    def history_lines(self, begin_wall: int, now: float) -> list[str]:
        """``BH`` lines of the completed bars since ``begin_wall``; the forming bar is held."""
        window = history.Window(begin_wall, history.wall_seconds(datetime(2100, 1, 1)), 0,
                                None, None, True)
        bars = history.interval_bars(self.symbol, self.interval_s, window, True, now)
        lines = []
        now_wall = _wall(int(now))
        for i in range(bars["t"].size if bars else 0):
            bar = _Bar(int(bars["t"][i]), float(bars["o"][i]), float(bars["h"][i]),
                       float(bars["l"][i]), float(bars["c"][i]), float(bars["v"][i]),
                       int(bars["n"][i]))
            if bar.start + self.interval_s <= now_wall:
                self.total = float(bars["total"][i])
                lines.append(self._line("BH", bar))
        return lines

    def advance(self, now: float) -> list[str]:
        """Lines for what the market did since the last call: ``BC`` for every bar whose
        interval passed, ``BU`` for the forming bar when it changed."""
        lines: list[str] = []
        today = history.eastern_date(now)
        if self.day is None or self.day.day != today:
            if self.forming is not None:
                lines.append(self._line("BC", self.forming))
                self.forming = None
            self.day = _Day(self.symbol, today)
            self.cursor = 0
            self.total = 0.0
        day = self.day
        upto = day.ended_by(now)
        for i in range(self.cursor, upto):
            bucket = int(day.wall[i]) - int(day.wall[i]) % self.interval_s
            if self.forming is not None and bucket != self.forming.start:
                lines.append(self._line("BC", self.forming))
                self.forming = None
            args = (float(day.o[i]), float(day.h[i]), float(day.low[i]), float(day.c[i]),
                    float(day.v[i]), int(day.n[i]))
            self.total += args[4]
            if self.forming is None:
                self.forming = _Bar(bucket, *args)
            else:
                self.forming.add(*args)
            self.changed = True
        self.cursor = max(self.cursor, upto)
        if self.forming is not None and self.forming.start + self.interval_s <= _wall(int(now)):
            lines.append(self._line("BC", self.forming))
            self.forming = None
            self.changed = False
        if self.changed and self.forming is not None and now - self.last_update >= self.update_s:
            lines.append(self._line("BU", self.forming))
            self.changed = False
            self.last_update = now
        return lines

    def start(self, begin_wall: int, now: float) -> list[str]:
        """The answer to the ``BW``: the completed bars since ``begin_wall``, then the forming
        bar so far (today's seconds of the current interval)."""
        lines = self.history_lines(begin_wall, now)
        day = self.day = _Day(self.symbol, history.eastern_date(now))
        self.cursor = day.ended_by(now)
        self.total = float(day.v[:self.cursor].sum())
        now_wall = _wall(int(now))
        current = now_wall - now_wall % self.interval_s
        first = int(np.searchsorted(day.wall, current)) if self.cursor else 0
        if first < self.cursor:
            part = slice(first, self.cursor)
            self.forming = _Bar(current, float(day.o[first]), float(day.h[part].max()),
                                float(day.low[part].min()), float(day.c[self.cursor - 1]),
                                float(day.v[part].sum()), int(day.n[part].sum()))
            lines.append(self._line("BU", self.forming))
            self.last_update = now
        return lines


@dataclass
class TradeWatch:
    """One Level 1 watch: the day's trades printed so far."""

    symbol: str
    day: date | None = None
    ticks: dict[str, np.ndarray] = field(default_factory=dict)
    cursor: int = 0
    high: float = 0.0
    low: float = 0.0
    open: float = 0.0

    def _load(self, now: float) -> None:
        today = history.eastern_date(now)
        if self.day != today:
            self.day = today
            midnight = history.wall_seconds(datetime.combine(today, datetime.min.time()))
            window = history.Window(midnight, midnight + 86399, 0, None, None, True)
            self.ticks = history.ticks(self.symbol, window, midnight + 3 * 86400)
            self.cursor = 0
            self.open = self.high = self.low = 0.0

    def _ended(self, now: float) -> int:
        if not self.ticks:
            return 0
        limit = (_wall(int(now)) * 1_000_000 + int((now % 1) * 1_000_000))
        return int(np.searchsorted(self.ticks["t_us"], limit, side="right"))

    def _record(self, i: int, kind: str, names: tuple[str, ...]) -> str:
        if i < 0:
            values = {"Symbol": self.symbol}
        else:
            ticks = self.ticks
            price = float(ticks["price"][i])
            stamp = int(ticks["t_us"][i])
            clock = f"{stamp // 1_000_000 % 86400 // 3600:02d}:{stamp // 60_000_000 % 60:02d}:" \
                    f"{stamp // 1_000_000 % 60:02d}.{stamp % 1_000_000:06d}"
            values = {
                "Symbol": self.symbol, "Most Recent Trade": _number(price),
                "Most Recent Trade Size": _number(float(ticks["size"][i])),
                "Most Recent Trade Time": clock, "Most Recent Trade Market Center": "11",
                "Total Volume": _number(float(ticks["total"][i])),
                "Bid": _number(float(ticks["bid"][i])), "Bid Size": "100",
                "Ask": _number(float(ticks["ask"][i])), "Ask Size": "100",
                "Open": _number(self.open), "High": _number(self.high),
                "Low": _number(self.low), "Close": "", "Message Contents": "C",
                "Most Recent Trade Conditions": "01",
            }
        return kind + "," + ",".join(values.get(name, "") for name in names) + ",\r\n"

    def summary(self, now: float, names: tuple[str, ...]) -> list[str]:
        """The ``P`` line: the last trade so far (fields blank before the first)."""
        self._load(now)
        upto = self._ended(now)
        if upto:
            prices = self.ticks["price"][:upto]
            self.open, self.high, self.low = float(prices[0]), float(prices.max()),\
                float(prices.min())
        self.cursor = upto
        return [self._record(upto - 1, "P", names)]

    def advance(self, now: float, names: tuple[str, ...]) -> list[str]:
        """One ``Q`` line per trade printed since the last call."""
        self._load(now)
        upto = self._ended(now)
        lines = []
        for i in range(self.cursor, upto):
            price = float(self.ticks["price"][i])
            if not self.open:
                self.open = self.high = self.low = price
            self.high, self.low = max(self.high, price), min(self.low, price)
            lines.append(self._record(i, "Q", names))
        self.cursor = max(self.cursor, upto)
        return lines


def _heartbeat(now: float) -> str:
    return f"T,{_moment(_wall(int(now))):%Y%m%d %H:%M:%S},\r\n"


def _begin_wall(fields: list[str], now: float) -> int:
    """Where a ``BW``'s history starts: BeginDate BeginTime, MaxDays (today counting as one)
    or, with neither, the start of today."""
    if fields[3]:
        return history.wall_seconds(datetime.strptime(fields[3], "%Y%m%d %H%M%S"))
    days = int(fields[4]) if fields[4] else 1
    if days < 1:
        raise ValueError
    first = history.eastern_date(now) - timedelta(days=days - 1)
    return history.wall_seconds(datetime.combine(first, datetime.min.time()))


class StreamingConnection:
    """One client of a streaming port: its commands in, its watches' lines out."""

    def __init__(self, kind: str, clock: Callable[[], float], writer: asyncio.StreamWriter,
                 symbol_limit: int = 500) -> None:
        self.kind = kind  # "derivative" or "level1"
        self.clock = clock
        self.writer = writer
        self.symbol_limit = symbol_limit
        self.bars: dict[str, BarWatch] = {}
        self.trades: dict[str, TradeWatch] = {}
        self.fields = DEFAULT_LEVEL1_FIELDS
        self.version = "6.1"
        self._last_beat = 0.0

    def _send(self, lines: list[str] | str) -> None:
        text = lines if isinstance(lines, str) else "".join(lines)
        if text:
            self.writer.write(text.encode())

    async def pump(self) -> None:
        """Print the watches' lines and a heartbeat a second until the connection closes."""
        loop = asyncio.get_running_loop()
        with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
            while not self.writer.is_closing():
                now = self.clock()
                lines: list[str] = []
                if loop.time() - self._last_beat >= HEARTBEAT_S:
                    self._last_beat = loop.time()
                    lines.append(_heartbeat(now))
                for watch in list(self.bars.values()):
                    lines += watch.advance(now)
                for trade in list(self.trades.values()):
                    lines += trade.advance(now, self.fields)
                self._send(lines)
                await self.writer.drain()
                await asyncio.sleep(PUMP_S)

    def command(self, text: str) -> None:
        """Act on one request line."""
        now = self.clock()
        if text.startswith("S,"):
            self._system(text.split(","), now)
        elif self.kind == "derivative" and text.startswith(("BW,", "BR,")):
            self._bars(text.split(","), now)
        elif self.kind == "level1" and text[:1] in ("w", "r") and len(text) > 1:
            self._trades(text[0], text[1:].strip().upper(), now)
        else:
            self._send(error_line(None, "!SYNTAX_ERROR!").decode())

    def _system(self, fields: list[str], now: float) -> None:
        command = fields[1].upper() if len(fields) > 1 else ""
        if command == "SET PROTOCOL" and len(fields) > 2:
            if fields[2] in SUPPORTED_VERSIONS:
                self.version = fields[2]
                self._send(protocol_reply(self.version) + "\r\n")
            else:
                self._send(error_line(None, f"Invalid protocol version {fields[2]}.").decode())
        elif command == "UNWATCH ALL":
            self.bars.clear()
            self.trades.clear()
        elif command == "REQUEST WATCHES":
            watched = [f"{w.symbol},{w.interval_s}s,{w.request_id}" for w in self.bars.values()]
            watched += list(self.trades)
            self._send(f"S,WATCHES,{','.join(watched)},\r\n" if watched else "S,WATCHES,\r\n")
        elif command == "SELECT UPDATE FIELDS" and self.kind == "level1":
            names = ("Symbol", *(f for f in fields[2:] if f and f != "Symbol"))
            unknown = [n for n in names if n not in DEFAULT_LEVEL1_FIELDS]
            if unknown:
                self._send(error_line(None, f"Invalid field: {unknown[0]}").decode())
                return
            self.fields = names
            self._send("S,CURRENT UPDATE FIELDNAMES," + ",".join(names) + ",\r\n")
        else:
            self._send(error_line(None, "!SYNTAX_ERROR!").decode())

    def _bars(self, fields: list[str], now: float) -> None:
        if fields[0] == "BR":
            key = fields[1].strip() if len(fields) > 1 else ""
            removed = self.bars.pop(key, None) or next(
                (self.bars.pop(k) for k, w in list(self.bars.items()) if w.symbol == key), None)
            if removed is None:
                self._send(error_line(None, f"No watch {key}").decode())
            return
        fields += [""] * (12 - len(fields))
        symbol, request_id = fields[1].strip().upper(), fields[8].strip()
        try:
            interval = int(fields[2])
            update_s = int(fields[11]) if fields[11] else 0
            if interval < 1 or fields[9] not in ("", "s") or update_s < 0:
                raise ValueError
            begin = _begin_wall(fields, now)
        except ValueError:
            self._send(error_line(request_id or None, "!SYNTAX_ERROR!").decode())
            return
        if not symbol or not is_known_symbol(symbol):
            self._send(f"n,{symbol},\r\n")
            return
        key = request_id or symbol
        if key in self.bars:
            self._send(f"S,REPLACED PREVIOUS WATCH,{symbol},\r\n")
        elif len(self.bars) >= self.symbol_limit:
            self._send(f"S,SYMBOL LIMIT REACHED,{symbol},\r\n")
            return
        watch = BarWatch(symbol, interval, request_id, update_s)
        self.bars[key] = watch
        self._send(watch.start(begin, now))

    def _trades(self, verb: str, symbol: str, now: float) -> None:
        if verb == "r":
            self.trades.pop(symbol, None)
            return
        if not is_known_symbol(symbol):
            self._send(f"n,{symbol},\r\n")
            return
        watch = self.trades.get(symbol) or TradeWatch(symbol)
        self.trades[symbol] = watch
        self._send(watch.summary(now, self.fields))


async def serve_streaming(kind: str, clock: Callable[[], float], reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
    """Serve one connection of the ``kind`` streaming port until it closes."""
    connection = StreamingConnection(kind, clock, writer)
    writer.write(b"S,SERVER CONNECTED,\r\n")
    pump = asyncio.get_running_loop().create_task(connection.pump())
    try:
        while line := await reader.readline():
            text = line.decode("latin-1").rstrip("\r\n")
            if text:
                connection.command(text)
    except (ConnectionError, OSError, asyncio.CancelledError):
        pass
    finally:
        pump.cancel()
        writer.close()
