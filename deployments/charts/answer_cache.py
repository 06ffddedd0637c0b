"""The encoded newest page of a chart answer, kept per result key while its bars are the same.

Every session asking for the same chart gets the same bars, so the JSON of everything but the
session's ``request_id`` is encoded and compressed once (:class:`SplicedBody`) and each answer
only adds ``,"request_id":"..."}``. An entry is reused only while the bytes read from Redis for
the page (and the row count) are the ones it was built from, so a rebuilt result (today's
bars) is never answered from an older encoding.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import orjson

from deployments.common.middleware.compression import SplicedBody

ENTRIES = 16
"""Charts kept per replica (about 1 MB each for 5000 bars)."""


def tail(request_id: str) -> bytes:
    """The end of an answer: its ``request_id`` and the closing brace."""
    return b',"request_id":' + orjson.dumps(request_id) + b"}"


def head(payload: dict[str, object]) -> bytes:
    """``payload``'s JSON without its closing brace, for :func:`tail` to finish."""
    return orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)[:-1]


class AnswerCache:
    """The last ``entries`` charts' encoded heads, least recently used first out.

    >>> cache = AnswerCache()
    >>> body = cache.body("k", 1, [b"x"], lambda: head({"total": 1}))
    >>> body.head + tail("r")
    b'{"total":1,"request_id":"r"}'
    >>> cache.body("k", 1, [b"x"], lambda: b"never built") is body
    True
    """

    def __init__(self, entries: int = ENTRIES) -> None:
        self._entries: OrderedDict[str, tuple[int, list[bytes], SplicedBody]] = OrderedDict()
        self._size = entries

    def body(self, key: str, rows: int, parts: list[bytes],
             build: Callable[[], bytes]) -> SplicedBody:
        """The head for ``key``: the kept one if it was built from ``rows`` and ``parts``,
        else a new one from ``build()`` (which replaces it)."""
        entry = self._entries.get(key)
        if entry is not None and entry[0] == rows and entry[1] == parts:
            self._entries.move_to_end(key)
            return entry[2]
        spliced = SplicedBody(build())
        self._entries[key] = (rows, list(parts), spliced)
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return spliced
