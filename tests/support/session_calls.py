"""Session calls the tests make: through the real endpoints, or through SessionStore."""

from __future__ import annotations

import asyncio

import httpx

from deployments.common.redis_client import make_client
from deployments.sessions.store import SessionStore

SESSION_HEADER = "X-Session-Token"


def session_headers(token: str) -> dict[str, str]:
    """The header that carries session ``token`` on every call a session owns."""
    return {SESSION_HEADER: token}


def initiate(http: httpx.Client) -> str:
    """Start a session through the real endpoint and return its token."""
    response = http.get("/utils/session/initiate")
    assert response.status_code == 200, response.text
    return response.json()["session_token"]


WORKSPACE_HEADER = "X-Workspace"


def initiate_in(http: httpx.Client, workspace: str | None = None) -> tuple[str, str]:
    """Start a session (in ``workspace`` when given, sent as ``X-Workspace``); its token and
    the workspace it got."""
    headers = {WORKSPACE_HEADER: workspace} if workspace is not None else {}
    response = http.get("/utils/session/initiate", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["session_token"], response.json()["workspace"]


def heartbeat(http: httpx.Client, token: object) -> httpx.Response:
    """POST a heartbeat for ``token`` (sent as given, to test malformed ones too)."""
    return http.post("/utils/session/heartbeat", headers={SESSION_HEADER: str(token)})


def register_keys(redis_url: str, timeout_s: int, token: str, keys: list[str]) -> None:
    """Register ``keys`` with session ``token`` the way deployments do (SessionStore)."""

    async def _run() -> None:
        client = make_client(redis_url)
        store = SessionStore(client, timeout_s)
        for key in keys:
            await client.set(key, b"payload")
            await store.register_key(token, key)
        await client.aclose()

    asyncio.run(_run())
