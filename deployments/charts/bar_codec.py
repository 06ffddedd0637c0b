"""Binary encoding of bars for Redis: a 16-byte header, then the six columns back to back.

Header: ``b"BAR1"``, a flags byte (1 = the columns are zlib-compressed), three pad bytes and
the row count (uint64, little-endian). Uncompressed values can be read column-wise with
GETRANGE (:func:`column_range`); compressed ones are for whole-value reads of cold data.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from feeds.bars import Bars

MAGIC = b"BAR1"
HEADER = struct.Struct("<4sB3xQ")
HEADER_SIZE = HEADER.size
COLUMNS = ("t", "o", "h", "l", "c", "v")
_COMPRESSED = 1


class CorruptBars(ValueError):
    """A stored value is not bars in this format (another version, or damaged)."""


def encode(bars: Bars, compress: bool = False) -> bytes:
    """Bytes of ``bars``; with ``compress`` the columns are zlib-compressed when that pays."""
    n = len(bars)
    body = b"".join(
        np.ascontiguousarray(col, dtype="<i8" if name == "t" else "<f8").tobytes()
        for name, col in zip(COLUMNS, (bars.t, bars.o, bars.h, bars.l, bars.c, bars.v),
                             strict=True)
    )
    if compress:
        packed = zlib.compress(body, 1)
        if len(packed) < 0.8 * len(body):
            return HEADER.pack(MAGIC, _COMPRESSED, n) + packed
    return HEADER.pack(MAGIC, 0, n) + body


def decode_header(data: bytes) -> tuple[int, bool]:
    """(rows, compressed) from the first 16 bytes; CorruptBars if they are not a header."""
    if len(data) < HEADER_SIZE:
        raise CorruptBars("value shorter than the header")
    magic, flags, n = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise CorruptBars(f"unknown format {magic!r}")
    return n, bool(flags & _COMPRESSED)


def decode(data: bytes) -> Bars:
    """Bars from :func:`encode`'s bytes (arrays are read-only views when not compressed)."""
    n, compressed = decode_header(data)
    body = zlib.decompress(data[HEADER_SIZE:]) if compressed else memoryview(data)[HEADER_SIZE:]
    if len(body) != 48 * n:
        raise CorruptBars(f"{len(body)} bytes for {n} rows")
    return columns_to_bars([body[k * 8 * n:(k + 1) * 8 * n] for k in range(6)])


def columns_to_bars(columns: list) -> Bars:
    """Bars from six raw little-endian column buffers (t int64, the rest float64)."""
    t = np.frombuffer(columns[0], dtype="<i8")
    rest = [np.frombuffer(col, dtype="<f8") for col in columns[1:]]
    return Bars(t, *rest)


def column_range(n: int, column: int, first: int, stop: int) -> tuple[int, int]:
    """Inclusive byte range of rows ``[first, stop)`` of ``column`` in an uncompressed value."""
    start = HEADER_SIZE + column * 8 * n + 8 * first
    return start, start + 8 * (stop - first) - 1
