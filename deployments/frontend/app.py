"""The ``frontend`` Serve application, mounted at ``/``: the single-page app and ``/health``.

Serves the app built into ``frontend/dist`` (``make frontend``, run by ``make run`` and
``make test``); a build that appears after the replica started is picked up on the next request.
Content-hashed files under ``assets/`` are cached for good, the rest revalidated on every load.
``/health`` works without Redis and reports what is degraded (details to operators only, see
:mod:`deployments.frontend.health`); ``POST /login`` sets the cookie that stands for the access
token in the browser. This app is never behind the access token: its files must load to show
the login form. Starting it also starts the cluster's IQFeed watchdog and feed actors.
"""


import asyncio
import time
from pathlib import Path

import ray
from fastapi import Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from ray import serve
from ray.util.state import list_actors
from starlette.exceptions import HTTPException as StarletteHTTPException

from deployments import PLATFORM_NAMESPACE
from deployments.common.access_token import COOKIE_NAME
from deployments.common.embedded_redis import ACTOR_NAME as EMBEDDED_REDIS
from deployments.common.errors import Conflict, NotFound, StateUnavailable, Unauthorized
from deployments.common.http_app import allowed_methods, builder, error_responses, make_api
from deployments.common.ingress import Ingress
from deployments.common.middleware.access_token import guard_of, holds_token
from deployments.common.redis_client import redis_reachable
from deployments.common.settings import PROJECT_ROOT, Settings
from deployments.frontend.health import components, is_loopback_client, overall
from deployments.iqfeed.feed_actor import ensure_feed_actor
from deployments.iqfeed.stream_actor import ensure_stream_actor
from deployments.iqfeed.watchdog import ensure_iqfeed_watchdog
from deployments.optimize.scheduler import ensure_scheduler
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


api = make_api("Frontend", "The trader's web app, its login and the platform health report.",
               errors=(), protected=False)


class LoginIn(BaseModel):
    """Body of ``POST /login``."""

    model_config = ConfigDict(extra="forbid")

    access_token: SecretStr = Field(description="The platform's ACCESS_TOKEN")


async def _actor_report(
    actor: ray.actor.ActorHandle, method: str, timeout_s: float = 2.0
) -> dict | None:
    """``method()`` of a platform actor, or None if it does not answer in time."""
    try:
        return await asyncio.wait_for(getattr(actor, method).remote(), timeout_s)
    except (TimeoutError, ray.exceptions.RayError):
        return None


def _actor_restarts() -> dict[str, int]:
    """How often Ray restarted each live named actor of the platform (state API)."""
    actors = list_actors(filters=[("ray_namespace", "=", PLATFORM_NAMESPACE),
                                  ("state", "=", "ALIVE")], detail=True, timeout=5)
    return {actor.name: int(actor.num_restarts or 0) for actor in actors if actor.name}


RESTARTS_MAX_AGE_S = 10.0
"""How long a replica reuses the restart counts it read (every open web app polls /health)."""


