"""The ``sessions`` Serve application, mounted at ``/utils/session``.

``GET /initiate`` issues a token (at most ``INITIATE_LIMIT`` per client address and window,
else 429; at most ``MAX_LIVE_SESSIONS`` alive, else 503) and the session's workspace (the one
its ``X-Workspace`` header names while Redis knows it, else a new one), ``POST /heartbeat``
keeps the session of the ``X-Session-Token`` header alive, ``GET /status`` counts live
sessions. Sessions live in Redis (see :mod:`deployments.sessions.store` and
:mod:`deployments.sessions.workspaces`); when Redis is down these routes answer 503 with
``Retry-After``.
"""

from typing import Annotated

from fastapi import Header, Request
from pydantic import BaseModel
from ray import serve

from deployments.common.errors import NotFound, TooManyRequests, Unavailable
from deployments.common.fields import SESSION_HEADER, WORKSPACE_DESCRIPTION, WORKSPACE_HEADER
from deployments.common.http_app import builder, error_responses, make_api
from deployments.common.ingress import Ingress
from deployments.common.query_params import SessionToken
from deployments.common.settings import Settings
from deployments.sessions.access import EXPIRED
from deployments.sessions.janitor import ensure_session_janitor
from deployments.sessions.rate_limit import RateLimit
from deployments.sessions.workspaces import WORKSPACE_PATTERN


class SessionOut(BaseModel):
    """A live session and the seconds until it expires without a heartbeat."""

    session_token: str
    expires_in: int


class InitiateOut(SessionOut):
    """A new session and its workspace: the secret its runs are kept under, for
    ``RUNS_TTL_DAYS`` after its last use. Only this answer ever holds the workspace id."""

    workspace: str
    workspace_expires_in: int


class SessionsStatus(BaseModel):
    """Counts for operators and the health page."""

    live_sessions: int
    session_timeout_s: int


api = make_api("Sessions", "Session tokens scoping every cached result to one browser tab.",
               errors=(503,))


@serve.deployment
@serve.ingress(api)
class SessionsIngress(Ingress):
    """ASGI ingress of the sessions application; talks to Redis directly, no actor hops."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(api, settings)
        self._initiations = RateLimit(self._redis, "initiate", settings.initiate_limit,
                                      settings.initiate_window_s)
        self._max_live = settings.max_live_sessions
        ensure_session_janitor(settings, self._redis_url)

    @api.get("/initiate", response_model=InitiateOut, responses=error_responses(422, 429))
    async def initiate(
        self, request: Request,
        workspace: Annotated[str | None, Header(alias=WORKSPACE_HEADER,
                                                pattern=WORKSPACE_PATTERN.pattern,
                                                description=WORKSPACE_DESCRIPTION)] = None,
    ) -> InitiateOut:
        """Start a session; the client sends its token in the ``X-Session-Token`` header of
        every later request, and keeps the workspace to send as ``X-Workspace`` when it starts
        its next session. 429 when this client address started too many lately."""
        client = request.client.host if request.client else "unknown"
        wait_s = await self._initiations.retry_after(client)
        if wait_s is not None:
            raise TooManyRequests("too many new sessions from this address; retry later",
                                  retry_after_s=wait_s)
        if await self._sessions.live_count() >= self._max_live:
            raise Unavailable("the platform holds as many live sessions as it allows; "
                              "retry later")
        workspace = await self._workspaces.claim(workspace)
        token = await self._sessions.create(workspace)
        return InitiateOut(session_token=token, expires_in=self._sessions.timeout_s,
                           workspace=workspace, workspace_expires_in=self._workspaces.ttl_s)

    @api.post("/heartbeat", response_model=SessionOut, responses=error_responses(404, 422))
    async def heartbeat(self, session_token: SessionToken) -> SessionOut:
        """Keep a session alive for another timeout; 404 when it is unknown or expired."""
        if not await self._sessions.heartbeat(session_token):
            raise NotFound(EXPIRED, SESSION_HEADER)
        return SessionOut(session_token=session_token, expires_in=self._sessions.timeout_s)

    @api.get("/status", response_model=SessionsStatus)
    async def status(self) -> SessionsStatus:
        """How many sessions are live now."""
        return SessionsStatus(
            live_sessions=await self._sessions.live_count(),
            session_timeout_s=self._sessions.timeout_s,
        )


build = builder(SessionsIngress)
