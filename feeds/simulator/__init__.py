"""An IQFeed stand-in on loopback for the default run and tests: ``python -m feeds.simulator``."""

from feeds.simulator.faults import SimulatorFaults
from feeds.simulator.server import IQFeedSimulator

__all__ = ["IQFeedSimulator", "SimulatorFaults"]
