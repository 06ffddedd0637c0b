"""How the applications turn a session token into an HTTP answer: 422 malformed, 401 unknown."""

from __future__ import annotations

from fastapi import HTTPException

from deployments.common.http_errors import FieldError
from deployments.sessions.store import SessionStore, is_well_formed


def check_token(token: str) -> None:
    """FieldError (422) unless ``token`` has the shape of a token this platform issues."""
    if not is_well_formed(token):
        raise FieldError("session_token", "must be a token from /utils/session/initiate")


def expired_session() -> HTTPException:
    """The 401 for a token that is unknown or expired."""
    return HTTPException(401, "unknown or expired session_token: initiate a new session")


async def require_session(sessions: SessionStore, token: str) -> None:
    """422 for a malformed token, 401 unless session ``token`` is alive."""
    check_token(token)
    if not await sessions.exists(token):
        raise expired_session()
