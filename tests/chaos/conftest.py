"""Chaos layer fixtures: recovery figures, and a platform launched as ``make run`` launches it.

Each test reports how long the platform took to recover through ``recovery(what, seconds)``:
the figure is printed (``-s``, or the test's captured output with ``-rA``), attached to the
test's report (``user_properties``, so JUnit XML carries it) and listed again in a
"chaos recovery times" section at the end of the run.

``launched`` is package-scoped: its platform starts for the first test that asks for it (the
test modules that use it sort last in this directory, so it does not run beside the shared
platform's chaos tests) and is stopped with SIGTERM after the layer; its teardown fails if any
process it started outlived it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from tests.support.launched_platform import EXIT_GRACE_S, LaunchedPlatform, launch

_FIGURES = pytest.StashKey[list[tuple[str, str, float]]]()


@pytest.fixture
def recovery(request: pytest.FixtureRequest) -> Callable[[str, float], None]:
    """``recovery(what, seconds)`` records one recovery figure of the test."""
    figures = request.config.stash.setdefault(_FIGURES, [])

    def record(what: str, seconds: float) -> None:
        print(f"\n[recovery] {what}: {seconds:.2f} s", flush=True)
        request.node.user_properties.append((f"recovery: {what}", round(seconds, 3)))
        figures.append((request.node.nodeid, what, seconds))

    return record


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """Every recovery figure of the run, in one section."""
    figures = config.stash.get(_FIGURES, [])
    if figures:
        terminalreporter.section("chaos recovery times")
        for nodeid, what, seconds in figures:
            terminalreporter.line(f"{seconds:8.2f} s  {what}  [{nodeid.split('::')[-1]}]")


@pytest.fixture(scope="package")
def launched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaunchedPlatform]:
    """``python -m deployments.launcher`` with the embedded Valkey (no ``REDIS_URL``), stopped
    with SIGTERM afterwards; nothing it started may keep running."""
    root = tmp_path_factory.mktemp("launched")
    platform = launch(root / "data", root / "launcher.log")
    print(f"\nlaunched platform healthy after {platform.started_s:.1f} s at {platform.base_url}")
    yield platform
    began = time.monotonic()
    left = platform.stop()
    print(f"\nlaunched platform stopped (SIGTERM) in {time.monotonic() - began:.1f} s, "
          f"exit status {platform.process.returncode}")
    problems = platform.stopped + [f"still running {EXIT_GRACE_S:g} s after the launcher "
                                   f"stopped (now killed): {proc.pid} {proc.command[:80]}"
                                   for proc in left]
    if platform.process.returncode != 0:
        problems.append(f"the launcher's exit status after SIGTERM is "
                        f"{platform.process.returncode}, not 0")
    assert not problems, "; ".join(problems)
