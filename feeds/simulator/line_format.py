"""Formats simulator answers as IQFeed lines (protocol 6.1 or 6.2), whole arrays at a time.

Every line starts with the request's id when it carried one; protocol 6.2 puts the line type
``LH`` after it (6.1 has none). Lines end with a comma and CRLF.
"""

from __future__ import annotations

import numpy as np


def _text(values: np.ndarray) -> list[str]:
    if values.dtype.kind == "f":
        whole = np.all(values == np.round(values))
        return (values.astype(np.int64) if whole else values).astype(str).tolist()
    return values.astype(str).tolist()


def _stamp(wall_seconds: np.ndarray, unit: str) -> list[str]:
    stamps = np.datetime_as_string(wall_seconds.astype(f"datetime64[{unit}]"), unit=unit)
    return np.char.replace(stamps, "T", " ").tolist()


def _lines(request_id: str | None, version: str, columns: list[list[str]]) -> bytes:
    head = (f"{request_id}," if request_id else "") + ("LH," if version == "6.2" else "")
    body = "".join(head + ",".join(row) + ",\r\n" for row in zip(*columns, strict=True))
    return body.encode()


def bar_lines(request_id: str | None, version: str, bars: dict[str, np.ndarray]) -> bytes:
    """``id,[LH,]YYYY-MM-DD HH:MM:SS,high,low,open,close,totalvolume,periodvolume,trades,``."""
    return _lines(request_id, version, [
        _stamp(bars["t"], "s"), _text(bars["h"]), _text(bars["l"]), _text(bars["o"]),
        _text(bars["c"]), _text(bars["total"]), _text(bars["v"]), _text(bars["n"]),
    ])


def tick_lines(request_id: str | None, version: str, ticks: dict[str, np.ndarray]) -> bytes:
    """``id,[LH,]YYYY-MM-DD HH:MM:SS.ffffff,last,size,totalvol,bid,ask,tickid,basis,mkt,cond,
    aggressor,daycode,`` (the last two are protocol 6.1 and later)."""
    count = ticks["t_us"].size
    return _lines(request_id, version, [
        _stamp(ticks["t_us"], "us"), _text(ticks["price"]), _text(ticks["size"]),
        _text(ticks["total"]), _text(ticks["bid"]), _text(ticks["ask"]),
        _text(ticks["tick_id"]), ["C"] * count, ["11"] * count, ["01"] * count,
        _text(ticks["aggressor"]), _text(ticks["day_code"]),
    ])


def daily_lines(request_id: str | None, version: str, bars: dict[str, np.ndarray]) -> bytes:
    """``id,[LH,]YYYY-MM-DD,high,low,open,close,periodvolume,openinterest,`` (daily, weekly and
    monthly bars alike)."""
    dates = np.datetime_as_string(bars["t"].astype("datetime64[s]"), unit="D").tolist()
    return _lines(request_id, version, [
        dates, _text(bars["h"]), _text(bars["l"]), _text(bars["o"]), _text(bars["c"]),
        _text(bars["v"]), ["0"] * len(dates),
    ])


def error_line(request_id: str | None, text: str) -> bytes:
    """``id,E,text,`` (or ``E,text,`` when the request had no readable id)."""
    return (f"{request_id},E,{text},\r\n" if request_id else f"E,{text},\r\n").encode()


def end_line(request_id: str | None) -> bytes:
    """``id,!ENDMSG!,``."""
    return (f"{request_id},!ENDMSG!,\r\n" if request_id else "!ENDMSG!,\r\n").encode()
