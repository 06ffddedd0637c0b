"""kill -9 of the processes of a running optimization on the shared platform.

A chunk task's worker (``optimize:<job_id>:chunk-<n>``) and the job's orchestrator
(``optimize:<job_id>``) are killed mid-sweep; either way the job must end ``succeeded`` with
the surface and top rows of an undisturbed run of the same job.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Platform
from tests.support.launched_feed import watchdog_status
from tests.support.optimize_jobs import (
    FINAL,
    big_job_body,
    chunk_tasks,
    finish,
    job,
    orchestrator_tasks,
    rerun_after_failure,
    submit,
)
from tests.support.paced_sessions import initiate_paced
from tests.support.polling import wait_for

JOB_TIMEOUT_S = 180
JOB_STALL_S = 30
"""A job whose status and progress stand still this long is stuck (its chunks take ~1-3 s)."""


@pytest.fixture(scope="module")
def client(platform: Platform) -> Iterator[httpx.Client]:
    """``http`` for module-scoped fixtures."""
    with httpx.Client(base_url=platform.base_url, timeout=30,
                      headers=platform.auth_headers) as http:
        yield http


@pytest.fixture(scope="module")
def undisturbed(client: httpx.Client, feed_ready_module: None) -> dict:
    """The result of the job, run with nothing killed."""
    token = initiate_paced(client)
    began = time.monotonic()
    state = finish(client, submit(client, token, big_job_body()), token, JOB_TIMEOUT_S)
    assert state["status"] == "succeeded", state
    print(f"\nundisturbed job: {time.monotonic() - began:.1f} s")
    return state["result"]


@pytest.fixture(scope="module")
def feed_ready_module(platform: Platform) -> None:
    """``feed_ready`` for module-scoped fixtures."""
    assert wait_for(lambda: watchdog_status()["state"] == "connected", 60), watchdog_status()


def _same_result(disturbed: dict, undisturbed: dict) -> None:
    assert disturbed["status"] == "succeeded", disturbed
    assert disturbed["result"]["surface"] == undisturbed["surface"]
    assert disturbed["result"]["top"] == undisturbed["top"]


def test_killed_chunk_worker_is_rerun_and_the_result_is_the_same(client, undisturbed,
                                                                   recovery):
    token = initiate_paced(client)
    job_id = submit(client, token, big_job_body())
    assert wait_for(lambda: chunk_tasks(job_id, "RUNNING"), 120), job(client, job_id, token)
    victim = chunk_tasks(job_id, "RUNNING")[0]
    os.kill(victim.worker_pid, signal.SIGKILL)
    killed = time.monotonic()

    # The state API lags: the worker may have moved on to the job's next chunk already, so the
    # chunk killed is the one whose attempt failed; its next attempt must start.
    rerun: list[str] = []

    def started_again() -> bool:
        rerun[:] = rerun_after_failure(chunk_tasks(job_id))
        return bool(rerun)

    assert wait_for(started_again, 60), [(t.name, t.attempt_number, t.state)
                                         for t in chunk_tasks(job_id)]
    recovery(f"{rerun[0].split(':')[-1]} worker killed -> its re-run started",
             time.monotonic() - killed)
    disturbed = finish(client, job_id, token, JOB_TIMEOUT_S, JOB_STALL_S)
    recovery("chunk worker killed -> job ended", time.monotonic() - killed)
    _same_result(disturbed, undisturbed)


def test_killed_orchestrator_is_restarted_and_the_result_is_the_same(client, undisturbed,
                                                                      recovery):
    token = initiate_paced(client)
    job_id = submit(client, token, big_job_body())
    assert wait_for(lambda: orchestrator_tasks(job_id, "RUNNING")
                    and chunk_tasks(job_id, "RUNNING"), 120), job(client, job_id, token)
    started = job(client, job_id, token)["started_at"]
    (orchestrator,) = orchestrator_tasks(job_id, "RUNNING")
    os.kill(orchestrator.worker_pid, signal.SIGKILL)
    killed = time.monotonic()

    def restarted() -> bool:
        state = job(client, job_id, token)
        return state["status"] in FINAL or (state["status"] == "running"
                                            and state["started_at"] != started)

    assert wait_for(restarted, 60), (
        f"no orchestrator took job {job_id} over within 60 s of the kill: "
        f"{job(client, job_id, token)}")
    recovery("orchestrator killed -> a new orchestrator runs the job",
             time.monotonic() - killed)
    disturbed = finish(client, job_id, token, JOB_TIMEOUT_S, JOB_STALL_S)
    recovery("orchestrator killed -> job ended", time.monotonic() - killed)
    _same_result(disturbed, undisturbed)
