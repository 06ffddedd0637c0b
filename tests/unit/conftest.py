"""Unit layer: the IQFeed simulator in the tests' event loop, and a check that no test here
starts Ray."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from feeds.simulator import IQFeedSimulator


@pytest.fixture(scope="package", autouse=True)
def _no_ray() -> Iterator[None]:
    """Fail the layer if one of its tests left a Ray connection behind (unit tests start none)."""
    yield
    ray = sys.modules.get("ray")
    assert ray is None or not ray.is_initialized(), "a unit test started Ray"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def simulator() -> AsyncIterator[IQFeedSimulator]:
    """The IQFeed simulator on free loopback ports, in the tests' event loop."""
    sim = IQFeedSimulator(lookup_port=0, admin_port=0, stats_interval_s=0.2)
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
def faults(simulator: IQFeedSimulator) -> Iterator:
    """The simulator's fault switches, all off before and after the test."""
    simulator.faults.clear()
    yield simulator.faults
    simulator.faults.clear()
