"""Workspaces: the long-lived secret that a browser's runs belong to, across its sessions.

A session expires after ``SESSION_TIMEOUT_S`` without a heartbeat; a workspace lives
``RUNS_TTL_DAYS`` after its last use (an initiate or a heartbeat of one of its sessions, a run
stored in it). ``GET /utils/session/initiate`` with the header ``X-Workspace`` of a workspace
Redis still knows binds the new session to it; without one (or with an expired one) a new
workspace is issued. Layout (under the ``v1:`` prefix):

- ``v1:workspace:<id>``               exists while the workspace lives (value: last use, epoch s)
- ``v1:session:<token>:workspace``    the session's workspace id, a key the session owns
"""

from __future__ import annotations

import secrets
import time

import redis.asyncio as aioredis

from deployments.common.fields import TOKEN_PATTERN
from deployments.common.redis_client import KEY_PREFIX, redis_guard

WORKSPACE_BYTES = 32
"""Random bytes per workspace id (256 bits), drawn from ``secrets``."""
WORKSPACE_PREFIX = f"{KEY_PREFIX}workspace:"
WORKSPACE_PATTERN = TOKEN_PATTERN
"""A workspace id has a session token's shape: 43 URL-safe base64 characters."""


def workspace_key(workspace: str) -> str:
    """Redis key that exists while workspace ``workspace`` lives."""
    return f"{WORKSPACE_PREFIX}{workspace}"


def session_workspace_key(token: str) -> str:
    """Redis key of the workspace id of session ``token`` (owned by the session)."""
    return f"{KEY_PREFIX}session:{token}:workspace"


class Workspaces:
    """Issues workspaces and keeps them alive for ``ttl_s`` after each use."""

    def __init__(self, client: aioredis.Redis, ttl_s: int) -> None:
        self._redis = client
        self.ttl_s = ttl_s

    async def claim(self, requested: str | None) -> str:
        """``requested`` when Redis still knows it (its TTL restarted), else a new workspace."""
        now = int(time.time())
        async with redis_guard():
            if requested is not None and await self._redis.set(
                    workspace_key(requested), now, ex=self.ttl_s, xx=True):
                return requested
            while True:  # a collision of 256 random bits does not happen; never share one
                workspace = secrets.token_urlsafe(WORKSPACE_BYTES)
                if await self._redis.set(workspace_key(workspace), now, ex=self.ttl_s, nx=True):
                    return workspace
