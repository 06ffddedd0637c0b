"""The ``iqfeed-watchdog`` actor: keeps IQConnect (or the simulator) running and reports on it.

Every ``IQFEED_WATCHDOG_INTERVAL_S`` it reads the admin port's ``S,STATS`` status over a held
connection (which also keeps IQConnect from exiting). When the port is down it launches the
configured command, backing off from 1 s to 30 s between launches while it stays down.
``status()`` is what the health endpoint shows; it never contains the DTN password.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import time

import ray

from deployments.common.named_actors import get_or_create
from deployments.common.settings import Settings
from deployments.iqfeed.launch import launch_command
from deployments.iqfeed.placement import iqfeed_placement
from feeds.iqfeed.admin import AdminConnection
from feeds.iqfeed.errors import FeedUnavailable

ACTOR_NAME = "iqfeed-watchdog"
MIN_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
START_GRACE_S = 90.0
"""How long a launched program may take to open its admin port before it is replaced
(IQConnect's first start in a fresh wine prefix is slow)."""
log = logging.getLogger(__name__)


@ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)
class IQFeedWatchdog:
    """Watches the admin port and relaunches the feed program when it is down."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._command = launch_command(self._settings)
        self._admin: AdminConnection | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._state = "starting"
        self._last_check: float | None = None
        self._last_error: str | None = None
        self._restarts = 0
        self._last_launch = 0.0
        self._backoff = MIN_BACKOFF_S
        self._checking = asyncio.Lock()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def status(self) -> dict[str, object]:
        """State (``connected``, ``not_connected``, ``down``, ``starting``), last check, restarts,
        last error, and the launch command with the password masked."""
        return {
            "state": self._state,
            "last_check": self._last_check,
            "restarts": self._restarts,
            "last_error": self._last_error,
            "program": self._command.program,
            "command": self._command.display,
            "pid": self._process.pid if self._process else None,
        }

    async def check_now(self) -> str:
        """Run one check (and launch if needed) at once; return the state."""
        await self._check()
        return self._state

    async def _run(self) -> None:
        while True:
            try:
                await self._check()
            except Exception as error:  # keep watching; report instead of dying
                self._last_error = f"{type(error).__name__}: {error}"
                log.exception("IQFeed watchdog check failed")
            await asyncio.sleep(self._settings.iqfeed_watchdog_interval_s)

    async def _check(self) -> None:
        async with self._checking:  # the loop and check_now() never interleave
            await self._check_once()

    async def _check_once(self) -> None:
        self._last_check = time.time()
        try:
            if self._admin is None or self._admin.closed:
                self._admin = await AdminConnection.open(
                    self._settings.iqfeed_host, self._settings.iqfeed_admin_port
                )
            status = await self._admin.status(max_age_s=3.0)
        except FeedUnavailable as error:
            if self._admin is not None:
                self._admin.close()
                self._admin = None
            self._last_error = str(error)
            await self._maybe_launch()
            starting = self._process is not None and self._process.returncode is None
            self._state = "starting" if starting else "down"
            return
        self._state = "connected" if status.connected else "not_connected"
        self._last_error = None if status.connected else f"IQConnect reports {status.status!r}"
        self._backoff = MIN_BACKOFF_S

    async def _maybe_launch(self) -> None:
        now = time.monotonic()
        if now - self._last_launch < self._backoff:
            return
        if self._process is not None and self._process.returncode is None:
            # Launched but not answering yet: give it time to start, then replace it.
            if now - self._last_launch < START_GRACE_S:
                return
            await self._stop_process()
        self._last_launch = now
        self._backoff = min(self._backoff * 2, MAX_BACKOFF_S)
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self._command.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # IQConnect outlives a restart of this actor
            )
        except OSError as error:
            self._last_error = f"cannot launch {self._command.program}: {error.strerror}"
            return
        self._restarts += 1
        log.info("launched %s: %s", self._command.program, self._command.display)


    async def _stop_process(self) -> None:
        """Kill the launched program's whole process group (xvfb-run, wine, IQConnect)."""
        process = self._process
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), 5)


def ensure_iqfeed_watchdog(settings: Settings) -> ray.actor.ActorHandle:
    """Get or create the cluster's ``iqfeed-watchdog`` actor on the IQConnect node."""
    return get_or_create(IQFeedWatchdog, ACTOR_NAME, settings, **iqfeed_placement())
