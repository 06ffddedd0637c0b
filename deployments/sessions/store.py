"""Session state in Redis: tokens, heartbeats, and the keys each session owns.

Layout (all keys under the ``v1:`` prefix):

- ``v1:session:<token>``        exists while the session is alive; TTL = session timeout
- ``v1:session:<token>:keys``   set of every Redis key stored on behalf of the session
- ``v1:session:<token>:workspace``  the session's workspace id (one of the keys it owns; see
                                :mod:`deployments.sessions.workspaces`)
- ``v1:sessions:seen``          sorted set token -> time of the last heartbeat

A heartbeat refreshes the TTL of the session and of every key it owns, and restarts the
workspace's TTL; the session janitor deletes sessions whose last heartbeat is older than the
timeout, and the TTLs are the safety net if the janitor is not running.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import redis.asyncio as aioredis

from deployments.common.fields import TOKEN_PATTERN
from deployments.common.redis_client import KEY_PREFIX, redis_guard
from deployments.sessions.workspaces import WORKSPACE_PREFIX, session_workspace_key

TOKEN_BYTES = 32
"""Random bytes per token (256 bits), drawn from ``secrets``."""
SEEN_KEY = f"{KEY_PREFIX}sessions:seen"

_HEARTBEAT = """
if redis.call('EXPIRE', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
if redis.call('EXPIRE', KEYS[3], ARGV[1]) == 1 then
  for _, key in ipairs(redis.call('SMEMBERS', KEYS[3])) do
    redis.call('EXPIRE', key, ARGV[1])
  end
end
if ARGV[4] ~= '' then
  local workspace = redis.call('GET', KEYS[4])
  if workspace then redis.call('SET', ARGV[5] .. workspace, ARGV[6], 'EX', ARGV[4]) end
end
return 1
"""

_EXPIRE_IF_STALE = """
local seen = redis.call('ZSCORE', KEYS[2], ARGV[2])
if seen and tonumber(seen) > tonumber(ARGV[1]) then return -1 end
local owned = redis.call('SMEMBERS', KEYS[3])
local deleted = 0
for _, key in ipairs(owned) do deleted = deleted + redis.call('DEL', key) end
redis.call('DEL', KEYS[1], KEYS[3])
redis.call('ZREM', KEYS[2], ARGV[2])
return deleted
"""


def session_key(token: str) -> str:
    """Redis key that exists while the session ``token`` is alive."""
    return f"{KEY_PREFIX}session:{token}"


def owned_keys_key(token: str) -> str:
    """Redis key of the set of keys stored on behalf of session ``token``."""
    return f"{KEY_PREFIX}session:{token}:keys"


def is_well_formed(token: str) -> bool:
    """True when ``token`` has the shape of a token this platform issues."""
    return bool(TOKEN_PATTERN.fullmatch(token))


@dataclass(frozen=True)
class SweepResult:
    """What one janitor pass removed."""

    sessions: int
    keys: int


class SessionStore:
    """Creates, refreshes, checks and expires sessions; every call may raise StateUnavailable.

    With ``workspace_ttl_s`` a heartbeat also restarts the TTL of the session's workspace."""

    def __init__(self, client: aioredis.Redis, timeout_s: int,
                 workspace_ttl_s: int | None = None) -> None:
        self._redis = client
        self.timeout_s = timeout_s
        self._workspace_ttl_s = workspace_ttl_s
        self._heartbeat = client.register_script(_HEARTBEAT)
        self._expire_if_stale = client.register_script(_EXPIRE_IF_STALE)

    async def create(self, workspace: str | None = None) -> str:
        """Start a new session (of ``workspace``, when given) and return its token."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = time.time()
        async with redis_guard(), self._redis.pipeline(transaction=True) as pipe:
            pipe.set(session_key(token), int(now), ex=self.timeout_s)
            pipe.zadd(SEEN_KEY, {token: now})
            if workspace is not None:
                self.queue_workspace(pipe, token, workspace)
            await pipe.execute()
        return token

    def queue_workspace(self, pipe: aioredis.client.Pipeline, token: str,
                        workspace: str) -> None:
        """Queue the commands that make ``workspace`` session ``token``'s (a key it owns)."""
        pipe.set(session_workspace_key(token), workspace, ex=self.timeout_s)
        self.queue_register(pipe, token, session_workspace_key(token))

    async def bind_workspace(self, token: str, workspace: str) -> str:
        """Make ``workspace`` the workspace of the live session ``token`` unless it has one
        already (a concurrent request bound it); the one it has now."""
        pointer = session_workspace_key(token)
        async with redis_guard(), self._redis.pipeline(transaction=True) as pipe:
            pipe.set(pointer, workspace, ex=self.timeout_s, nx=True)
            pipe.get(pointer)
            self.queue_register(pipe, token, pointer)
            bound = (await pipe.execute())[1]
        return bound.decode()

    async def lookup(self, token: str) -> tuple[bool, str | None]:
        """Whether session ``token`` is alive, and its workspace (None: it has none), in one
        round trip."""
        if not is_well_formed(token):
            return False, None
        async with redis_guard(), self._redis.pipeline(transaction=False) as pipe:
            pipe.exists(session_key(token))
            pipe.get(session_workspace_key(token))
            alive, workspace = await pipe.execute()
        return bool(alive), workspace.decode() if alive and workspace else None

    async def heartbeat(self, token: str) -> bool:
        """Extend the session and the keys it owns by the timeout; False if it is unknown."""
        async with redis_guard():
            alive = await self._heartbeat(
                keys=[session_key(token), SEEN_KEY, owned_keys_key(token),
                      session_workspace_key(token)],
                args=[self.timeout_s, time.time(), token, self._workspace_ttl_s or "",
                      WORKSPACE_PREFIX, int(time.time())],
            )
        return bool(alive)

    async def exists(self, token: str) -> bool:
        """True while session ``token`` is alive."""
        if not is_well_formed(token):
            return False
        async with redis_guard():
            return bool(await self._redis.exists(session_key(token)))

    async def register_key(self, token: str, key: str) -> None:
        """Record that ``key`` belongs to session ``token`` and give it the session's TTL."""
        async with redis_guard(), self._redis.pipeline(transaction=True) as pipe:
            self.queue_register(pipe, token, key)
            await pipe.execute()

    def queue_register(self, pipe: aioredis.client.Pipeline, token: str, key: str) -> None:
        """Queue :meth:`register_key`'s commands on ``pipe`` (the caller executes it), so a
        hot path can register in the same round trip as its other commands."""
        owned = owned_keys_key(token)
        pipe.sadd(owned, key)
        pipe.expire(owned, self.timeout_s)
        pipe.expire(key, self.timeout_s)

    async def live_count(self) -> int:
        """Number of sessions that sent a heartbeat within the timeout."""
        async with redis_guard():
            return int(await self._redis.zcount(SEEN_KEY, time.time() - self.timeout_s, "+inf"))

    async def sweep(self, batch: int = 500) -> SweepResult:
        """Delete every session whose last heartbeat is older than the timeout, with its keys."""
        cutoff = time.time() - self.timeout_s
        sessions = keys = 0
        async with redis_guard():
            while True:
                stale = await self._redis.zrangebyscore(SEEN_KEY, "-inf", cutoff, 0, batch)
                for raw in stale:
                    token = raw.decode() if isinstance(raw, bytes) else raw
                    deleted = await self._expire_if_stale(
                        keys=[session_key(token), SEEN_KEY, owned_keys_key(token)],
                        args=[cutoff, token],
                    )
                    if deleted >= 0:
                        sessions += 1
                        keys += int(deleted)
                if len(stale) < batch:
                    return SweepResult(sessions=sessions, keys=keys)
