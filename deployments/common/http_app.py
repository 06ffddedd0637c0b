"""The one HTTP edge: the factory that builds every ingress's FastAPI app.

:func:`make_api` gives each application the same error handlers (one body for every 4xx and
5xx, declared in the OpenAPI of every operation), compression of JSON answers, routes that
answer with and without their trailing slash, orjson responses and, for every app but the web
app's, the optional ``ACCESS_TOKEN``. :func:`configure` hands the
app the settings its handlers need once the replica has them (no settings at import time);
:func:`builder` makes the Serve application builder that ``serve.yaml`` names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from ray.exceptions import GetTimeoutError, RayActorError
from ray.serve import Application, Deployment
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from deployments.common.access_token import make_guard
from deployments.common.errors import ApiError, RetryLater
from deployments.common.json_response import OrjsonResponse
from deployments.common.middleware.access_token import AccessTokenMiddleware
from deployments.common.middleware.compression import CompressionMiddleware
from deployments.common.middleware.trailing_slash import TrailingSlashMiddleware
from deployments.common.settings import Settings, load_settings
from feeds.iqfeed.errors import FeedTimeout, FeedUnavailable, ProtocolError, SymbolNotFound

DEFAULT_RETRY_AFTER_S = 5


class ErrorDetail(BaseModel):
    """One thing wrong with a request: the field at fault (None: no single field) and why."""

    field: str | None = Field(description="Request field at fault, dotted for nested fields")
    message: str = Field(description="What is wrong, for a person")
    row: int | None = Field(None, description="Uploaded file: 1-based data row at fault")
    column: str | None = Field(None, description="Uploaded file: its column at fault")


class ErrorBody(BaseModel):
    """The body of every error answer of the platform."""

    error: str = Field(description="Stable code, e.g. invalid_request, unauthorized")
    detail: list[ErrorDetail]


_MEANING = {
    401: "Missing access token, or a missing, unknown or expired session",
    404: "Not found (or another session's)",
    409: "Not allowed in the resource's current state",
    410: "Expired: start over",
    422: "Invalid request: `detail` names each bad field",
    429: "Too many requests: see Retry-After",
    503: "A dependency is down: see Retry-After",
}
_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 410: "gone",
               413: "too_large", 429: "too_many_requests"}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries declaring the error body for each of ``statuses``."""
    return {status: {"model": ErrorBody, "description": _MEANING.get(status, "Error")}
            for status in statuses}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """The error body: ``{"error": code, "detail": [{"field": field, "message": message}]}``."""
    return {"error": code, "detail": [{"field": field, "message": message}]}


