"""Compiling kernels in the background, a little after a process starts."""

from __future__ import annotations

import threading
from collections.abc import Callable

WARM_UP_DELAY_S = 10.0
"""Kernel compilation waits this long after a replica starts, so that on a small machine the
platform's start (every app and actor at once) is not slowed by it."""


def warm_up_in_background(*warm_ups: Callable[[], None]) -> threading.Thread:
    """Run kernel warm-ups on a daemon thread a little after start: the replica is ready at
    once and the kernels are compiled (or loaded from Numba's cache) before a trader's first
    request normally comes; a request that comes earlier compiles what it needs itself."""
    def run() -> None:
        for warm_up in warm_ups:
            warm_up()

    timer = threading.Timer(WARM_UP_DELAY_S, run)
    timer.name = "kernel-warm-up"
    timer.daemon = True
    timer.start()
    return timer
