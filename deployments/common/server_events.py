"""Server-sent events: the wire form of one event, and the headers every stream carries."""

from __future__ import annotations

from typing import Any

import orjson

KEEP_ALIVE = b": keep-alive\n\n"
"""A comment line: keeps proxies from closing a quiet stream."""
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def server_event(name: str, data: dict[str, Any]) -> bytes:
    """One event named ``name`` carrying ``data`` as JSON."""
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"
