"""Compression of JSON answers (brotli, else gzip) as the client's ``Accept-Encoding`` allows.

A pure ASGI middleware: a complete JSON body of ``MIN_COMPRESS_BYTES`` or more is compressed
in one piece; a streamed answer (server-sent events, files) passes through untouched, so an
event is never held back waiting for more bytes. :class:`SplicedBody` compresses a large
head once and finishes it with a short tail per answer (an answer that already carries its
``Content-Encoding`` passes through).
"""

from __future__ import annotations

import gzip
import zlib

import brotli
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MIN_COMPRESS_BYTES = 1024
BROTLI_QUALITY = 3
"""~1.4 ms and ~50 KB for 5000 one-minute bars; higher qualities cost far more time."""


GZIP_LEVEL = 5
_BROTLI_BLOCK = 1 << 16
_BROTLI_LAST = b"\x03"
"""An empty last meta-block: ISLAST and ISLASTEMPTY set, then padding to the byte."""


def accepted_encodings(header: str) -> set[str]:
    """Encodings an ``Accept-Encoding`` header allows, lower case, ``q=0`` ones left out.

    ``accepted_encodings("gzip, br;q=0")`` is ``{"gzip"}``.
    """
    allowed = set()
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        quality = params.replace(" ", "").removeprefix("q=")
        try:
            refused = params.strip() != "" and float(quality) == 0
        except ValueError:
            refused = False
        if name and not refused:
            allowed.add(name.lower())
    return allowed


def compress(body: bytes, encodings: set[str]) -> tuple[bytes, str | None]:
    """``body`` in the best encoding of ``encodings`` (br, then gzip), or as is with None."""
    if "br" in encodings:
        return brotli.compress(body, quality=BROTLI_QUALITY), "br"
    if "gzip" in encodings:
        return gzip.compress(body, compresslevel=GZIP_LEVEL), "gzip"
    return body, None


def _brotli_stored(data: bytes) -> bytes:
    """``data`` as uncompressed brotli meta-blocks (RFC 7932 9.2), starting on a byte boundary.

    Each block: ISLAST=0, MNIBBLES=4, MLEN-1 (16 bits), ISUNCOMPRESSED=1, padding to the byte,
    then its bytes as they are."""
    out = bytearray()
    for at in range(0, len(data), _BROTLI_BLOCK):
        block = data[at:at + _BROTLI_BLOCK]
        out += (((len(block) - 1) << 3) | (1 << 19)).to_bytes(3, "little") + block
    return bytes(out)


class SplicedBody:
    """A body whose large ``head`` is compressed once; :meth:`finish` adds a short tail.

    brotli: the head's stream is flushed (byte-aligned), the tail follows as an uncompressed
    meta-block, then the empty last one. gzip: a copy of the compressor that took the head
    takes the tail. Both decode to ``head + tail``, the same bytes as compressing them whole.

    >>> body = SplicedBody(b'{"a":' + b'1,' * 1000)
    >>> brotli.decompress(body.finish(b'"b":2}', {"br"})[0])[-8:]
    b'1,"b":2}'
    """

    def __init__(self, head: bytes) -> None:
        self.head = head
        compressor = brotli.Compressor(quality=BROTLI_QUALITY)
        self._brotli = compressor.process(head) + compressor.flush()
        self._gzip = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
        self._gzip_head = self._gzip.compress(head)

    def finish(self, tail: bytes, encodings: set[str]) -> tuple[bytes, str | None]:
        """``head + tail`` in the best encoding of ``encodings`` (br, then gzip), or as is
        with None when none is accepted or the body is under ``MIN_COMPRESS_BYTES``."""
        if len(self.head) + len(tail) < MIN_COMPRESS_BYTES:
            return self.head + tail, None
        if "br" in encodings:
            return self._brotli + _brotli_stored(tail) + _BROTLI_LAST, "br"
        if "gzip" in encodings:
            gzip_tail = self._gzip.copy()
            return self._gzip_head + gzip_tail.compress(tail) + gzip_tail.flush(), "gzip"
        return self.head + tail, None


class CompressionMiddleware:
    """Compresses complete ``application/json`` answers of at least ``MIN_COMPRESS_BYTES``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; hold back a JSON answer's start until its body is known."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        encodings = accepted_encodings(Headers(scope=scope).get("accept-encoding", ""))
        start: Message | None = None
        passing = False

        async def send_compressed(message: Message) -> None:
            nonlocal start, passing
            if passing:
                await send(message)
                return
            if message["type"] == "http.response.start":
                headers = Headers(raw=message["headers"])
                json = headers.get("content-type", "").startswith("application/json")
                if not json or "content-encoding" in headers:
                    passing = True
                    await send(message)
                else:
                    start = message
                return
            assert start is not None
            body = message.get("body", b"")
            if message.get("more_body", False):  # streamed: never held back
                passing = True
                await send(start)
                await send(message)
                return
            headers = MutableHeaders(raw=start["headers"])
            headers.add_vary_header("Accept-Encoding")
            if len(body) >= MIN_COMPRESS_BYTES:
                body, encoding = compress(body, encodings)
                if encoding:
                    headers["Content-Encoding"] = encoding
                    headers["Content-Length"] = str(len(body))
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, send_compressed)
