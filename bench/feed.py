"""IQFeed history fetch: one month of 1-second regular-session bars from the simulator.

Prints the end-to-end fetch (request -> NumPy arrays, the simulator running as its own process
as IQConnect would) and the parse alone on the same bytes, next to two peers parsing those
bytes: ``pandas.read_csv`` (C parser) and a plain Python per-line split, the way a blocking
line-oriented client reads. Target: >= 1M lines/s parsed.
"""

from __future__ import annotations

import asyncio
import io
import socket
import subprocess
import sys
import time
from datetime import date, timedelta

import numpy as np
import pandas as pd

from deployments.launcher import free_port
from feeds.eastern_time import format_request_time
from feeds.iqfeed import IQFeedClient
from feeds.iqfeed import line_parser as lp
from feeds.iqfeed.protocol import hit_request, set_protocol
from feeds.market_calendar import session_bounds_utc, trading_days

SYMBOL = "SPY"


def _month() -> tuple[int, int]:
    days = trading_days(date.today() - timedelta(days=45), date.today() - timedelta(days=1))[-21:]
    return session_bounds_utc(days[0])[0], session_bounds_utc(days[-1])[1]


def _start_simulator() -> tuple[subprocess.Popen, int]:
    lookup, admin = free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "feeds.simulator", "--lookup-port", str(lookup),
         "--admin-port", str(admin), "--derivative-port", str(free_port()),
         "--level1-port", str(free_port()), "--second-history-days", "0"],
        stdout=subprocess.PIPE, text=True,
    )
    process.stdout.readline()  # the "listening" line
    return process, lookup


def _raw_answer(port: int, start: int, end: int) -> bytes:
    """The exact bytes IQFeed sends for the request, up to the end line."""
    end_line = b"B1,!ENDMSG!,\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        sock.sendall(set_protocol())
        sock.sendall(hit_request(
            SYMBOL, 1, format_request_time(start), format_request_time(end - 1), "B1",
            begin_filter="093000", end_filter="155959",
        ))
        data = bytearray()
        while not data.endswith(end_line):
            chunk = sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("the simulator closed the connection mid-answer")
            data += chunk
    data = bytes(data)
    first = data.index(b"\n") + 1  # drop the protocol reply
    return data[first:data.rindex(b"B1,!ENDMSG!")]


def _parse_ours(data: bytes) -> int:
    buf = np.frombuffer(data, dtype=np.uint8)
    rows = data.count(b"\n")
    out = [np.empty(rows, np.int64)] + [np.empty(rows, np.float64) for _ in range(5)]
    n, _, _ = lp.parse_bar_chunk(buf, 0, buf.size, np.frombuffer(b"B1", np.uint8), *out, 0)
    return n


def _parse_pandas(data: bytes) -> int:
    frame = pd.read_csv(io.BytesIO(data), header=None, usecols=range(2, 10))
    return len(frame)


def _parse_python(data: bytes) -> int:
    rows = []
    for line in data.decode().splitlines():
        fields = line.split(",")
        rows.append((fields[2], float(fields[3]), float(fields[4]), float(fields[5]),
                     float(fields[6]), int(fields[8])))
    return len(rows)


def _best(func, data: bytes, repeat: int = 3) -> tuple[float, int]:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        rows = func(data)
        times.append(time.perf_counter() - began)
    return min(times), rows


async def _fetch(port: int, start: int, end: int) -> tuple[float, int]:
    client = IQFeedClient("127.0.0.1", port, timeout_s=300)
    await client.fetch_bars(SYMBOL, start, start + 60, 1)  # connect and warm the kernels
    began = time.perf_counter()
    bars = await client.fetch_bars(SYMBOL, start, end, 1, regular_hours=True)
    elapsed = time.perf_counter() - began
    await client.close()
    return elapsed, len(bars)


def main() -> None:
    """Fetch and parse one month of 1-second bars; print times, lines/s and the ratios."""
    process, port = _start_simulator()
    try:
        start, end = _month()
        asyncio.run(_fetch(port, start, end))  # warm-up: imports and first-call work
        fetch_s, fetched = asyncio.run(_fetch(port, start, end))
        began = time.perf_counter()
        data = _raw_answer(port, start, end)
        raw_s = time.perf_counter() - began
    finally:
        process.terminate()
        process.wait(timeout=10)
    ours_s, rows = _best(_parse_ours, data)
    pandas_s, pandas_rows = _best(_parse_pandas, data)
    python_s, python_rows = _best(_parse_python, data, repeat=1)
    # The raw answer's time-of-day filter keeps 13:00-16:00 of an early-close day, which the
    # client drops (after-hours there): the client may hold fewer bars than the raw lines.
    assert rows == pandas_rows == python_rows >= fetched > 0, (rows, pandas_rows, fetched)
    print(f"one month of 1-second regular-session {SYMBOL} bars: {rows:,} lines, "
          f"{len(data) / 1e6:.1f} MB")
    print(f"{'end-to-end fetch (simulator + TCP + parse)':<44} {fetch_s * 1000:9.1f} ms "
          f"{fetched / fetch_s / 1e6:7.2f} M lines/s")
    print(f"{'same answer read raw, no parsing (floor)':<44} {raw_s * 1000:9.1f} ms "
          f"{fetched / raw_s / 1e6:7.2f} M lines/s")
    print(f"{'client cost over the raw read':<44} {(fetch_s - raw_s) * 1000:9.1f} ms "
          f"({fetch_s / raw_s:.2f} x the floor; the rest is the simulator building the answer)")
    for label, seconds in (("parse: ours (Numba, streaming kernel)", ours_s),
                           ("parse: pandas.read_csv (peer)", pandas_s),
                           ("parse: Python split per line (peer)", python_s)):
        print(f"{label:<44} {seconds * 1000:9.1f} ms {rows / seconds / 1e6:7.2f} M lines/s")
    print(f"{'ratio ours vs pandas.read_csv':<44} {pandas_s / ours_s:9.2f} x faster")
    print(f"{'ratio ours vs Python per-line':<44} {python_s / ours_s:9.2f} x faster")


if __name__ == "__main__":
    main()
