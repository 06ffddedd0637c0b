"""The ``frontend`` Serve application, mounted at ``/``: the single-page app and ``/health``.

Serves the app built into ``frontend/dist`` (``make frontend``, run by ``make run`` and
``make test``); a build that appears after the replica started is picked up on the next request.
Content-hashed files under ``assets/`` are cached for good, the rest revalidated on every load.
``/health`` works without Redis and reports what is degraded. Starting this application also
starts the cluster's IQFeed watchdog and feed actors.
"""


import asyncio
from pathlib import Path

import ray
from fastapi.responses import FileResponse
from ray import serve

from deployments import PLATFORM_NAMESPACE
from deployments.common.embedded_redis import ACTOR_NAME as EMBEDDED_REDIS
from deployments.common.errors import NotFound, StateUnavailable
from deployments.common.http_app import builder, make_api
from deployments.common.ingress import Ingress
from deployments.common.redis_client import redis_reachable
from deployments.common.settings import PROJECT_ROOT, Settings
from deployments.iqfeed.feed_actor import ensure_feed_actor
from deployments.iqfeed.watchdog import ensure_iqfeed_watchdog
from deployments.sessions.janitor import ensure_session_janitor


def static_dir(root: Path = PROJECT_ROOT) -> Path:
    """The built frontend if present, else ``frontend/public`` (the build's static inputs)."""
    built = root / "frontend" / "dist"
    return built if (built / "index.html").is_file() else root / "frontend" / "public"


def resolve_static(root: Path, path: str) -> Path | None:
    """The file under ``root`` (already resolved) that URL ``path`` names (``""`` ->
    index.html); None if there is none or the path leaves ``root``."""
    try:
        candidate = (root / (path or "index.html")).resolve()
        if candidate.is_dir():
            candidate = candidate / "index.html"
        if not candidate.is_relative_to(root) or not candidate.is_file():
            return None
    except (ValueError, OSError):  # e.g. an embedded NUL byte
        return None
    return candidate


def cache_control(root: Path, file: Path) -> str:
    """Content-hashed build assets never change; everything else is revalidated each load."""
    if file.parent == root / "assets":
        return "public, max-age=31536000, immutable"
    return "no-cache"


api = make_api("Frontend", "The trader's web app and the platform health report.", errors=())


async def _actor_report(
    actor: ray.actor.ActorHandle, method: str, timeout_s: float = 2.0
) -> dict | None:
    """``method()`` of a platform actor, or None if it does not answer in time."""
    try:
        return await asyncio.wait_for(getattr(actor, method).remote(), timeout_s)
    except (TimeoutError, ray.exceptions.RayError):
        return None


@serve.deployment
@serve.ingress(api)
class FrontendIngress(Ingress):
    """Static files and the health report; never needs Redis to answer."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(api, settings)
        self._embedded_server = (None if settings.redis_url else
                                 ray.get_actor(EMBEDDED_REDIS, namespace=PLATFORM_NAMESPACE))
        self._root = static_dir().resolve()
        self._built = self._root.name == "dist"
        self._watchdog = ensure_iqfeed_watchdog(settings)
        self._feed = ensure_feed_actor(settings)
        self._janitor = ensure_session_janitor(settings, self._redis_url)

    @api.get("/health")
    async def health(self) -> dict[str, object]:
        """Platform health: Redis, live sessions, janitor, IQFeed; 200 even when degraded."""
        reachable = await redis_reachable(self._redis)
        live: int | None = None
        if reachable:
            try:
                live = await self._sessions.live_count()
            except StateUnavailable:
                reachable = False
        janitor, watchdog, feed, server = await asyncio.gather(
            _actor_report(self._janitor, "status"),
            _actor_report(self._watchdog, "status"),
            _actor_report(self._feed, "stats"),
            _actor_report(self._embedded_server, "status") if self._embedded_server else
            asyncio.sleep(0),
        )
        healthy = (
            reachable and janitor is not None
            and watchdog is not None and watchdog["state"] == "connected"
        )
        return {
            "status": "ok" if healthy else "degraded",
            "redis": {"reachable": reachable, "embedded": self._embedded_server is not None,
                      **({"server": server} if self._embedded_server else {})},
            "sessions": {"live": live},
            "janitor": janitor,
            "iqfeed": {"watchdog": watchdog, "feed": feed},
        }

    @api.get("/{path:path}", include_in_schema=False)
    async def static(self, path: str) -> FileResponse:
        """A file of the web app; ``/`` is its index page."""
        if not self._built:  # built after this replica started (e.g. `make frontend`)
            self._root = static_dir().resolve()
            self._built = self._root.name == "dist"
        file = resolve_static(self._root, path)
        if file is None:
            hint = "" if self._built else " (the web app is not built: run `make frontend`)"
            raise NotFound(f"no such page: /{path}{hint}", "path")
        return FileResponse(file, headers={"Cache-Control": cache_control(self._root, file)})


build = builder(FrontendIngress)
