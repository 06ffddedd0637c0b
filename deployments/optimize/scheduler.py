"""The ``optimize-scheduler`` actor: owns the orchestrator tasks of optimization jobs.

A Ray task dies with its owner, so orchestrators are not submitted by Serve replicas (which
come and go) but by this detached actor. It watches each orchestrator: one that died (its
worker or node lost) is started again from the job's record, twice at most. When Ray restarts
the actor itself, it picks up every job Redis still lists as queued or running.
"""

from __future__ import annotations

import asyncio
import logging
import time
from functools import partial

import ray

from deployments.common.named_actors import get_or_create
from deployments.common.redis_client import make_client, outlasting_outages
from deployments.common.settings import Settings
from deployments.optimize.jobs import JobStore
from deployments.optimize.runner import submit_job
from deployments.optimize.warm_workers import warm_optimizer

ACTOR_NAME = "optimize-scheduler"
MAX_ATTEMPTS = 3
log = logging.getLogger(__name__)


@ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)
class OptimizeScheduler:
    """Starts and watches job orchestrators."""

    def __init__(self, settings: Settings, redis_url: str) -> None:
        self._settings = settings
        self._redis_url = redis_url
        self._store = JobStore(make_client(redis_url))
        self._running: dict[str, asyncio.Task] = {}
        self._orchestrators_lost = 0
        self._resume = asyncio.get_running_loop().create_task(self._resume_jobs())
        # Idle worker processes with the kernels loaded, for the first job's tasks.
        self._warming = warm_optimizer(settings)

    async def submit(self, job_id: str) -> None:
        """Start the orchestrator of queued job ``job_id`` (no-op if it already runs)."""
        if job_id not in self._running:
            task = asyncio.get_running_loop().create_task(self._watch(job_id))
            self._running[job_id] = task
            task.add_done_callback(lambda _: self._running.pop(job_id, None))

    async def status(self) -> dict[str, int]:
        """Jobs whose orchestrator it watches now, and orchestrators lost (and restarted)."""
        return {"jobs_running": len(self._running),
                "orchestrators_lost": self._orchestrators_lost}

    async def _watch(self, job_id: str) -> None:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                await submit_job(job_id, self._settings, self._redis_url)
                return
            except Exception as error:  # the orchestrator's worker or node died
                self._orchestrators_lost += 1
                log.warning("orchestrator of %s lost (attempt %d): %s", job_id, attempt, error)
                if attempt == MAX_ATTEMPTS:
                    reason = f"orchestrator lost {MAX_ATTEMPTS} times: {type(error).__name__}"
                    await outlasting_outages(partial(
                        self._store.update, job_id, ("queued", "running"), status="failed",
                        finished_at=time.time(), error=reason))
                    return
                await outlasting_outages(partial(
                    self._store.update, job_id, ("running",), status="queued", done=0))

    async def _resume_jobs(self) -> None:
        try:
            for job_id in await self._store.active_jobs():
                await self._store.update(job_id, ("running",), status="queued", done=0)
                await self.submit(job_id)
        except Exception:  # Redis down at start: the jobs stay listed and resume next time
            log.exception("could not resume optimization jobs")


def ensure_scheduler(settings: Settings, redis_url: str) -> ray.actor.ActorHandle:
    """Get or create the cluster's ``optimize-scheduler`` actor."""
    return get_or_create(OptimizeScheduler, ACTOR_NAME, settings, redis_url)
