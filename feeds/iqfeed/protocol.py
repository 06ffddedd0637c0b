"""IQFeed lookup-port protocol: request lines, error lines and their meaning.

Requests end with CRLF; answers are CRLF lines ending in a comma, data lines start with the
request id (protocol 6.2 puts the line type ``LH`` after it), and every request ends with
``<id>,!ENDMSG!,``. An error line (``<id>,E,<text>,`` or, for unparsable requests without a
readable id, ``E,<text>,``) comes before the end line; ``<id>,E,!NO_DATA!,`` means an empty
answer. The builders below cover the ten history requests (field orders of DTN's protocol
6.1/6.2 documentation); they always ask for DataDirection 1 (oldest first).
"""

from __future__ import annotations

from feeds.iqfeed.errors import (
    FeedError,
    FeedUnavailable,
    ProtocolError,
    SymbolNotFound,
    TooManyRequests,
)

PROTOCOL_VERSION = "6.2"
SUPPORTED_VERSIONS = ("6.1", "6.2")
NO_DATA = "!NO_DATA!"


def set_protocol(version: str = PROTOCOL_VERSION) -> bytes:
    """The line that selects the protocol version on a new connection."""
    return f"S,SET PROTOCOL,{version}\r\n".encode()


def protocol_reply(version: str) -> str:
    """The line (without CRLF) IQConnect answers to :func:`set_protocol`."""
    return f"S,CURRENT PROTOCOL,{version},"


def _fields(*fields: object) -> bytes:
    return (",".join("" if f is None else str(f) for f in fields) + "\r\n").encode()


def hit_request(
    symbol: str, interval_s: int, begin: str, end: str, request_id: str,
    max_points: int | None = None, begin_filter: str | None = None,
    end_filter: str | None = None, label_at_beginning: bool = True,
) -> bytes:
    """``HIT``: interval bars in a period, oldest first (times ``CCYYMMDD HHMMSS`` Eastern)."""
    return _fields(
        "HIT", symbol, interval_s, begin, end, max_points, begin_filter, end_filter, 1,
        request_id, 2500, "s", int(label_at_beginning),
    )


def htt_request(
    symbol: str, begin: str, end: str, request_id: str, max_points: int | None = None,
    begin_filter: str | None = None, end_filter: str | None = None,
) -> bytes:
    """``HTT``: ticks in a period, oldest first."""
    return _fields(
        "HTT", symbol, begin, end, max_points, begin_filter, end_filter, 1, request_id, 2500,
    )


def hid_request(
    symbol: str, interval_s: int, days: int, request_id: str, max_points: int | None = None,
    begin_filter: str | None = None, end_filter: str | None = None,
    label_at_beginning: bool = True,
) -> bytes:
    """``HID``: interval bars of the last ``days`` calendar days (1: today), oldest first."""
    return _fields(
        "HID", symbol, interval_s, days, max_points, begin_filter, end_filter, 1, request_id,
        2500, "s", int(label_at_beginning),
    )


def hix_request(
    symbol: str, interval_s: int, max_points: int, request_id: str,
    label_at_beginning: bool = True,
) -> bytes:
    """``HIX``: the last ``max_points`` interval bars, oldest first."""
    return _fields(
        "HIX", symbol, interval_s, max_points, 1, request_id, 2500, "s", int(label_at_beginning)
    )


def htd_request(
    symbol: str, days: int, request_id: str, max_points: int | None = None,
    begin_filter: str | None = None, end_filter: str | None = None,
) -> bytes:
    """``HTD``: ticks of the last ``days`` calendar days (1: today), oldest first."""
    return _fields(
        "HTD", symbol, days, max_points, begin_filter, end_filter, 1, request_id, 2500
    )


def htx_request(symbol: str, max_points: int, request_id: str) -> bytes:
    """``HTX``: the last ``max_points`` ticks, oldest first."""
    return _fields("HTX", symbol, max_points, 1, request_id, 2500)


def hdt_request(
    symbol: str, begin_date: str, end_date: str, request_id: str, max_points: int | None = None
) -> bytes:
    """``HDT``: daily bars between two dates (``CCYYMMDD``), oldest first."""
    return _fields("HDT", symbol, begin_date, end_date, max_points, 1, request_id, 2500)


def daily_points_request(command: str, symbol: str, max_points: int, request_id: str) -> bytes:
    """``HDX`` / ``HWX`` / ``HMX``: the last ``max_points`` daily, weekly or monthly bars,
    oldest first."""
    if command not in ("HDX", "HWX", "HMX"):
        raise ValueError("command must be HDX, HWX or HMX")
    return _fields(command, symbol, max_points, 1, request_id, 2500)


def error_text(line: str) -> str:
    """The message of an error line: ``R7,E,Invalid symbol.,`` -> ``Invalid symbol.``."""
    fields = line.rstrip("\r\n").rstrip(",").split(",")
    position = fields.index("E") if "E" in fields else 0
    return ",".join(fields[position + 1:]).strip()


def classify_error(text: str, symbol: str) -> FeedError | None:
    """The exception an error text stands for; None for ``!NO_DATA!`` (an empty answer)."""
    if text == NO_DATA:
        return None
    lowered = text.lower()
    if lowered.startswith("invalid symbol"):
        return SymbolNotFound(f"unknown symbol: {symbol}")
    if lowered.startswith("too many simultaneous"):
        return TooManyRequests(text)
    if lowered.startswith("unauthorized"):
        return FeedUnavailable(f"IQFeed refused the login: {text}")
    if "syntax" in lowered:
        return ProtocolError(f"IQFeed rejected the request as a syntax error: {text}")
    return ProtocolError(f"IQFeed error: {text}")
