"""Starting sessions on a platform that rate-limits ``GET /utils/session/initiate`` per client
address: a 429 is waited out (its ``Retry-After``) instead of failing the test."""

from __future__ import annotations

import time

import httpx


def initiate_paced(http: httpx.Client, timeout_s: float = 90.0) -> str:
    """Start a session through the real endpoint, waiting out 429s; return its token."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = http.get("/utils/session/initiate")
        if answer.status_code == 200:
            return answer.json()["session_token"]
        wait_s = float(answer.headers.get("Retry-After", "1"))
        if answer.status_code != 429 or time.monotonic() + wait_s > deadline:
            raise AssertionError(f"no session: {answer.status_code} {answer.text}")
        time.sleep(wait_s)
