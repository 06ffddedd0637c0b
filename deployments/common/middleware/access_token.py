"""Every request of a protected app must hold the ``ACCESS_TOKEN`` when one is configured.

The token reaches the app after it is built (the replica's settings, see
:func:`deployments.common.http_app.configure`), so the middleware reads the guard from the
app's state on each request; with no guard the app is open. A request without the token gets
401 with the platform's error body and ``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from deployments.common.access_token import AccessGuard
from deployments.common.json_response import OrjsonResponse

MISSING = ("this platform requires its access token: send Authorization: Bearer <token>, "
           "or log in through the web app")


def guard_of(scope: Scope) -> AccessGuard | None:
    """The access guard the app of ``scope`` was configured with (None: open)."""
    app = scope.get("app")
    return getattr(getattr(app, "state", None), "access_guard", None)


def holds_token(scope: Scope) -> bool:
    """True when the request of ``scope`` holds the access token, or none is configured."""
    guard = guard_of(scope)
    if guard is None:
        return True
    headers = Headers(scope=scope)
    return guard.admits(headers.get("authorization"), headers.get("cookie"))


class AccessTokenMiddleware:
    """Refuses, with 401, HTTP requests that do not hold the configured access token."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or holds_token(scope):
            await self.app(scope, receive, send)
            return
        body = {"error": "unauthorized", "detail": [{"field": "Authorization", "message": MISSING}]}
        response = OrjsonResponse(body, status_code=401,
                                  headers={"WWW-Authenticate": 'Bearer realm="trading-platform"'})
        await response(scope, receive, send)
