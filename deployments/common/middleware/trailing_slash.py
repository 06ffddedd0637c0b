"""Every route answers with and without its trailing slash, for every method, with no redirect.

Serve mounts an application under its route prefix (``/strategies``); the bare prefix reaches
the app as an empty route path, which Starlette would redirect to ``/strategies/`` (307), and
many clients do not follow a redirect of a POST. This middleware rewrites the path before
routing: the empty path becomes ``/`` and a trailing ``/`` is dropped, so routes are declared
once, without it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


def route_path(path: str, root_path: str) -> str:
    """The part of ``path`` the app routes on, below its mount point ``root_path``."""
    if root_path and path.startswith(root_path) and path[len(root_path):len(root_path) + 1] in (
            "", "/"):
        return path[len(root_path):]
    return path


def canonical(route: str) -> str:
    """The route path without its trailing slash; the app's root is ``/``.

    ``canonical("")`` and ``canonical("/")`` are ``"/"``; ``canonical("/chunk/")`` is
    ``"/chunk"``.
    """
    stripped = route.rstrip("/")
    return stripped or "/"


class TrailingSlashMiddleware:
    """Rewrites each HTTP request's path to its canonical form before the router sees it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route ``/x/`` as ``/x`` and the bare mount point as ``/``."""
        if scope["type"] == "http":
            root = scope.get("root_path", "")
            route = route_path(scope["path"], root)
            wanted = canonical(route)
            if wanted != route:
                scope = {**scope, "path": root + wanted, "raw_path": (root + wanted).encode()}
        await self.app(scope, receive, send)
