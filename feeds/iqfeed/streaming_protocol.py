"""IQFeed streaming ports: the derivative (interval bar) port 9400 and the Level 1 port 5009.

Requests (CRLF-terminated), per DTN's protocol 6.x documents:

- derivative: ``BW,[Symbol],[Interval],[BeginDate BeginTime],[MaxDaysOfDatapoints],
  [MaxDatapoints],[BeginFilterTime],[EndFilterTime],[RequestID],[IntervalType],[Reserved],
  [UpdateInterval]`` watches interval bars; ``BR,[RequestID]`` stops one watch;
- Level 1: ``w[Symbol]`` watches trades and quotes, ``r[Symbol]`` stops; ``S,SELECT UPDATE
  FIELDS,...`` picks the fields of ``Q``/``P`` lines;
- both: ``S,SET PROTOCOL,6.2``, ``S,REQUEST WATCHES``, ``S,UNWATCH ALL``.

Lines from the server end with a comma: ``[RequestID],BH|BC|BU,[Symbol],[YYYY-MM-DD HH:MM:SS],
[Open],[High],[Low],[Last],[CumulativeVolume],[IntervalVolume],[NumberOfTrades],`` (history,
complete and updating bars, stamped with the bar's start in Eastern time), ``Q,``/``P,``
Level 1 updates and summaries, ``T,YYYYMMDD HH:MM:SS,`` once a second (the heartbeat),
``n,[Symbol],`` for an unknown symbol, ``E,[text],`` errors and ``S,...`` system messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from feeds.eastern_time import eastern_to_utc

DEFAULT_LEVEL1_FIELDS = (
    "Symbol", "Most Recent Trade", "Most Recent Trade Size", "Most Recent Trade Time",
    "Most Recent Trade Market Center", "Total Volume", "Bid", "Bid Size", "Ask", "Ask Size",
    "Open", "High", "Low", "Close", "Message Contents", "Most Recent Trade Conditions",
)
"""IQConnect's default fieldset of ``Q`` and ``P`` lines (protocol 5.0 and later)."""
BAR_KINDS = {"BH": "history", "BC": "complete", "BU": "update"}


def _line(*fields: object) -> bytes:
    return (",".join("" if f is None else str(f) for f in fields) + "\r\n").encode()


def bw_request(symbol: str, interval_s: int, request_id: str, begin: str | None = None,
               max_days: int | None = None, max_points: int | None = None,
               update_s: int | None = None) -> bytes:
    """``BW``: watch ``interval_s``-second bars of ``symbol``, with history from ``begin``
    (``CCYYMMDD HHMMSS`` Eastern), the last ``max_days`` days or the last ``max_points`` bars;
    the forming bar is sent at most every ``update_s`` seconds (0 or None: on every trade)."""
    return _line("BW", symbol, interval_s, begin, max_days, max_points, None, None,
                 request_id, "s", None, update_s)


def br_request(request_id: str) -> bytes:
    """``BR``: stop the bar watch ``request_id``."""
    return _line("BR", request_id)


def watch_trades(symbol: str) -> bytes:
    """``w``: watch ``symbol``'s Level 1 trades and quotes."""
    return f"w{symbol}\r\n".encode()


def unwatch_trades(symbol: str) -> bytes:
    """``r``: stop watching ``symbol`` on the Level 1 port."""
    return f"r{symbol}\r\n".encode()


def select_fields(names: tuple[str, ...]) -> bytes:
    """``S,SELECT UPDATE FIELDS``: the fields (after Symbol, which always comes first)."""
    return _line("S", "SELECT UPDATE FIELDS", *(n for n in names if n != "Symbol"))


UNWATCH_ALL = b"S,UNWATCH ALL\r\n"
REQUEST_WATCHES = b"S,REQUEST WATCHES\r\n"


@dataclass(frozen=True)
class BarLine:
    """One ``BH``/``BC``/``BU`` line; ``t`` is the bar's start in UTC epoch seconds."""

    kind: str  # "history", "complete" or "update"
    request_id: str
    symbol: str
    t: int
    o: float
    h: float
    low: float
    c: float
    total_volume: float
    v: float
    trades: int


@dataclass(frozen=True)
class Heartbeat:
    """A ``T,`` line: the feed's clock, UTC epoch seconds."""

    t: int


@dataclass(frozen=True)
class Notice:
    """Any other line: ``kind`` is ``S`` (system), ``E`` (error), ``n`` (unknown symbol),
    ``Q``/``P`` (Level 1) ...; ``fields`` the rest of it."""

    kind: str
    fields: tuple[str, ...]


def _wall_seconds(text: str, layout: str) -> int:
    moment = datetime.strptime(text, layout)
    return int((moment - datetime(1970, 1, 1)).total_seconds())


def _utc(wall: int) -> int:
    return int(eastern_to_utc(np.array([wall], np.int64))[0])


def parse_stream_line(line: str) -> BarLine | Heartbeat | Notice:
    """One server line of either streaming port; ValueError for a malformed bar line."""
    fields = line.rstrip("\r\n").removesuffix(",").split(",")
    if (len(fields) >= 2 and fields[1] in BAR_KINDS) or fields[0] in BAR_KINDS:
        request_id, rest = ("", fields) if fields[0] in BAR_KINDS else (fields[0], fields[1:])
        if len(rest) < 10:
            raise ValueError(f"a bar line needs 10 fields after its id: {line!r}")
        kind, symbol, stamp, o, h, low, c, total, v, n = rest[:10]
        return BarLine(BAR_KINDS[kind], request_id, symbol,
                       _utc(_wall_seconds(stamp, "%Y-%m-%d %H:%M:%S")), float(o), float(h),
                       float(low), float(c), float(total), float(v), int(n or 0))
    if fields[0] == "T" and len(fields) > 1:
        return Heartbeat(_utc(_wall_seconds(fields[1], "%Y%m%d %H:%M:%S")))
    return Notice(fields[0], tuple(fields[1:]))


def level1_record(fields: tuple[str, ...], names: tuple[str, ...]) -> dict[str, str]:
    """A ``Q``/``P`` line's fields (after the Q) by name, in the connection's fieldset."""
    return dict(zip(names, fields, strict=False))
