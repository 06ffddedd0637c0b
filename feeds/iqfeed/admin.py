"""IQConnect's admin port: the ``S,STATS`` status line, read over a held connection.

IQConnect sends ``S,STATS,...`` once a second; field 13 (1-based) is ``Connected`` or
``Not Connected`` (to DTN's servers). Holding this connection open also keeps IQConnect
running: it exits a few seconds after its last client disconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from feeds.iqfeed.errors import FeedUnavailable

STATUS_INDEX = 12
"""0-based index of the Status field, right after StartTime and MarketTime."""


@dataclass(frozen=True)
class FeedStatus:
    """What one ``S,STATS`` line says."""

    connected: bool
    status: str


def parse_stats(line: str) -> FeedStatus | None:
    """The status in an ``S,STATS`` line; None for any other line."""
    fields = line.rstrip("\r\n").split(",")
    if len(fields) <= STATUS_INDEX or fields[0] != "S" or fields[1] != "STATS":
        return None
    status = fields[STATUS_INDEX]
    return FeedStatus(status == "Connected", status)


class AdminConnection:
    """A held connection to the admin port; a reader task keeps the latest status."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._latest: FeedStatus | None = None
        self._received_at = 0.0
        self._news = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def open(cls, host: str, port: int, timeout_s: float = 3.0) -> AdminConnection:
        """Connect; FeedUnavailable if nothing answers."""
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port), timeout_s
            )
        except (TimeoutError, OSError) as exc:
            raise FeedUnavailable(
                f"IQConnect admin port {host}:{port} not reachable ({type(exc).__name__})"
            ) from None
        return cls(reader, writer)

    async def _read(self) -> None:
        try:
            while line := await self._reader.readline():
                status = parse_stats(line.decode("latin-1"))
                if status is not None:
                    self._latest, self._received_at = status, time.monotonic()
                    self._news.set()
        except (ConnectionError, OSError):
            pass
        finally:
            self._news.set()

    async def status(self, max_age_s: float = 3.0) -> FeedStatus:
        """A status no older than ``max_age_s``; FeedUnavailable if closed or silent that long."""
        deadline = time.monotonic() + max_age_s
        while True:
            if self._task.done():
                raise FeedUnavailable("IQConnect closed the admin connection")
            if self._latest is not None and time.monotonic() - self._received_at <= max_age_s:
                return self._latest
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FeedUnavailable(f"no status from IQConnect for {max_age_s:g} s")
            self._news.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._news.wait(), remaining)

    async def send(self, line: str) -> None:
        """Send one command line (CRLF added)."""
        self._writer.write(line.encode() + b"\r\n")
        await self._writer.drain()

    def close(self) -> None:
        """Close the connection and stop reading."""
        self._task.cancel()
        self._writer.close()

    @property
    def closed(self) -> bool:
        """True once the connection ended."""
        return self._task.done()
