"""How the applications check a session token: 422 when malformed, 401 when unknown."""

from __future__ import annotations

from deployments.common.errors import FieldError, Unauthorized
from deployments.common.fields import SESSION_HEADER
from deployments.sessions.store import SessionStore, is_well_formed
from deployments.sessions.workspaces import Workspaces

EXPIRED = "unknown or expired session: initiate a new session"


def check_token(token: str) -> None:
    """FieldError (422) unless ``token`` has the shape of a token this platform issues."""
    if not is_well_formed(token):
        raise FieldError(SESSION_HEADER, "must be a token from /utils/session/initiate")


def expired_session() -> Unauthorized:
    """The 401 for a token that is unknown or expired."""
    return Unauthorized(EXPIRED, SESSION_HEADER)


async def require_session(sessions: SessionStore, token: str) -> None:
    """422 for a malformed token, 401 unless session ``token`` is alive."""
    check_token(token)
    if not await sessions.exists(token):
        raise expired_session()


async def require_workspace(sessions: SessionStore, workspaces: Workspaces, token: str) -> str:
    """The workspace of session ``token``: 422 for a malformed token, 401 unless it is alive.
    A live session without one (started before workspaces existed) is given a new one."""
    check_token(token)
    alive, workspace = await sessions.lookup(token)
    if not alive:
        raise expired_session()
    if workspace is None:
        workspace = await sessions.bind_workspace(token, await workspaces.claim(None))
    return workspace
