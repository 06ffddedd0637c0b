"""The platform's JSON response: made once, at the HTTP edge, with orjson (NumPy-aware)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from deployments.common.middleware.compression import SplicedBody, accepted_encodings


class OrjsonResponse(JSONResponse):
    """A JSON response encoded by orjson; NumPy arrays serialise without Python lists.

    A ``JSONResponse`` subclass, so FastAPI documents a route's JSON schema for it."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Encode ``content`` (dicts, lists, numbers, NumPy arrays) as JSON bytes."""
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


class SplicedJSONResponse(OrjsonResponse):
    """JSON bytes made of a shared, pre-compressed head and a per-answer tail.

    It picks its encoding from the request's ``Accept-Encoding`` itself (the compression
    middleware passes an answer with a ``Content-Encoding`` through), so a large head shared
    by many answers is encoded and compressed once, not per request."""

    def __init__(self, body: SplicedBody, tail: bytes) -> None:
        super().__init__(None)
        self._spliced = body
        self._tail = tail

    def render(self, content: Any) -> bytes:
        """Nothing yet: the body is chosen per request, once its encodings are known."""
        return b""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send ``head + tail`` in the best encoding the request accepts."""
        encodings = accepted_encodings(Headers(scope=scope).get("accept-encoding", ""))
        self.body, encoding = self._spliced.finish(self._tail, encodings)
        headers = MutableHeaders(raw=self.raw_headers)
        headers["Content-Length"] = str(len(self.body))
        if encoding:
            headers["Content-Encoding"] = encoding
            headers.add_vary_header("Accept-Encoding")
        await super().__call__(scope, receive, send)
