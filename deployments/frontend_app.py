"""The ``frontend`` Serve application, mounted at ``/``: the single-page app and ``/health``.

Serves the built app from ``frontend/dist`` when it exists, else the plain pages in
``frontend/public``. ``/health`` works without Redis and reports what is degraded.
"""


import asyncio
from pathlib import Path

import ray
from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse
from ray import serve

from deployments import PLATFORM_NAMESPACE
from deployments.config import PROJECT_ROOT, get_settings
from deployments.http_errors import install_error_handlers
from deployments.redis_client import (
    StateUnavailable,
    make_client,
    redis_reachable,
    resolve_redis_url,
)
from deployments.session_janitor import ACTOR_NAME as JANITOR_NAME
from deployments.session_store import SessionStore


def static_dir(root: Path = PROJECT_ROOT) -> Path:
    """The built frontend if present, else the plain pages shipped in the repository."""
    built = root / "frontend" / "dist"
    return built if (built / "index.html").is_file() else root / "frontend" / "public"


def resolve_static(root: Path, path: str) -> Path | None:
    """The file under ``root`` that URL ``path`` names (``""`` -> index.html); None if none."""
    candidate = (root / (path or "index.html")).resolve()
    if candidate.is_dir():
        candidate = candidate / "index.html"
    if not candidate.is_relative_to(root.resolve()) or not candidate.is_file():
        return None
    return candidate


api = FastAPI(title="Frontend", description="The trader's web app and the platform health report.")
install_error_handlers(api, get_settings().retry_after_s)


async def _janitor_status(timeout_s: float = 2.0) -> dict[str, object] | None:
    try:
        janitor = ray.get_actor(JANITOR_NAME, namespace=PLATFORM_NAMESPACE)
        return await asyncio.wait_for(janitor.status.remote(), timeout_s)
    except (ValueError, TimeoutError, ray.exceptions.RayError):
        return None


@serve.deployment
@serve.ingress(api)
class FrontendIngress:
    """Static files and the health report; never needs Redis to answer."""

    def __init__(self) -> None:
        settings = get_settings()
        self._embedded = settings.redis_url is None
        self._redis = make_client(resolve_redis_url(settings))
        self._sessions = SessionStore(self._redis, settings.session_timeout_s)
        self._root = static_dir()

    @api.get("/health")
    async def health(self) -> dict[str, object]:
        """Platform health: Redis reachability, live sessions, janitor; 200 even when degraded."""
        reachable = await redis_reachable(self._redis)
        live: int | None = None
        if reachable:
            try:
                live = await self._sessions.live_count()
            except StateUnavailable:
                reachable = False
        janitor = await _janitor_status()
        return {
            "status": "ok" if reachable and janitor is not None else "degraded",
            "redis": {"reachable": reachable, "embedded": self._embedded},
            "sessions": {"live": live},
            "janitor": janitor,
        }

    @api.get("/{path:path}", include_in_schema=False)
    async def static(self, path: str) -> FileResponse:
        """A file of the web app; ``/`` is its index page."""
        file = resolve_static(self._root, path)
        if file is None:
            raise HTTPException(404, f"no such page: /{path}")
        headers = {"Cache-Control": "no-cache"} if file.suffix == ".html" else None
        return FileResponse(file, headers=headers)


app = FrontendIngress.bind()
