"""The IQFeed simulator: IQConnect's lookup and admin ports on loopback, over real TCP.

Answers ``S,SET PROTOCOL`` (6.1, 6.2), ``HIT``, ``HTT`` and ``HDT`` with the line formats of
IQFeed, from the deterministic synthetic market; unknown symbols get ``Invalid symbol.``,
empty windows ``!NO_DATA!``, unparsable or unsupported requests ``<id>,E,!SYNTAX_ERROR!,``
(unprefixed only when no request id can be read). The admin port sends
``S,STATS`` once a second and takes ``S,SIM,<fault>,<value>`` / ``S,SIM,CLEAR`` to switch the
faults of :class:`SimulatorFaults`. Like IQConnect, it can exit a few seconds after its last
client leaves (``idle_exit_s``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import date, datetime, timedelta

from feeds.eastern_time import EASTERN
from feeds.iqfeed.protocol import SUPPORTED_VERSIONS, protocol_reply
from feeds.simulator import history
from feeds.simulator.faults import SimulatorFaults
from feeds.simulator.line_format import (
    bar_lines,
    daily_lines,
    end_line,
    error_line,
    tick_lines,
)
from feeds.synthetic_market import is_known_symbol

_DEFAULT_PROTOCOL = "6.1"
_CHUNK_LINES = 4096


REQUEST_ID_FIELD = {"HIT": 9, "HID": 8, "HIX": 5, "HTT": 8, "HTD": 7, "HTX": 4, "HDT": 6,
                    "HDX": 4, "HWX": 4, "HMX": 4}
"""Where each history request of protocol 6.x carries its RequestID (0-based field). The
simulator answers HIT, HTT and HDT; the others get a syntax error, under their id."""


class _SyntaxError(Exception):
    pass


_EARLIEST = datetime(1995, 1, 1)


def _moment(text: str, blank: datetime | None = None) -> int:
    """A ``CCYYMMDD HHMMSS`` field; blank means ``blank`` (IQFeed: open-ended)."""
    if not text:
        return history.wall_seconds(blank or datetime.now(EASTERN).replace(tzinfo=None))
    try:
        return history.wall_seconds(datetime.strptime(text, "%Y%m%d %H%M%S"))
    except ValueError:
        raise _SyntaxError from None


def _day(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise _SyntaxError from None


def _clock(text: str) -> int | None:
    if not text:
        return None
    if len(text) != 6 or not (text.isascii() and text.isdigit()):
        raise _SyntaxError
    return int(text[:2]) * 3600 + int(text[2:4]) * 60 + int(text[4:])


def _int(text: str, default: int = 0) -> int:
    if not text:
        return default
    if not (text.isascii() and text.isdigit()):
        raise _SyntaxError
    return int(text)


class IQFeedSimulator:
    """Serves the lookup and admin ports until :meth:`stop`."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        lookup_port: int = 9100,
        admin_port: int = 9300,
        *,
        second_history_days: int = 180,
        max_simultaneous: int = 15,
        idle_exit_s: float = 0.0,
        stats_interval_s: float = 1.0,
    ) -> None:
        self.host = host
        self.lookup_port = lookup_port
        self.admin_port = admin_port
        self.second_history_days = second_history_days
        self.max_simultaneous = max_simultaneous
        self.idle_exit_s = idle_exit_s
        self.stats_interval_s = stats_interval_s
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
        if self.idle_exit_s > 0:
            self._idle_watch = asyncio.get_running_loop().create_task(self._exit_when_idle())

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
        command = fields[0]
        index = REQUEST_ID_FIELD.get(command)
        request_id = fields[index] or None if index is not None and len(fields) > index else None
        try:
            if command not in ("HIT", "HTT", "HDT") or index is None or not fields[1]:
                raise _SyntaxError
            if len(fields) <= index:
                raise _SyntaxError
            answer = await self._answer(command, fields, request_id or "", version)
        except _SyntaxError:
            # Real IQFeed prefixes the error of a request that carried an id with that id;
            # clients such as pyiqfeed route lines by it and stop on an unprefixed one.
            writer.write(error_line(request_id, "!SYNTAX_ERROR!") + end_line(request_id))
            await writer.drain()
            return True
        return await self._send(answer, request_id, writer)

    async def _answer(
        self, command: str, fields: list[str], request_id: str, version: str
    ) -> bytes | str:
        symbol = fields[1].upper()
        if command == "HIT":
            interval = _int(fields[2])
            window = history.Window(
                _moment(fields[3], _EARLIEST), _moment(fields[4]), _int(fields[5]),
                _clock(fields[6]), _clock(fields[7]), fields[8] == "1",
            )
            if interval < 1 or (len(fields) > 11 and fields[11] not in ("", "s")):
                raise _SyntaxError
            label_at_beginning = len(fields) > 12 and fields[12] == "1"
        elif command == "HTT":
            window = history.Window(
                _moment(fields[2], _EARLIEST), _moment(fields[3]), _int(fields[4]),
                _clock(fields[5]), _clock(fields[6]), fields[7] == "1",
            )
        else:
            first, last = _day(fields[2]), _day(fields[3])
            window = history.Window(
                history.wall_seconds(datetime.combine(first, datetime.min.time())),
                history.wall_seconds(datetime.combine(last, datetime.min.time())),
                _int(fields[4]), None, None, fields[5] == "1",
            )
        if self.faults.delay_s:
            await asyncio.sleep(self.faults.delay_s)
        if self.faults.too_many > 0 or self._in_flight >= self.max_simultaneous:
            self.faults.too_many = max(0, self.faults.too_many - 1)
            return "Too many simultaneous history requests."
        if not is_known_symbol(symbol):
            return "Invalid symbol."
        self._in_flight += 1
        try:
            return await asyncio.to_thread(
                self._build, command, symbol, window, request_id, version,
                interval if command == "HIT" else 0,
                label_at_beginning if command == "HIT" else True,
            )
        finally:
            self._in_flight -= 1

    def _build(
        self, command: str, symbol: str, window: history.Window, request_id: str,
        version: str, interval: int, label_at_beginning: bool,
    ) -> bytes | str:
        first_allowed = None
        if self.second_history_days and (command == "HTT" or interval < 60):
            first_allowed = date.today() - timedelta(days=self.second_history_days)
        now_wall = history.wall_seconds(datetime.now(EASTERN).replace(tzinfo=None))
        window = history.Window(
            window.begin, min(window.end, now_wall), window.max_points,
            window.begin_filter, window.end_filter, window.oldest_first,
        )
        if command == "HIT":
            data = history.interval_bars(
                symbol, interval, window, label_at_beginning, first_allowed
            )
            return bar_lines(request_id, version, data) if data and data["t"].size else "!NO_DATA!"
        if command == "HTT":
            data = history.ticks(symbol, window, first_allowed)
            return tick_lines(request_id, version, data) if data and data["t_us"].size else (
                "!NO_DATA!")
        data = history.daily(symbol, window)
        return daily_lines(request_id, version, data) if data and data["t"].size else "!NO_DATA!"

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
