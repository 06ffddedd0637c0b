"""The health report: one ok/degraded word per long-lived part, details for operators only.

Anyone may read the summary (``status`` and ``components``); the details (counters, restart
counts, the feed's last error, the launch command) go only to a caller on loopback or holding
the access token, because they describe the host and other users' traffic.
"""

from __future__ import annotations

from typing import Any

from deployments.common.loopback_binds import is_loopback

OK, DEGRADED = "ok", "degraded"


def is_loopback_client(host: str | None) -> bool:
    """True for a client address in 127.0.0.0/8 or ::1 (an operator on the machine itself)."""
    return host is not None and host != "localhost" and is_loopback(host)


def components(redis_reachable: bool, reports: dict[str, dict[str, Any] | None]) -> dict[str, str]:
    """ok/degraded per part: Redis, and each actor whose ``reports`` entry answered (None: it
    did not answer in time); the watchdog is ok only while IQConnect is connected, the
    embedded Redis only while its server answers, the live stream unless it is reconnecting."""
    summary = {"redis": OK if redis_reachable else DEGRADED}
    for name, report in reports.items():
        healthy = report is not None
        if name == "iqfeed-watchdog":
            healthy = healthy and report["state"] == "connected"
        elif name == "embedded-redis":
            healthy = healthy and bool(report["up"])
        elif name == "iqfeed-stream":
            healthy = healthy and report["state"] != "reconnecting"
        elif name == "session-janitor":
            healthy = healthy and bool(report["running"])
        summary[name] = OK if healthy else DEGRADED
    return summary


def overall(summary: dict[str, str]) -> str:
    """``ok`` when every part is ok, else ``degraded``."""
    return OK if all(state == OK for state in summary.values()) else DEGRADED
