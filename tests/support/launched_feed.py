"""The IQFeed the platform under test launched: its watchdog's status, and the simulator's fault
switches, thrown over its admin port."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import ray

from deployments import PLATFORM_NAMESPACE
from deployments.iqfeed.watchdog import ACTOR_NAME as WATCHDOG
from feeds.iqfeed.admin import AdminConnection


def watchdog_status() -> dict:
    """What the platform's ``iqfeed-watchdog`` reports (``state``, ``pid``, ``restarts``, ...)."""
    watchdog = ray.get_actor(WATCHDOG, namespace=PLATFORM_NAMESPACE)
    return ray.get(watchdog.status.remote(), timeout=10)


def _switch(admin_port: int, fault: str, value: str) -> None:
    async def send() -> None:
        admin = await AdminConnection.open("127.0.0.1", admin_port)
        await admin.send(f"S,SIM,{fault},{value}")
        await asyncio.sleep(0.2)
        admin.close()

    # On a thread of its own: the caller may be inside an event loop (Playwright's sync API
    # holds the browser tests' thread's loop).
    thread = threading.Thread(target=asyncio.run, args=(send(),))
    thread.start()
    thread.join()


@contextmanager
def simulator_fault(admin_port: int, fault: str) -> Iterator[None]:
    """Turn the launched simulator's ``fault`` (``REFUSE``, ``NOT_CONNECTED``) on for the block,
    e.g. ``with simulator_fault(int(platform.env["IQFEED_ADMIN_PORT"]), "REFUSE"): ...``."""
    _switch(admin_port, fault, "1")
    try:
        yield
    finally:
        _switch(admin_port, fault, "0")