class _RestartCounts:
    """The state API's restart counts, read at most every ``RESTARTS_MAX_AGE_S``."""

    def __init__(self) -> None:
        self._read_at = -RESTARTS_MAX_AGE_S
        self._counts: dict[str, int] = {}

    async def get(self) -> dict[str, int]:
        """The counts, read again when older than ``RESTARTS_MAX_AGE_S``."""
        now = time.monotonic()
        if now - self._read_at >= RESTARTS_MAX_AGE_S:
            try:
                self._counts = await asyncio.wait_for(asyncio.to_thread(_actor_restarts), 6)
            except Exception:  # the state API is slow or down: the report goes on without it
                self._counts = {}
            self._read_at = now
        return self._counts


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
        self._stream = ensure_stream_actor(settings, self._redis_url)
        self._clock = settings.market_clock()
        self._janitor = ensure_session_janitor(settings, self._redis_url)
        self._scheduler = ensure_scheduler(settings, self._redis_url)
        self._restart_counts = _RestartCounts()

    @api.get("/health")
    async def health(self, request: Request) -> dict[str, object]:
        """ok/degraded per long-lived part (200 even when degraded); to a caller on loopback
        or holding the access token, also each part's counters, state and restart count."""
        reachable = await redis_reachable(self._redis)
        live: int | None = None
        if reachable:
            try:
                live = await self._sessions.live_count()
            except StateUnavailable:
                reachable = False
        actors = {"session-janitor": (self._janitor, "status"),
                  "optimize-scheduler": (self._scheduler, "status"),
                  "iqfeed-watchdog": (self._watchdog, "status"),
                  "iqfeed": (self._feed, "stats"),
                  "iqfeed-stream": (self._stream, "stats")}
        if self._embedded_server is not None:
            actors[EMBEDDED_REDIS] = (self._embedded_server, "status")
        answers = await asyncio.gather(*(_actor_report(actor, method)
                                         for actor, method in actors.values()))
        reports = dict(zip(actors, answers, strict=True))
        summary = components(reachable, reports)
        report: dict[str, object] = {"status": overall(summary), "components": summary,
                                     "market": self._market()}
        operator = (is_loopback_client(request.client.host if request.client else None)
                    or (guard_of(request.scope) is not None and holds_token(request.scope)))
        if not operator:
            return report
        restarts = await self._restart_counts.get()
        for name, answer in reports.items():
            if answer is not None:
                answer["restarts_by_ray"] = restarts.get(name)
        return {
            **report,
            "redis": {"reachable": reachable, "embedded": self._embedded_server is not None,
                      **({"server": reports[EMBEDDED_REDIS]} if self._embedded_server else {})},
            "sessions": {"live": live},
            "janitor": reports["session-janitor"],
            "scheduler": reports["optimize-scheduler"],
            "iqfeed": {"watchdog": reports["iqfeed-watchdog"], "feed": reports["iqfeed"],
                       "stream": reports["iqfeed-stream"]},
        }

    def _market(self) -> dict[str, object]:
        """The market's clock: the browser dates its charts by it (a replay's day is not the
        wall clock's)."""
        now = self._clock.now()
        return {"now": now, "day": self._clock.today().isoformat(),
                "replay": self._settings.market_replay, "speed": self._clock.speed}

    @api.post("/login", status_code=204, responses=error_responses(401, 409, 422))
    async def login(self, body: LoginIn, request: Request) -> Response:
        """Exchange the access token for the web app's login cookie (HttpOnly, SameSite=Strict);
        401 when it is wrong, 409 when the platform has no access token to log in with."""
        guard = guard_of(request.scope)
        if guard is None:
            raise Conflict("this platform has no ACCESS_TOKEN: nothing to log in to")
        if not guard.matches(body.access_token.get_secret_value()):
            raise Unauthorized("wrong access token", "access_token")
        response = Response(status_code=204)
        response.set_cookie(COOKIE_NAME, guard.cookie_value(), httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/")
        return response

    @api.post("/logout", status_code=204)
    async def logout(self) -> Response:
        """Drop the login cookie."""
        response = Response(status_code=204)
        response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict")
        return response

    @api.get("/{path:path}", include_in_schema=False)
    async def static(self, path: str, request: Request) -> FileResponse:
        """A file of the web app; ``/`` is its index page."""
        if not self._built:  # built after this replica started (e.g. `make frontend`)
            self._root = static_dir().resolve()
            self._built = self._root.name == "dist"
        if "GET" not in allowed_methods(request):  # the path of another route: POST /login
            raise StarletteHTTPException(405)
        file = resolve_static(self._root, path)
        if file is None:
            hint = "" if self._built else " (the web app is not built: run `make frontend`)"
            raise NotFound(f"no such page: /{path}{hint}", "path")
        return FileResponse(file, headers={"Cache-Control": cache_control(self._root, file)})


build = builder(FrontendIngress)
