"""Asyncio clients of IQConnect's streaming ports: live interval bars (derivative port 9400,
``BW`` watches) and trades (Level 1 port 5009, ``w`` watches).

``stream = await BarStream.open("127.0.0.1", 9400)``, ``await stream.watch("AAPL", 60, "L1",
begin=...)``, then ``await stream.read()`` returns one parsed line at a time
(:class:`~feeds.iqfeed.streaming_protocol.BarLine`, ``Heartbeat`` or ``Notice``);
:class:`Level1Stream` likewise with ``watch("AAPL")`` and ``Q``/``P`` notices whose fields
:meth:`Level1Stream.record` names. IQConnect sends a ``T,`` heartbeat every second; ``read``
raises :class:`~feeds.iqfeed.errors.FeedUnavailable` when the connection closes or no line came
for ``silence_s`` seconds, so a dead feed is noticed even while no symbol trades.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Self

from feeds.eastern_time import format_request_time
from feeds.iqfeed.errors import FeedUnavailable
from feeds.iqfeed.protocol import PROTOCOL_VERSION, set_protocol
from feeds.iqfeed.streaming_protocol import (
    DEFAULT_LEVEL1_FIELDS,
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


class StreamConnection:
    """One streaming-port connection: requests out, parsed lines in."""

    PORT_NAME = "streaming"

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 silence_s: float) -> None:
        self._reader = reader
        self._writer = writer
        self.silence_s = silence_s

    @classmethod
    async def open(cls, host: str, port: int, *, protocol: str = PROTOCOL_VERSION,
                   connect_timeout_s: float = 3.0, silence_s: float = 5.0) -> Self:
        """Connect and select the protocol; FeedUnavailable when nothing listens."""
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port), connect_timeout_s)
        except (OSError, TimeoutError) as error:
            raise FeedUnavailable(f"IQFeed {cls.PORT_NAME} port {host}:{port} unreachable: "
                                  f"{type(error).__name__}") from None
        stream = cls(reader, writer, silence_s)
        await stream._send(set_protocol(protocol))
        return stream

    async def _send(self, line: bytes) -> None:
        try:
            self._writer.write(line)
            await self._writer.drain()
        except (ConnectionError, OSError) as error:
            raise FeedUnavailable(f"IQFeed {self.PORT_NAME} port closed: {error}") from None

    async def read(self) -> BarLine | Heartbeat | Notice:
        """The next line; FeedUnavailable when the connection ended or went silent."""
        try:
            line = await asyncio.wait_for(self._reader.readline(), self.silence_s)
        except TimeoutError:
            raise FeedUnavailable(f"IQFeed {self.PORT_NAME} port silent for "
                                  f"{self.silence_s:g} s") from None
        except (ConnectionError, OSError) as error:
            raise FeedUnavailable(f"IQFeed {self.PORT_NAME} port closed: {error}") from None
        if not line.endswith(b"\n"):
            raise FeedUnavailable(f"IQFeed {self.PORT_NAME} port closed the connection")
        try:
            return parse_stream_line(line.decode("latin-1"))
        except ValueError as error:
            return Notice("E", (f"unreadable line: {error}",))

    def close(self) -> None:
        """Close the connection (IQConnect drops its watches)."""
        with contextlib.suppress(Exception):
            self._writer.close()


class BarStream(StreamConnection):
    """A derivative-port connection and its interval-bar watches."""

    PORT_NAME = "derivative"

    async def watch(self, symbol: str, interval_s: int, request_id: str,
                    begin: int | None = None, update_s: int = 0) -> None:
        """Watch ``symbol``'s ``interval_s`` bars under ``request_id``, with the completed
        bars since UTC second ``begin`` first (none when None: today's, as IQFeed does)."""
        stamp = format_request_time(begin) if begin is not None else None
        await self._send(bw_request(symbol, interval_s, request_id, begin=stamp,
                                    update_s=update_s))

    async def unwatch(self, request_id: str) -> None:
        """Stop the watch ``request_id``."""
        await self._send(br_request(request_id))


class Level1Stream(StreamConnection):
    """A Level 1 connection and its trade watches (``Q`` lines per trade, ``P`` summaries)."""

    PORT_NAME = "Level 1"
    names: tuple[str, ...] = DEFAULT_LEVEL1_FIELDS

    async def select(self, names: tuple[str, ...]) -> None:
        """Ask for ``names`` (Symbol first) in every later ``Q``/``P`` line."""
        self.names = ("Symbol", *(name for name in names if name != "Symbol"))
        await self._send(select_fields(self.names))

    async def watch(self, symbol: str) -> None:
        """Watch ``symbol``'s trades."""
        await self._send(watch_trades(symbol))

    async def unwatch(self, symbol: str) -> None:
        """Stop watching ``symbol``."""
        await self._send(unwatch_trades(symbol))

    def record(self, notice: Notice) -> dict[str, str]:
        """A ``Q``/``P`` line's fields by name, in this connection's fieldset."""
        return level1_record(notice.fields, self.names)
