"""The ``sessions`` Serve application, mounted at ``/utils/session``.

``GET /initiate`` issues a token, ``POST /heartbeat`` keeps it alive, ``GET /status`` counts live
sessions. Sessions live in Redis (see :mod:`deployments.sessions.store`); when Redis is down
these routes answer 503 with ``Retry-After``.
"""

from pydantic import BaseModel, ConfigDict, Field
from ray import serve

from deployments.common.errors import NotFound
from deployments.common.fields import TOKEN_DESCRIPTION, TOKEN_PATTERN
from deployments.common.http_app import builder, error_responses, make_api
from deployments.common.ingress import Ingress
from deployments.common.settings import Settings
from deployments.sessions.access import EXPIRED
from deployments.sessions.janitor import ensure_session_janitor


class SessionOut(BaseModel):
    """A live session and the seconds until it expires without a heartbeat."""

    session_token: str
    expires_in: int


class HeartbeatIn(BaseModel):
    """Body of ``POST /heartbeat``."""

    model_config = ConfigDict(extra="forbid")

    session_token: str = Field(pattern=TOKEN_PATTERN.pattern, description=TOKEN_DESCRIPTION)


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
        ensure_session_janitor(settings, self._redis_url)

    @api.get("/initiate", response_model=SessionOut)
    async def initiate(self) -> SessionOut:
        """Start a session; the client sends its token with every later request."""
        token = await self._sessions.create()
        return SessionOut(session_token=token, expires_in=self._sessions.timeout_s)

    @api.post("/heartbeat", response_model=SessionOut, responses=error_responses(404, 422))
    async def heartbeat(self, body: HeartbeatIn) -> SessionOut:
        """Keep a session alive for another timeout; 404 when it is unknown or expired."""
        if not await self._sessions.heartbeat(body.session_token):
            raise NotFound(EXPIRED, "session_token")
        return SessionOut(session_token=body.session_token, expires_in=self._sessions.timeout_s)

    @api.get("/status", response_model=SessionsStatus)
    async def status(self) -> SessionsStatus:
        """How many sessions are live now."""
        return SessionsStatus(
            live_sessions=await self._sessions.live_count(),
            session_timeout_s=self._sessions.timeout_s,
        )


build = builder(SessionsIngress)
