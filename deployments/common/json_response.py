"""The platform's JSON response: made once, at the HTTP edge, with orjson (NumPy-aware)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class OrjsonResponse(JSONResponse):
    """A JSON response encoded by orjson; NumPy arrays serialise without Python lists.

    A ``JSONResponse`` subclass, so FastAPI documents a route's JSON schema for it."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Encode ``content`` (dicts, lists, numbers, NumPy arrays) as JSON bytes."""
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)
