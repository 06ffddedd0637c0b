"""Where the IQFeed actors run: the node that hosts IQConnect (it listens on loopback only).

A node declares itself with the custom Ray resource ``iqfeed_host`` (cluster.yaml gives it to
the head node). Where no node declares it, as on a laptop's local cluster, the actors are
pinned to the node of the caller.
"""

from __future__ import annotations

from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

IQFEED_RESOURCE = "iqfeed_host"


def iqfeed_placement() -> dict[str, Any]:
    """Ray actor options that place an actor on the IQConnect node."""
    if ray.cluster_resources().get(IQFEED_RESOURCE):
        return {"resources": {IQFEED_RESOURCE: 0.001}}
    node = ray.get_runtime_context().get_node_id()
    return {"scheduling_strategy": NodeAffinitySchedulingStrategy(node_id=node, soft=False)}
