"""JSON error answers shared by every Serve application.

Bad input -> 4xx whose body names the field and the reason; an unknown symbol -> 404; a state
outage (Redis) or a feed outage (IQFeed down or too slow) -> 503 with ``Retry-After``. The body
shape is ``{"error": <kind>, "detail": [...] | str}``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from ray.exceptions import GetTimeoutError, RayActorError
from starlette.exceptions import HTTPException as StarletteHTTPException

from deployments.common.json_response import OrjsonResponse
from deployments.common.redis_client import StateUnavailable
from feeds.iqfeed.errors import FeedTimeout, FeedUnavailable, ProtocolError, SymbolNotFound


class FieldError(ValueError):
    """Raised for a bad request parameter: ``field`` names it, the message says why (422)."""

    def __init__(self, field: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


def _field_name(loc: tuple[int | str, ...]) -> str:
    parts = [str(part) for part in loc if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _cause(exc: Exception) -> str:
    """The message of the original error: Ray wraps actor errors with the remote traceback."""
    return str(getattr(exc, "cause", None) or exc).splitlines()[0]


def install_error_handlers(app: FastAPI, retry_after_s: int) -> None:
    """Register the platform's JSON error handlers on ``app``."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> OrjsonResponse:
        detail = [
            {"field": _field_name(tuple(err.get("loc", ()))), "message": err.get("msg", "")}
            for err in exc.errors()
        ]
        return OrjsonResponse({"error": "invalid_request", "detail": detail}, status_code=422)

    @app.exception_handler(FieldError)
    async def _bad_field(_: Request, exc: FieldError) -> OrjsonResponse:
        return OrjsonResponse(
            {"error": "invalid_request", "detail": [{"field": exc.field, "message": str(exc)}]},
            status_code=exc.status,
        )

    @app.exception_handler(StateUnavailable)
    async def _unavailable(_: Request, exc: StateUnavailable) -> OrjsonResponse:
        return OrjsonResponse(
            {"error": "unavailable", "detail": "state store unavailable, retry later"},
            status_code=503,
            headers={"Retry-After": str(retry_after_s)},
        )

    @app.exception_handler(SymbolNotFound)
    async def _unknown_symbol(_: Request, exc: SymbolNotFound) -> OrjsonResponse:
        return OrjsonResponse(
            {"error": "unknown_symbol", "detail": [{"field": "symbol", "message": _cause(exc)}]},
            status_code=404,
        )

    async def _feed_down(_: Request, exc: Exception) -> OrjsonResponse:
        reason = "too slow" if isinstance(exc, FeedTimeout) else "unavailable"
        return OrjsonResponse(
            {"error": "feed_unavailable", "detail": f"market data feed {reason}, retry later"},
            status_code=503,
            headers={"Retry-After": str(retry_after_s)},
        )

    # A bad upstream line (ProtocolError) or a crashed/unreachable actor is the feed's outage,
    # not the caller's fault: 503, never a 500 with a traceback in it.
    for outage in (FeedUnavailable, FeedTimeout, ProtocolError, RayActorError, GetTimeoutError):
        app.add_exception_handler(outage, _feed_down)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> OrjsonResponse:
        return OrjsonResponse(
            {"error": "http_error", "detail": exc.detail},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )
