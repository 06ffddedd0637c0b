"""Asyncio IQFeed history client: pooled lookup-port connections, streaming NumPy parsing.

Use (inside a coroutine): ``client = IQFeedClient("127.0.0.1", 9100)``, then
``bars = await client.fetch_bars("AAPL", start, end, interval_s=1)``. Besides periods
(``fetch_bars`` HIT, ``fetch_ticks`` HTT, ``fetch_daily`` HDT) it asks for the last N points
(``fetch_last_bars`` HIX, ``fetch_last_ticks`` HTX, ``fetch_last_daily`` HDX, ``fetch_weekly``
HWX, ``fetch_monthly`` HMX) and the last N days (``fetch_bars_for_days`` HID).

Every answer is parsed chunk by chunk as it arrives, straight into arrays (no per-line Python
objects). A request that fails part-way (timeout, dropped stream, bad line) closes its
connection, so the next request never reads the leftovers of an earlier one.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from feeds.bars import Bars, Ticks
from feeds.eastern_time import eastern_to_utc, format_request_time, utc_to_eastern
from feeds.iqfeed import line_parser as lp
from feeds.iqfeed.errors import (
    FeedError,
    FeedTimeout,
    FeedUnavailable,
    ProtocolError,
    TooManyRequests,
)
from feeds.iqfeed.protocol import (
    PROTOCOL_VERSION,
    SUPPORTED_VERSIONS,
    classify_error,
    daily_points_request,
    error_text,
    hdt_request,
    hid_request,
    hit_request,
    hix_request,
    htt_request,
    htx_request,
    protocol_reply,
    set_protocol,
)
from feeds.iqfeed.rate_limiter import TokenBucket
from feeds.market_calendar import REGULAR_CLOSE, REGULAR_OPEN, after_early_closes

SYMBOL_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9.\-/@#+_^]{0,29}")
_REGULAR_OPEN_S = REGULAR_OPEN.hour * 3600 + REGULAR_OPEN.minute * 60
_REGULAR_CLOSE_S = REGULAR_CLOSE.hour * 3600 + REGULAR_CLOSE.minute * 60
_READ_SIZE = 1 << 20


def _regular_filter(interval_s: int, label_at_beginning: bool) -> tuple[str, str]:
    """IQFeed time-of-day filters (``HHMMSS`` on bar labels) selecting regular-session bars."""
    first = _REGULAR_OPEN_S + (0 if label_at_beginning else interval_s)
    last = _REGULAR_CLOSE_S - (interval_s if label_at_beginning else 0)
    return tuple(f"{s // 3600:02d}{s % 3600 // 60:02d}{s % 60:02d}" for s in (first, last))


def _days_of(t: np.ndarray) -> list[date]:
    """The Eastern calendar days of UTC times ``t``."""
    epoch = date(1970, 1, 1).toordinal()
    return [date.fromordinal(epoch + int(day)) for day in
            np.unique(utc_to_eastern(t) // 86400).tolist()] if t.size else []


def normalize_symbol(symbol: str) -> str:
    """Upper-cased symbol; ValueError if it could not be an IQFeed symbol (or would inject)."""
    candidate = symbol.strip().upper()
    if not SYMBOL_PATTERN.fullmatch(candidate):
        raise ValueError("symbol must be 1-30 of A-Z 0-9 . - / @ # + _ ^, starting alphanumeric")
    return candidate


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    used: bool = False

    def close(self) -> None:
        self.writer.close()


@dataclass
class _Columns:
    """Growable output arrays for one parser kernel."""

    dtypes: tuple[type, ...]
    capacity: int
    arrays: list[np.ndarray] = field(init=False)
    rows: int = 0

    def __post_init__(self) -> None:
        self.arrays = [np.empty(self.capacity, dtype=d) for d in self.dtypes]

    def grow(self) -> None:
        self.capacity *= 2
        self.arrays = [np.resize(a, self.capacity) for a in self.arrays]

    def result(self) -> list[np.ndarray]:
        return [a[: self.rows].copy() for a in self.arrays]


_BAR_DTYPES = (np.int64, np.float64, np.float64, np.float64, np.float64, np.float64)
_TICK_DTYPES = (np.int64, np.float64, np.float64, np.float64, np.float64, np.int64)


class IQFeedClient:
    """History requests against IQConnect's lookup port (or the simulator)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 9100,
        *,
        protocol: str = PROTOCOL_VERSION,
        pool_size: int = 4,
        timeout_s: float = 30.0,
        connect_timeout_s: float = 3.0,
        rate_per_s: float = 40.0,
        burst: int = 10,
        max_retries: int = 4,
        label_at_beginning: bool = True,
    ) -> None:
        if protocol not in SUPPORTED_VERSIONS:
            raise ValueError(f"protocol must be one of {SUPPORTED_VERSIONS}")
        self.host, self.port, self.protocol = host, port, protocol
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.max_retries = max_retries
        self.label_at_beginning = label_at_beginning
        self.rate_limiter = TokenBucket(rate_per_s, burst)
        self._slots = asyncio.Semaphore(pool_size)
        self._idle: list[_Connection] = []
        self._ids = itertools.count(1)

    async def fetch_bars(
        self, symbol: str, start: int, end: int, interval_s: int, regular_hours: bool = False
    ) -> Bars:
        """Bars of ``interval_s`` seconds with START times in ``[start, end)`` (UTC epoch s);
        ``regular_hours`` keeps only bars inside the regular session (09:30-16:00 Eastern,
        13:00 on early closes)."""
        symbol = normalize_symbol(symbol)
        if interval_s < 1 or end <= start:
            raise ValueError("interval_s must be >= 1 and end after start")

        def request(request_id: str) -> bytes:
            # Ask for bars ending after `start` so the one starting at `start` is included
            # whichever labelling the server uses; the filter below trims the rest.
            first, last = _regular_filter(interval_s, self.label_at_beginning)
            return hit_request(
                symbol, interval_s, format_request_time(start),
                format_request_time(end - 1 + (0 if self.label_at_beginning else interval_s)),
                request_id, label_at_beginning=self.label_at_beginning,
                begin_filter=first if regular_hours else None,
                end_filter=last if regular_hours else None,
            )

        span = (end - start) * (6.5 / 24 if regular_hours else 1)
        estimate = int(min(max(span // interval_s + 16, 1024), 1 << 22))
        bars = await self._interval_bars(symbol, request, interval_s, estimate)
        keep = (bars.t >= start) & (bars.t < end)
        if regular_hours:  # the request's time-of-day filter is one for all its days
            keep &= ~after_early_closes(bars.t, _days_of(bars.t))
        return Bars(*(column[keep] for column in bars.columns()))

    async def fetch_bars_for_days(
        self, symbol: str, interval_s: int, days: int, regular_hours: bool = False
    ) -> Bars:
        """Bars of ``interval_s`` seconds of the last ``days`` calendar days (1: today so far),
        oldest first; ``regular_hours`` keeps only bars inside 09:30-16:00 Eastern."""
        symbol = normalize_symbol(symbol)
        if interval_s < 1 or days < 1:
            raise ValueError("interval_s and days must be >= 1")
        first, last = _regular_filter(interval_s, self.label_at_beginning)

        def request(request_id: str) -> bytes:
            return hid_request(
                symbol, interval_s, days, request_id,
                begin_filter=first if regular_hours else None,
                end_filter=last if regular_hours else None,
                label_at_beginning=self.label_at_beginning,
            )

        estimate = int(min(max(days * 57600 // interval_s + 16, 1024), 1 << 22))
        return await self._interval_bars(symbol, request, interval_s, estimate)

    async def fetch_last_bars(self, symbol: str, interval_s: int, count: int) -> Bars:
        """The newest ``count`` bars of ``interval_s`` seconds (the current one so far), oldest
        first, ``t`` = bar start (UTC epoch seconds)."""
        symbol = normalize_symbol(symbol)
        if interval_s < 1 or count < 1:
            raise ValueError("interval_s and count must be >= 1")

        def request(request_id: str) -> bytes:
            return hix_request(
                symbol, interval_s, count, request_id, label_at_beginning=self.label_at_beginning
            )

        return await self._interval_bars(symbol, request, interval_s, min(count, 1 << 22))

    async def _interval_bars(
        self, symbol: str, request: Callable[[str], bytes], interval_s: int, estimate: int
    ) -> Bars:
        """Parse an HIT/HID/HIX answer; ``t`` becomes each bar's start in UTC."""
        t, o, h, l, c, v = await self._request(
            symbol, request, lp.parse_bar_chunk, _BAR_DTYPES, estimate
        )
        t = eastern_to_utc(t)
        if not self.label_at_beginning:
            t -= interval_s
        return Bars(t, o, h, l, c, v)

    async def fetch_ticks(self, symbol: str, start: int, end: int) -> Ticks:
        """Trades with times in ``[start, end)`` (UTC epoch seconds)."""
        symbol = normalize_symbol(symbol)
        if end <= start:
            raise ValueError("end must be after start")

        def request(request_id: str) -> bytes:
            return htt_request(
                symbol, format_request_time(start), format_request_time(end - 1), request_id
            )

        ticks = await self._ticks(symbol, request, 65536)
        keep = (ticks.t_us >= start * 1_000_000) & (ticks.t_us < end * 1_000_000)
        return Ticks(ticks.t_us[keep], ticks.price[keep], ticks.size[keep], ticks.bid[keep],
                     ticks.ask[keep], ticks.tick_id[keep])

    async def fetch_last_ticks(self, symbol: str, count: int) -> Ticks:
        """The newest ``count`` trades, oldest first."""
        symbol = normalize_symbol(symbol)
        if count < 1:
            raise ValueError("count must be >= 1")

        def request(request_id: str) -> bytes:
            return htx_request(symbol, count, request_id)

        return await self._ticks(symbol, request, min(count, 1 << 22))

    async def _ticks(self, symbol: str, request: Callable[[str], bytes], estimate: int) -> Ticks:
        """Parse an HTT/HTD/HTX answer; times become UTC epoch microseconds."""
        t_us, price, size, bid, ask, tick_id = await self._request(
            symbol, request, lp.parse_tick_chunk, _TICK_DTYPES, estimate
        )
        seconds, micros = np.divmod(t_us, 1_000_000)
        return Ticks(eastern_to_utc(seconds) * 1_000_000 + micros, price, size, bid, ask, tick_id)

    async def fetch_daily(self, symbol: str, first: date, last: date) -> Bars:
        """One bar per session, ``first`` to ``last`` inclusive; ``t`` = its 09:30 open (UTC)."""
        symbol = normalize_symbol(symbol)
        if last < first:
            raise ValueError("last must not be before first")

        def request(request_id: str) -> bytes:
            return hdt_request(
                symbol, first.strftime("%Y%m%d"), last.strftime("%Y%m%d"), request_id
            )

        return await self._daily_bars(symbol, request, 4096)

    async def fetch_last_daily(self, symbol: str, count: int) -> Bars:
        """The newest ``count`` daily bars (today's so far), oldest first; ``t`` = 09:30 open."""
        return await self._daily_points("HDX", symbol, count)

    async def fetch_weekly(self, symbol: str, count: int) -> Bars:
        """The newest ``count`` weekly bars (this week's so far), oldest first; ``t`` = 09:30 of
        the date IQFeed stamps the week with (its last trading day so far)."""
        return await self._daily_points("HWX", symbol, count)

    async def fetch_monthly(self, symbol: str, count: int) -> Bars:
        """The newest ``count`` monthly bars (this month's so far), oldest first; ``t`` = 09:30
        of the date IQFeed stamps the month with (its last trading day so far)."""
        return await self._daily_points("HMX", symbol, count)

    async def _daily_points(self, command: str, symbol: str, count: int) -> Bars:
        """The newest ``count`` bars of an HDX, HWX or HMX request."""
        symbol = normalize_symbol(symbol)
        if count < 1:
            raise ValueError("count must be >= 1")

        def request(request_id: str) -> bytes:
            return daily_points_request(command, symbol, count, request_id)

        return await self._daily_bars(symbol, request, min(count, 1 << 16))

    async def _daily_bars(
        self, symbol: str, request: Callable[[str], bytes], estimate: int
    ) -> Bars:
        """Parse a daily, weekly or monthly answer; ``t`` = 09:30 Eastern of its date (UTC)."""
        t, o, h, l, c, v = await self._request(
            symbol, request, lp.parse_daily_chunk, _BAR_DTYPES, estimate
        )
        return Bars(eastern_to_utc(t + _REGULAR_OPEN_S), o, h, l, c, v)

    def warm_up(self) -> None:
        """Compile (or load from cache) the parser kernels now rather than on a first request."""
        empty = np.empty(0, dtype=np.uint8)
        for kernel, dtypes in ((lp.parse_bar_chunk, _BAR_DTYPES),
                               (lp.parse_tick_chunk, _TICK_DTYPES),
                               (lp.parse_daily_chunk, _BAR_DTYPES)):
            kernel(empty, 0, 0, empty, *(np.empty(1, d) for d in dtypes), 0)

    async def close(self) -> None:
        """Close every idle connection."""
        while self._idle:
            self._idle.pop().close()

    async def _request(
        self,
        symbol: str,
        make_request: Callable[[str], bytes],
        kernel: Callable[..., tuple[int, int, int]],
        dtypes: tuple[type, ...],
        estimate: int,
    ) -> list[np.ndarray]:
        """Send one request, retrying while IQFeed says it is busy; return the parsed columns.

        ``timeout_s`` bounds the whole call: waiting for a rate-limit token and a pooled
        connection, every retry and its backoff.
        """
        try:
            async with asyncio.timeout(self.timeout_s):
                delay = 0.2
                for attempt in range(self.max_retries + 1):
                    await self.rate_limiter.acquire()
                    request_id = f"R{next(self._ids)}"
                    try:
                        return await self._exchange(
                            symbol, make_request(request_id), request_id, kernel, dtypes,
                            estimate,
                        )
                    except TooManyRequests:
                        if attempt == self.max_retries:
                            raise FeedUnavailable(
                                "IQFeed keeps refusing: too many requests"
                            ) from None
                        await asyncio.sleep(delay)
                        delay *= 2
        except TimeoutError:
            raise FeedTimeout(f"no complete answer within {self.timeout_s:g} s") from None
        raise AssertionError("unreachable")

    async def _exchange(
        self, symbol: str, line: bytes, request_id: str,
        kernel: Callable[..., tuple[int, int, int]], dtypes: tuple[type, ...], estimate: int,
    ) -> list[np.ndarray]:
        for fresh_retry in (True, False):
            conn = await self._acquire()
            reused = conn.used
            conn.used = True
            clean = False
            try:
                conn.writer.write(line)
                await conn.writer.drain()
                columns, error, clean = await self._read_answer(
                    conn, request_id.encode(), kernel, dtypes, estimate, symbol
                )
            except _StaleConnection:
                if reused and fresh_retry:
                    continue  # IQConnect restarted since this connection was pooled
                raise FeedUnavailable("IQFeed closed the connection before answering") from None
            except (ConnectionError, OSError) as exc:
                raise FeedUnavailable(f"IQFeed connection failed: {type(exc).__name__}") from None
            finally:
                self._release(conn) if clean else self._discard(conn)
            if error is not None:
                raise error
            return columns.result()
        raise AssertionError("unreachable")

    async def _read_answer(
        self, conn: _Connection, request_id: bytes,
        kernel: Callable[..., tuple[int, int, int]], dtypes: tuple[type, ...],
        estimate: int, symbol: str,
    ) -> tuple[_Columns, FeedError | None, bool]:
        """Parse lines until ``!ENDMSG!``; return (columns, error to raise, connection clean)."""
        columns = _Columns(dtypes, estimate)
        rid = np.frombuffer(request_id, dtype=np.uint8)
        pending = b""
        error: FeedError | None = None
        received = 0
        while True:
            chunk = await conn.reader.read(_READ_SIZE)
            if not chunk:
                if received == 0:
                    raise _StaleConnection
                raise FeedUnavailable("IQFeed closed the connection mid-answer")
            received += len(chunk)
            data = pending + chunk
            buf = np.frombuffer(data, dtype=np.uint8)
            pos = 0
            while True:
                columns.rows, pos, code = kernel(
                    buf, pos, buf.size, rid, *columns.arrays, columns.rows
                )
                if code == lp.FULL:
                    columns.grow()
                    continue
                if code == lp.CONTINUE:
                    break
                text = data[pos:data.index(b"\n", pos)].decode("latin-1").rstrip("\r")
                if code == lp.END:
                    return columns, error, True
                if code == lp.BAD_LINE:
                    raise ProtocolError(f"unexpected line from IQFeed: {text[:80]!r}")
                error = classify_error(error_text(text), symbol) or error
                if not text.startswith(request_id.decode() + ","):
                    return columns, error or ProtocolError(text), False  # no id: no ENDMSG
                pos = data.index(b"\n", pos) + 1
            pending = data[pos:]

    async def _acquire(self) -> _Connection:
        await self._slots.acquire()
        try:
            while self._idle:
                conn = self._idle.pop()
                if not conn.reader.at_eof():
                    return conn
                conn.close()
            return await self._connect()
        except BaseException:
            self._slots.release()
            raise

    def _release(self, conn: _Connection) -> None:
        self._idle.append(conn)
        self._slots.release()

    def _discard(self, conn: _Connection) -> None:
        conn.close()
        self._slots.release()

    async def _connect(self) -> _Connection:
        writer = None
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                reader, writer = await asyncio.open_connection(
                    self.host, self.port, limit=_READ_SIZE * 4
                )
                writer.write(set_protocol(self.protocol))
                await writer.drain()
                reply = (await reader.readline()).decode("latin-1").rstrip("\r\n")
            if reply == protocol_reply(self.protocol):
                connection, writer = _Connection(reader, writer), None
                return connection
            if not reply:
                raise FeedUnavailable("IQFeed closed the connection during the handshake")
            raise ProtocolError(f"protocol {self.protocol} not accepted: {reply[:80]!r}")
        except (TimeoutError, OSError, ValueError) as exc:
            raise FeedUnavailable(
                f"IQFeed not reachable at {self.host}:{self.port} ({type(exc).__name__})"
            ) from None
        finally:
            if writer is not None:
                writer.close()


class _StaleConnection(Exception):
    """The server closed a connection before sending a single byte of the answer."""
