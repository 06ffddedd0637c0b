"""Optimization jobs over HTTP: request bodies, submitting, polling, and the Ray tasks of a job.

The session travels in the ``X-Session-Token`` header (:func:`session_headers`); the HTTP
client is expected to hold the platform's access token already (the ``http`` fixture does).
"""

from __future__ import annotations

import time

import httpx
import ray
from ray.util.state import list_tasks

from tests.support.feed_expectations import trading_days_back
from tests.support.session_calls import heartbeat, session_headers

FINAL = ("succeeded", "failed", "cancelled")


def job_body(days: int = 3, interval: str = "5m", **overrides) -> dict:
    """A small sma_cross sweep over TSLA (12 combinations), ``overrides`` replacing fields."""
    span = trading_days_back(days, skip=10)
    return {"strategy": "sma_cross", "grid": {"fast": {"min": 3, "max": 9, "step": 2},
                                              "slow": [12, 20, 30]},
            "symbol": "TSLA", "interval": interval, "start": str(span[0]),
            "end": str(span[-1]), "commission": 0.0005, "min_trades": 0, **overrides}


def big_job_body(**overrides) -> dict:
    """A job whose chunk tasks run for seconds on a 2-core machine: 1-minute bars over 20 days,
    extended hours, 79 x 160 (~12k) pairs."""
    return job_body(days=20, interval="1m", rth=False,
                    grid={"fast": {"min": 2, "max": 80, "step": 1},
                          "slow": {"min": 81, "max": 240, "step": 1}}, **overrides)


def submit(http: httpx.Client, token: str, body: dict) -> str:
    """POST the job and return its id (asserting the 202)."""
    answer = http.post("/optimize/", json=body, headers=session_headers(token), timeout=120)
    assert answer.status_code == 202, answer.text
    return answer.json()["job_id"]


def job(http: httpx.Client, job_id: str, token: str) -> dict:
    """``GET /optimize/{job_id}`` (asserting the 200)."""
    answer = http.get(f"/optimize/{job_id}", headers=session_headers(token))
    assert answer.status_code == 200, answer.text
    return answer.json()


def finish(http: httpx.Client, job_id: str, token: str, timeout_s: float = 180,
           stall_s: float | None = None) -> dict:
    """Poll the job (heartbeating its session) until it ends; AssertionError after
    ``timeout_s``, or once its status and progress have not changed for ``stall_s``."""
    began = time.monotonic()
    changed, seen = began, None
    while time.monotonic() - began < timeout_s:
        state = job(http, job_id, token)
        if state["status"] in FINAL:
            return state
        now = (state["status"], state["progress"]["done"], state["started_at"])
        if now != seen:
            changed, seen = time.monotonic(), now
        elif stall_s is not None and time.monotonic() - changed > stall_s:
            raise AssertionError(
                f"job {job_id} stuck: still {state['status']} at {state['progress']}, "
                f"unchanged for {stall_s:g} s (nothing runs it any more?): {state}")
        heartbeat(http, token)
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} still {state['status']} after {timeout_s}s: {state}")


def state_address() -> str:
    """The GCS of the cluster this process is connected to (another Ray may run here)."""
    return ray.get_runtime_context().gcs_address


def orchestrator_tasks(job_id: str, state: str | None = None) -> list:
    """Attempts of the job's orchestrator task ``optimize:<job_id>`` (in ``state`` if given)."""
    filters = [("name", "=", f"optimize:{job_id}")]
    if state:
        filters.append(("state", "=", state))
    return list_tasks(address=state_address(), filters=filters, detail=True, limit=10_000)


def rerun_after_failure(tasks: list) -> list[str]:
    """Names of chunk tasks with a failed attempt and a later attempt running or finished."""
    failed = {t.name: t.attempt_number for t in tasks if t.state == "FAILED"}
    return sorted({t.name for t in tasks if t.name in failed
                   and t.attempt_number > failed[t.name]
                   and t.state in ("RUNNING", "FINISHED")})


def chunk_tasks(job_id: str, state: str | None = None) -> list:
    """Attempts of the job's chunk tasks ``optimize:<job_id>:chunk-<n>`` (in ``state``)."""
    filters = [("name", "!=", f"optimize:{job_id}")]
    if state:
        filters.append(("state", "=", state))
    return [task for task in list_tasks(address=state_address(), filters=filters,
                                        detail=True, limit=10_000)
            if task.name.startswith(f"optimize:{job_id}:chunk-")]
