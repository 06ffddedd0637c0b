"""The ``session-janitor`` actor: deletes the data of sessions that stopped sending heartbeats.

One named detached actor per cluster, created by whichever Serve replica starts first. It runs
:meth:`SessionStore.sweep` every ``JANITOR_INTERVAL_S`` seconds; Redis TTLs cover the time it
is down.
"""

from __future__ import annotations

import asyncio
import logging
import time

import ray

from deployments.common.errors import StateUnavailable
from deployments.common.named_actors import get_or_create
from deployments.common.redis_client import make_client
from deployments.common.settings import Settings
from deployments.sessions.store import SessionStore

ACTOR_NAME = "session-janitor"
log = logging.getLogger(__name__)


@ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)
class SessionJanitor:
    """Periodically sweeps expired sessions; ``status()`` reports what it did."""

    def __init__(self, settings: Settings, redis_url: str) -> None:
        self._store = SessionStore(make_client(redis_url), settings.session_timeout_s)
        self._interval_s = settings.janitor_interval_s
        self._runs = 0
        self._last_run: float | None = None
        self._last_error: str | None = None
        self._sessions_deleted = 0
        self._keys_deleted = 0
        # An async actor's constructor runs on its event loop, so the loop starts here and
        # starts again whenever Ray restarts the actor.
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def sweep_now(self) -> dict[str, int]:
        """Run one sweep at once and return what it deleted."""
        result = await self._store.sweep()
        self._sessions_deleted += result.sessions
        self._keys_deleted += result.keys
        self._runs += 1
        self._last_run = time.time()
        return {"sessions": result.sessions, "keys": result.keys}

    async def status(self) -> dict[str, object]:
        """Counters and the last error, for the health endpoint and operators."""
        return {
            "running": not self._task.done(),
            "interval_s": self._interval_s,
            "runs": self._runs,
            "last_run": self._last_run,
            "sessions_deleted": self._sessions_deleted,
            "keys_deleted": self._keys_deleted,
            "last_error": self._last_error,
        }

    async def _loop(self) -> None:
        while True:
            try:
                await self.sweep_now()
                self._last_error = None
            except StateUnavailable as error:
                self._last_error = str(error)
            except Exception as error:  # keep sweeping; report instead of dying
                self._last_error = f"{type(error).__name__}: {error}"
                log.exception("session sweep failed")
            await asyncio.sleep(self._interval_s)


def ensure_session_janitor(settings: Settings, redis_url: str) -> ray.actor.ActorHandle:
    """Get or create the cluster's ``session-janitor`` actor (it sweeps from its start)."""
    return get_or_create(SessionJanitor, ACTOR_NAME, settings, redis_url)
