"""Numba parsers that turn IQFeed history lines straight into NumPy arrays.

Each ``parse_*_chunk`` kernel reads the complete lines of ``buf[start:end]`` (bytes as uint8),
writes one row per data line into the output arrays from row ``n`` on, and returns
``(rows, position, code)``: ``position`` is where it stopped (the start of an incomplete line,
or of the line that made it stop) and ``code`` says why (see ``CONTINUE`` ...). Lines of
protocol 6.1 and 6.2 (where ``LH`` follows the request id) are both accepted. Times come back
as Eastern wall time in seconds since 1970-01-01 (naive); the caller converts them to UTC.

Numbers are parsed as integer digits scaled by a power of ten, which gives the same double
as ``float(text)`` for the short decimals IQFeed sends (up to 15 significant digits).
"""

from __future__ import annotations

import numpy as np
from numba import njit

CONTINUE = 0
"""Every complete line was parsed; more data is expected."""
END = 1
"""The request's ``!ENDMSG!`` line starts at ``position``."""
ERROR = 2
"""An error line (``<id>,E,...`` or ``E,...``) starts at ``position``."""
BAD_LINE = 3
"""A line that is neither data, error nor end starts at ``position``."""
FULL = 4
"""The output arrays are full; call again with larger ones."""

_COMMA, _LF, _CR, _DOT, _MINUS = 44, 10, 13, 46, 45
_POW10 = np.array([10.0**k for k in range(23)])


@njit(cache=True, inline="always")
def _is_digit(byte: int) -> bool:
    return 48 <= byte <= 57


@njit(cache=True)
def _number(buf, i, end):
    """Parse a decimal field starting at ``i``; return (value, index after its comma).

    A missing, empty or malformed field gives index -1, and a call with index -1 returns -1
    again, so a run of calls can be checked once at its end.
    """
    if i < 0 or i >= end:
        return np.nan, -1
    negative = False
    if i < end and buf[i] == _MINUS:
        negative = True
        i += 1
    mantissa = 0
    scale = 0
    seen_dot = False
    digits = 0
    while i < end and buf[i] != _COMMA:
        byte = buf[i]
        if byte == _DOT:
            seen_dot = True
        elif _is_digit(byte):
            mantissa = mantissa * 10 + (byte - 48)
            digits += 1
            if seen_dot:
                scale += 1
        else:
            return np.nan, -1
        i += 1
    if digits == 0:
        return np.nan, -1
    value = mantissa / _POW10[scale] if scale < 23 else mantissa * 10.0**-scale
    return (-value if negative else value), i + 1


@njit(cache=True)
def _ohlc(buf, i, end):
    """The four price fields in IQFeed's order (high, low, open, close) -> (o, h, l, c, next)."""
    high, i = _number(buf, i, end)
    low, i = _number(buf, i, end)
    open_, i = _number(buf, i, end)
    close, i = _number(buf, i, end)
    return open_, high, low, close, i


@njit(cache=True)
def _two(buf, i):
    return (buf[i] - 48) * 10 + (buf[i + 1] - 48)


@njit(cache=True)
def _days_from_civil(year, month, day):
    """Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm)."""
    year -= month <= 2
    era = (year if year >= 0 else year - 399) // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit(cache=True)
def _date(buf, i):
    """``YYYY-MM-DD`` at ``i`` -> days since epoch, or -1 if malformed."""
    for k in (0, 1, 2, 3, 5, 6, 8, 9):
        if not _is_digit(buf[i + k]):
            return -1
    if buf[i + 4] != _MINUS or buf[i + 7] != _MINUS:
        return -1
    year = (buf[i] - 48) * 1000 + (buf[i + 1] - 48) * 100 + _two(buf, i + 2)
    month, day = _two(buf, i + 5), _two(buf, i + 8)
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return -1
    return _days_from_civil(year, month, day)


@njit(cache=True)
def _clock(buf, i):
    """``HH:MM:SS`` at ``i`` -> seconds of the day, or -1 if malformed."""
    for k in (0, 1, 3, 4, 6, 7):
        if not _is_digit(buf[i + k]):
            return -1
    if buf[i + 2] != 58 or buf[i + 5] != 58:  # ":"
        return -1
    hours, minutes, seconds = _two(buf, i), _two(buf, i + 3), _two(buf, i + 6)
    if hours > 23 or minutes > 59 or seconds > 59:
        return -1
    return hours * 3600 + minutes * 60 + seconds


@njit(cache=True)
def _line_start(buf, pos, line_end, request_id):
    """Classify a line; return (code, index of its first data field)."""
    if line_end - pos >= 2 and buf[pos] == 69 and buf[pos + 1] == _COMMA:  # "E,..."
        return ERROR, pos
    k = 0
    while k < request_id.size and pos + k < line_end and buf[pos + k] == request_id[k]:
        k += 1
    i = pos + k
    if k != request_id.size or i >= line_end or buf[i] != _COMMA:
        return BAD_LINE, pos
    i += 1
    if i + 1 < line_end and buf[i] == 69 and buf[i + 1] == _COMMA:  # "<id>,E,..."
        return ERROR, pos
    if i < line_end and buf[i] == 33:  # "!ENDMSG!"
        return END, pos
    if i + 2 < line_end and buf[i] == 76 and buf[i + 2] == _COMMA:  # "LH," (6.2)
        i += 3
    return CONTINUE, i