def _field_name(loc: tuple[int | str, ...]) -> str:
    parts = [str(part) for part in loc if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _cause(exc: Exception) -> str:
    """The message of the original error: Ray wraps actor errors with the remote traceback."""
    return str(getattr(exc, "cause", None) or exc).splitlines()[0]


def _retry_after(request: Request, exc: Exception) -> str:
    seconds = getattr(exc, "retry_after_s", None)
    if seconds is None:
        seconds = getattr(request.app.state, "retry_after_s", DEFAULT_RETRY_AFTER_S)
    return str(seconds)


def allowed_methods(request: Request) -> list[str]:
    """The methods some route of the app answers at the request's path. The most specific
    routes that match decide: a literal path (``/import``) over one with parameters
    (``/{symbol}``), and that over a catch-all (``/{path:path}``)."""
    found: dict[int, set[str]] = {0: set(), 1: set(), 2: set()}
    for route in _routes(request.app.router.routes):
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            path = getattr(route, "path", "")
            rank = 2 if ":path}" in path else 1 if "{" in path else 0
            found[rank].update(getattr(route, "methods", None) or set())
    return sorted(found[0] or found[1] or found[2])


def _routes(routes: Iterable[Any]) -> Iterator[Any]:
    """Every route, those of included routers too (Serve's ingress includes the app's router)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _routes(included.routes)
        else:
            yield route


def install_error_handlers(app: FastAPI) -> None:
    """Map every error the platform raises (and FastAPI's own) to the one error body."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> OrjsonResponse:
        detail = [
            {"field": "body" if err.get("type") == "json_invalid" else
             _field_name(tuple(err.get("loc", ()))), "message": err.get("msg", "")}
            for err in exc.errors()
        ]
        return OrjsonResponse({"error": "invalid_request", "detail": detail}, status_code=422)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> OrjsonResponse:
        headers = ({"Retry-After": _retry_after(request, exc)}
                   if isinstance(exc, RetryLater) else None)
        body = error_body(exc.code, exc.message, exc.field)
        for where in ("row", "column"):
            if getattr(exc, where, None) is not None:
                body["detail"][0][where] = getattr(exc, where)
        return OrjsonResponse(body, status_code=exc.status, headers=headers)

    @app.exception_handler(SymbolNotFound)
    async def _unknown_symbol(_: Request, exc: SymbolNotFound) -> OrjsonResponse:
        return OrjsonResponse(error_body("unknown_symbol", _cause(exc), "symbol"),
                              status_code=404)

    async def _feed_down(request: Request, exc: Exception) -> OrjsonResponse:
        reason = "too slow" if isinstance(exc, FeedTimeout) else "unavailable"
        return OrjsonResponse(
            error_body("feed_unavailable", f"market data feed {reason}, retry later"),
            status_code=503, headers={"Retry-After": _retry_after(request, exc)})

    # A bad upstream line (ProtocolError) or a crashed/unreachable actor is the feed's outage,
    # not the caller's fault: 503, never a 500 with a traceback in it.
    for outage in (FeedUnavailable, FeedTimeout, ProtocolError, RayActorError, GetTimeoutError):
        app.add_exception_handler(outage, _feed_down)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> OrjsonResponse:
        if exc.status_code == 400:  # FastAPI's "error parsing the body": invalid input, a 422
            return OrjsonResponse(error_body("invalid_request", str(exc.detail), "body"),
                                  status_code=422)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:  # every method of the path, not just the first route's
            headers["Allow"] = ", ".join(allowed_methods(request))
        return OrjsonResponse(error_body(code, str(exc.detail)), status_code=exc.status_code,
                              headers=headers or None)

    @app.exception_handler(Exception)
    async def _internal(_: Request, exc: Exception) -> OrjsonResponse:
        return OrjsonResponse(error_body("internal_error", "internal error; it was logged"),
                              status_code=500)


def make_api(title: str, description: str, errors: Iterable[int] = (422, 503),
             protected: bool = True) -> FastAPI:
    """A FastAPI app with the platform's edge; ``errors`` are the statuses every operation of
    the app may answer (declared in its OpenAPI with the error body). A ``protected`` app
    requires the access token, when one is configured, on every route (401 without)."""
    statuses = {*errors, 401} if protected else set(errors)
    app = FastAPI(
        title=title, description=description, redirect_slashes=False,
        default_response_class=OrjsonResponse, responses=error_responses(*sorted(statuses)),
    )
    install_error_handlers(app)
    app.add_middleware(CompressionMiddleware)
    if protected:
        app.add_middleware(AccessTokenMiddleware)
    app.add_middleware(TrailingSlashMiddleware)  # added last: runs first, before routing
    return app


def configure(app: FastAPI, settings: Settings) -> None:
    """Give ``app``'s edge the settings it uses: the Retry-After of a 503, the access token."""
    app.state.retry_after_s = settings.retry_after_s
    app.state.access_guard = make_guard(settings.access_token)


def builder(deployment: Deployment) -> Callable[[dict[str, Any] | None], Application]:
    """A Serve application builder for ``deployment``: it reads the settings once (the app's
    ``args`` from ``serve.yaml`` over the environment) and binds the deployment to them."""

    def build(args: dict[str, Any] | None = None) -> Application:
        """The application, its ingress bound to the settings."""
        return deployment.bind(load_settings(args))

    return build
