"""The IQFeed simulator: IQConnect's lookup, admin and streaming ports on loopback, over TCP.

Answers ``S,SET PROTOCOL`` (6.1, 6.2) and all ten history requests of protocol 6.x (``HIT``,
``HID``, ``HIX`` interval bars; ``HTT``, ``HTD``, ``HTX`` ticks; ``HDT``, ``HDX`` daily, ``HWX``
weekly and ``HMX`` monthly bars) with IQFeed's field orders and line formats, from the
deterministic synthetic market and never with data from after its clock's now (``clock``,
injectable). A request that carried a RequestID gets every answer line under that id, errors
included: ``<id>,E,Invalid symbol.,``, ``<id>,E,!NO_DATA!,`` (nothing in the window),
``<id>,E,!SYNTAX_ERROR!,`` (unparsable, or interval types other than seconds), then
``<id>,!ENDMSG!,``; only a line with no readable id gets unprefixed ones. The admin port sends
``S,STATS`` once a second and takes ``S,SIM,<fault>,<value>`` / ``S,SIM,CLEAR`` to switch the
faults of :class:`SimulatorFaults`. Like IQConnect, it can exit a few seconds after its last
client leaves (``idle_exit_s``). The streaming ports (derivative bars and Level 1 trades,
:mod:`feeds.simulator.streaming`) print the same market on the same clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from feeds.iqfeed.protocol import NO_DATA, SUPPORTED_VERSIONS, protocol_reply
from feeds.simulator import history
from feeds.simulator.faults import SimulatorFaults
from feeds.simulator.line_format import (
    bar_lines,
    daily_lines,
    end_line,
    error_line,
    tick_lines,
)
from feeds.simulator.streaming import serve_streaming
from feeds.synthetic_market import is_known_symbol

_DEFAULT_PROTOCOL = "6.1"

REQUEST_ID_FIELD = {"HIT": 9, "HID": 8, "HIX": 5, "HTT": 8, "HTD": 7, "HTX": 4, "HDT": 6,
                    "HDX": 4, "HWX": 4, "HMX": 4}
"""Where each history request of protocol 6.x carries its RequestID (0-based field), as in
DTN's request formats (``HIX,[Symbol],[Interval],[MaxDatapoints],[DataDirection],[RequestID],
[DatapointsPerSend],[IntervalType],[LabelAtBeginning]`` ...). Fields after it are optional."""

_EARLIEST = history.wall_seconds(datetime.combine(history.FIRST_DAY, datetime.min.time()))
_LATEST = history.wall_seconds(datetime(2100, 1, 1))


class _SyntaxError(Exception):
    pass


@dataclass(frozen=True)
class _Query:
    """One parsed history request: what to build and the window to cut it to."""

    kind: str  # "bars", "ticks", "daily", "weekly" or "monthly"
    window: history.Window
    interval: int = 0
    label_at_beginning: bool = False


def _moment(text: str, blank: int) -> int:
    """A ``CCYYMMDD HHMMSS`` field in wall seconds; blank means ``blank`` (open-ended)."""
    if not text:
        return blank
    try:
        return history.wall_seconds(datetime.strptime(text, "%Y%m%d %H%M%S"))
    except ValueError:
        raise _SyntaxError from None


def _day(text: str, blank: int) -> int:
    """A ``CCYYMMDD`` field as the wall seconds of its midnight; blank means ``blank``."""
    if not text:
        return blank
    try:
        return history.wall_seconds(datetime.strptime(text, "%Y%m%d"))
    except ValueError:
        raise _SyntaxError from None


def _clock(text: str) -> int | None:
    """A ``HHMMSS`` filter field in seconds of the day; blank means no filter."""
    if not text:
        return None
    if len(text) != 6 or not (text.isascii() and text.isdigit()):
        raise _SyntaxError
    seconds = int(text[:2]) * 3600 + int(text[2:4]) * 60 + int(text[4:])
    if seconds >= 86400:
        raise _SyntaxError
    return seconds


def _int(text: str, default: int = 0) -> int:
    if not text:
        return default
    if not (text.isascii() and text.isdigit()):
        raise _SyntaxError
    return int(text)


def _count(text: str) -> int:
    """A required positive number (Days, or MaxDatapoints of a ``...X`` request)."""
    value = _int(text)
    if value < 1:
        raise _SyntaxError
    return value


def _flag(text: str) -> bool:
    """DataDirection (``1`` oldest first) or LabelAtBeginning: blank, ``0`` or ``1``."""
    if text not in ("", "0", "1"):
        raise _SyntaxError
    return text == "1"


def _window(begin: int, end: int, max_points: str, filters: tuple[str, str], direction: str
            ) -> history.Window:
    return history.Window(begin, end, _int(max_points), _clock(filters[0]), _clock(filters[1]),
                          _flag(direction))


def _last(count: str, direction: str) -> history.Window:
    """The window of a ``...X`` request: everything up to now, the newest ``count`` points."""
    return history.Window(_EARLIEST, _LATEST, _count(count), None, None, _flag(direction))


def _days_back(days: str, today: date) -> int:
    """The wall midnight ``days`` calendar days back, today counting as the first."""
    first = today - timedelta(days=_count(days) - 1)
    return history.wall_seconds(datetime.combine(first, datetime.min.time()))


def _bars(f: list[str], window: history.Window) -> _Query:
    """Interval, IntervalType (seconds only) and LabelAtBeginning of an ``HI.`` request."""
    interval = _int(f[2])
    rid = REQUEST_ID_FIELD[f[0]]
    if interval < 1 or f[rid + 2] not in ("", "s"):
        raise _SyntaxError
    return _Query("bars", window, interval, _flag(f[rid + 3]))


def _parse(f: list[str], today: date) -> _Query:
    """The query of a request's fields (padded with blanks); _SyntaxError if malformed."""
    command = f[0]
    _int(f[REQUEST_ID_FIELD[command] + 1])  # DatapointsPerSend: checked, not used
    if command == "HIT":
        return _bars(f, _window(_moment(f[3], _EARLIEST), _moment(f[4], _LATEST), f[5],
                                (f[6], f[7]), f[8]))
    if command == "HID":
        return _bars(f, _window(_days_back(f[3], today), _LATEST, f[4], (f[5], f[6]), f[7]))
    if command == "HIX":
        return _bars(f, _last(f[3], f[4]))
    if command == "HTT":
        return _Query("ticks", _window(_moment(f[2], _EARLIEST), _moment(f[3], _LATEST), f[4],
                                       (f[5], f[6]), f[7]))
    if command == "HTD":
        return _Query("ticks", _window(_days_back(f[2], today), _LATEST, f[3], (f[4], f[5]),
                                       f[6]))
    if command == "HTX":
        return _Query("ticks", _last(f[2], f[3]))
    if command == "HDT":
        return _Query("daily", _window(_day(f[2], _EARLIEST), _day(f[3], _LATEST), f[4],
                                       ("", ""), f[5]))
    kind = {"HDX": "daily", "HWX": "weekly", "HMX": "monthly"}[command]
    return _Query(kind, _last(f[2], f[3]))


class IQFeedSimulator:
    """Serves the lookup and admin ports until :meth:`stop`."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        lookup_port: int = 9100,
        admin_port: int = 9300,
        *,
        derivative_port: int | None = None,
        level1_port: int | None = None,
        second_history_days: int = 180,
        max_simultaneous: int = 15,
        idle_exit_s: float = 0.0,
        stats_interval_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.host = host
        self.lookup_port = lookup_port
        self.admin_port = admin_port
        self.derivative_port = derivative_port
        """Interval-bar streaming port (IQConnect's 9400); None: not served."""
        self.level1_port = level1_port
        """Level 1 streaming port (IQConnect's 5009); None: not served."""
        self.second_history_days = second_history_days
        self.max_simultaneous = max_simultaneous
        self.idle_exit_s = idle_exit_s
        self.stats_interval_s = stats_interval_s
        self.clock = clock
        """UTC epoch seconds of "now": no answer holds data from after it (tests fix it)."""
        self.faults = SimulatorFaults()
        self.stopped = asyncio.Event()
        self._servers: list[asyncio.Server] = []
        self._writers: set[asyncio.StreamWriter] = set()
        self._lookup_writers: set[asyncio.StreamWriter] = set()
        self._in_flight = 0
        self._started_at = time.time()
        self._idle_since = time.monotonic()

    async def start(self) -> None:
        """Bind both ports (port 0 picks a free one; the bound ports are stored back)."""
        lookup = await asyncio.start_server(self._lookup, self.host, self.lookup_port)
        admin = await asyncio.start_server(self._admin, self.host, self.admin_port)
        self._servers = [lookup, admin]
        self.lookup_port = lookup.sockets[0].getsockname()[1]
        self.admin_port = admin.sockets[0].getsockname()[1]
        if self.derivative_port is not None:
            self.derivative_port = await self._stream_port("derivative", self.derivative_port)
        if self.level1_port is not None:
            self.level1_port = await self._stream_port("level1", self.level1_port)
        if self.idle_exit_s > 0:
            self._idle_watch = asyncio.get_running_loop().create_task(self._exit_when_idle())

    async def _stream_port(self, kind: str, port: int) -> int:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            if self.faults.refuse:
                writer.close()
                return
            self._track(writer)
            self._lookup_writers.add(writer)  # a "refuse" fault drops streams too
            try:
                await serve_streaming(kind, self.clock, reader, writer)
            finally:
                self._lookup_writers.discard(writer)
                self._untrack(writer)

        server = await asyncio.start_server(serve, self.host, port)
        self._servers.append(server)
        return server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the ports and every open connection."""
        for server in self._servers:
            server.close()
        for writer in list(self._writers):
            writer.close()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self.stopped.set()

    async def _exit_when_idle(self) -> None:
        while not self.stopped.is_set():
            await asyncio.sleep(0.5)
            if self._writers:
                self._idle_since = time.monotonic()
            elif time.monotonic() - self._idle_since > self.idle_exit_s:
                await self.stop()

    def _track(self, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        self._idle_since = time.monotonic()

    def _untrack(self, writer: asyncio.StreamWriter) -> None:
        self._writers.discard(writer)
        self._idle_since = time.monotonic()
        writer.close()

    # -- lookup port ---------------------------------------------------------------------

    async def _lookup(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.faults.refuse:
            writer.close()
            return
        self._track(writer)
        self._lookup_writers.add(writer)
        version = _DEFAULT_PROTOCOL
        try:
            while line := await reader.readline():
                text = line.decode("latin-1").rstrip("\r\n")
                if not text:
                    continue
                if text.startswith("S,SET PROTOCOL,"):
                    asked = text.split(",")[2]
                    if asked in SUPPORTED_VERSIONS:
                        version = asked
                        writer.write(protocol_reply(version).encode() + b"\r\n")
                    else:
                        writer.write(error_line(None, f"Invalid protocol version {asked}."))
                    await writer.drain()
                    continue
                if not await self._history(text, version, writer):
                    return
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            self._lookup_writers.discard(writer)
            self._untrack(writer)

    async def _history(self, text: str, version: str, writer: asyncio.StreamWriter) -> bool:
        """Answer one request line; False when the connection was dropped on purpose."""
        fields = text.split(",")
        index = REQUEST_ID_FIELD.get(fields[0])
        request_id = (fields[index] or None) if index is not None and len(fields) > index else None
        try:
            if index is None or len(fields) < 2 or not fields[1]:
                raise _SyntaxError
            fields += [""] * (index + 4 - len(fields))
            query = _parse(fields, history.eastern_date(self.clock()))
        except _SyntaxError:
            # Real IQFeed prefixes the error of a request that carried an id with that id;
            # clients such as pyiqfeed route lines by it and stop on an unprefixed one.
            writer.write(error_line(request_id, "!SYNTAX_ERROR!") + end_line(request_id))
            await writer.drain()
            return True
        answer = await self._answer(fields[1].upper(), query, request_id, version)
        return await self._send(answer, request_id, writer)

    async def _answer(
        self, symbol: str, query: _Query, request_id: str | None, version: str
    ) -> bytes | str:
        """The answer's lines, or the text of its error line."""
        if self.faults.delay_s:
            await asyncio.sleep(self.faults.delay_s)
        if self.faults.too_many > 0 or self._in_flight >= self.max_simultaneous:
            self.faults.too_many = max(0, self.faults.too_many - 1)
            return "Too many simultaneous history requests."
        if not is_known_symbol(symbol):
            return "Invalid symbol."
        self._in_flight += 1
        try:
            return await asyncio.to_thread(self._build, symbol, query, request_id, version)
        finally:
            self._in_flight -= 1

    def _build(
        self, symbol: str, query: _Query, request_id: str | None, version: str
    ) -> bytes | str:
        """Build and format the answer as of the clock's now; ``!NO_DATA!`` when empty."""
        now = self.clock()
        if query.kind == "bars":
            first = self._first_allowed(now) if query.interval < 60 else None
            data = history.interval_bars(
                symbol, query.interval, query.window, query.label_at_beginning, now, first
            )
            return bar_lines(request_id, version, data) if data else NO_DATA
        if query.kind == "ticks":
            data = history.ticks(symbol, query.window, now, self._first_allowed(now))
            return tick_lines(request_id, version, data) if data else NO_DATA
        if query.kind == "daily":
            data = history.daily(symbol, query.window, now)
        else:
            periods = history.weekly if query.kind == "weekly" else history.monthly
            data = periods(symbol, query.window.max_points, now, query.window.oldest_first)
        return daily_lines(request_id, version, data) if data else NO_DATA

    def _first_allowed(self, now: float) -> date | None:
        """The oldest day of one-second bars and ticks served (``second_history_days``)."""
        if not self.second_history_days:
            return None
        return history.eastern_date(now) - timedelta(days=self.second_history_days)

    async def _send(
        self, answer: bytes | str, request_id: str | None, writer: asyncio.StreamWriter
    ) -> bool:
        if isinstance(answer, str):
            writer.write(error_line(request_id, answer) + end_line(request_id))
            await writer.drain()
            return True
        drop_after = self.faults.drop_after_lines
        if drop_after > 0:
            cut = 0
            for _ in range(drop_after):
                cut = answer.index(b"\n", cut) + 1 if answer.find(b"\n", cut) >= 0 else len(answer)
            writer.write(answer[:cut])
            await writer.drain()
            writer.transport.abort()
            return False
        view = memoryview(answer)
        step = 1 << 20
        for offset in range(0, len(answer), step):
            writer.write(view[offset:offset + step])
            await writer.drain()
        writer.write(end_line(request_id))
        await writer.drain()
        return True

    # -- admin port ----------------------------------------------------------------------

    def stats_line(self) -> bytes:
        """``S,STATS,...`` with the Status field (13th) ``Connected`` or ``Not Connected``."""
        status = "Not Connected" if self.faults.not_connected else "Connected"
        started = datetime.fromtimestamp(self._started_at).strftime("%b %d %I:%M%p")
        market = datetime.now().strftime("%b %d %I:%M:%S%p")
        fields = [
            "S", "STATS", "66.112.156.220", "60002", "1300", "0", str(len(self._writers)),
            "0", "0", "0", started, market, status, "6.2.0.25", "SIMULATOR",
            "0.00", "0.00", "0.00", "0.00", "0.00", "0.00",
        ]
        return (",".join(fields) + ",\r\n").encode()

    async def _admin(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._track(writer)
        sender = asyncio.get_running_loop().create_task(self._send_stats(writer))
        try:
            while line := await reader.readline():
                text = line.decode("latin-1").rstrip("\r\n")
                if text.upper().startswith("S,SIM,"):
                    writer.write(self._control(text.split(",")[2:]))
                    await writer.drain()
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            sender.cancel()
            self._untrack(writer)

    def _control(self, args: list[str]) -> bytes:
        try:
            if args and args[0].upper() == "CLEAR":
                self.faults.clear()
            else:
                self.faults.set(args[0], args[1] if len(args) > 1 else "1")
            if self.faults.refuse:  # going down: open lookup connections drop too
                for lookup in list(self._lookup_writers):
                    lookup.transport.abort()
            return b"S,SIM,OK,\r\n"
        except (KeyError, IndexError, ValueError):
            return error_line(None, "unknown simulator fault")

    async def _send_stats(self, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
            while True:
                writer.write(self.stats_line())
                await writer.drain()
                await asyncio.sleep(self.stats_interval_s)