_INCOMPLETE = -1


@njit(cache=True)
def _open_line(buf, pos, end, request_id, rows, capacity):
    """Find and classify the line at ``pos``: (code, first data field, content end, its LF).

    ``code`` is CONTINUE for a data line with room for it, _INCOMPLETE when the line has no
    LF yet, FULL when the outputs have no room, or the line's own END/ERROR/BAD_LINE code.
    """
    eol = pos
    while eol < end and buf[eol] != _LF:
        eol += 1
    if eol >= end:
        return _INCOMPLETE, pos, pos, pos
    line_end = eol
    if line_end > pos and buf[line_end - 1] == _CR:
        line_end -= 1
    code, i = _line_start(buf, pos, line_end, request_id)
    if code == CONTINUE and rows >= capacity:
        code = FULL
    return code, i, line_end, eol


@njit(cache=True)
def parse_bar_chunk(buf, start, end, request_id, t, o, h, l, c, v, n):
    """Bars (HIT, HID, HIX): ``id,[LH,]YYYY-MM-DD HH:MM:SS,high,low,open,close,totalvol,
    periodvol,trades,``."""
    pos = start
    while pos < end:
        code, i, line_end, eol = _open_line(buf, pos, end, request_id, n, t.size)
        if code == _INCOMPLETE:
            break
        if code != CONTINUE:
            return n, pos, code
        if line_end - i < 20 or buf[i + 10] != 32 or buf[i + 19] != _COMMA:
            return n, pos, BAD_LINE
        days = _date(buf, i)
        secs = _clock(buf, i + 11)
        if days < 0 or secs < 0:
            return n, pos, BAD_LINE
        t[n] = days * 86400 + secs
        o[n], h[n], l[n], c[n], i = _ohlc(buf, i + 20, line_end)
        _, i = _number(buf, i, line_end)  # total volume of the day so far
        v[n], i = _number(buf, i, line_end)
        if i < 0:
            return n, pos, BAD_LINE
        n += 1
        pos = eol + 1
    return n, pos, CONTINUE


@njit(cache=True)
def parse_tick_chunk(buf, start, end, request_id, t_us, price, size, bid, ask, tick_id, n):
    """Ticks (HTT, HTD, HTX): ``id,[LH,]YYYY-MM-DD HH:MM:SS.ffffff,last,lastsize,totalvol,bid,
    ask,tickid,...``; basis, market center, conditions, aggressor and day code are not read."""
    pos = start
    while pos < end:
        code, i, line_end, eol = _open_line(buf, pos, end, request_id, n, t_us.size)
        if code == _INCOMPLETE:
            break
        if code != CONTINUE:
            return n, pos, code
        if (line_end - i < 27 or buf[i + 10] != 32 or buf[i + 19] != _DOT
                or buf[i + 26] != _COMMA):
            return n, pos, BAD_LINE
        days = _date(buf, i)
        secs = _clock(buf, i + 11)
        micros = 0
        for k in range(20, 26):
            if not _is_digit(buf[i + k]):
                secs = -1
            micros = micros * 10 + (buf[i + k] - 48)
        if days < 0 or secs < 0:
            return n, pos, BAD_LINE
        t_us[n] = (days * 86400 + secs) * 1_000_000 + micros
        i += 27
        price[n], i = _number(buf, i, line_end)
        size[n], i = _number(buf, i, line_end)
        _, i = _number(buf, i, line_end)  # total volume
        bid[n], i = _number(buf, i, line_end)
        ask[n], i = _number(buf, i, line_end)
        value, i = _number(buf, i, line_end)
        if i < 0:
            return n, pos, BAD_LINE
        tick_id[n] = np.int64(value)
        n += 1
        pos = eol + 1
    return n, pos, CONTINUE


@njit(cache=True)
def parse_daily_chunk(buf, start, end, request_id, t, o, h, l, c, v, n):
    """Daily, weekly and monthly bars (HDT, HDX, HWX, HMX): ``id,[LH,]YYYY-MM-DD,high,low,open,
    close,periodvolume,openinterest,``."""
    pos = start
    while pos < end:
        code, i, line_end, eol = _open_line(buf, pos, end, request_id, n, t.size)
        if code == _INCOMPLETE:
            break
        if code != CONTINUE:
            return n, pos, code
        if line_end - i < 11 or buf[i + 10] != _COMMA:
            return n, pos, BAD_LINE
        days = _date(buf, i)
        if days < 0:
            return n, pos, BAD_LINE
        t[n] = days * 86400
        o[n], h[n], l[n], c[n], i = _ohlc(buf, i + 11, line_end)
        v[n], i = _number(buf, i, line_end)
        if i < 0:
            return n, pos, BAD_LINE
        n += 1
        pos = eol + 1
    return n, pos, CONTINUE
