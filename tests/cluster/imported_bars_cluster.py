"""Imported bars across nodes, run as its own process by test_imported_bars_cluster.

Starts a ``ray.cluster_utils.Cluster`` (a head and a worker node), the ``bar-files`` actor (it
must land on the head, whose disk holds the store) and, on the worker node, a task that imports
bars through the actor and reads them back, as a /data replica and a chart on another node do.
Prints one JSON line: where each ran and whether the bars came back equal.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import ray
from ray.cluster_utils import Cluster
from ray.util.state import list_actors

from deployments.common.settings import load_settings
from deployments.data.store_actor import ACTOR_NAME, ensure_bar_files_actor
from feeds.bars import Bars


@ray.remote(num_cpus=0, resources={"worker_node": 0.01})
def import_and_read(files: ray.actor.ActorHandle) -> dict:
    """On the worker node: stage two batches, commit, read the range back."""
    t = 1_704_205_800 + 60 * np.arange(780, dtype=np.int64)
    price = 100 + np.sin(np.arange(780) / 10)
    bars = Bars(t, price, price + 1, price - 1, price, np.full(780, 10.0))
    for half in (slice(0, 390), slice(390, 780)):
        ray.get(files.stage.remote("cluster-test-1", Bars(*(c[half] for c in bars.columns()))))
    result = ray.get(files.commit.remote("cluster-test-1", "file:CLU", "America/New_York", 60,
                                         None))
    back = ray.get(files.read.remote("file:CLU", int(t[0]), int(t[-1]) + 60))
    return {"node": ray.get_runtime_context().get_node_id(), "bars": result.entry.bars,
            "equal": all(np.array_equal(a, b) for a, b in zip(back.columns(), bars.columns(),
                                                                 strict=True))}


def main() -> None:
    """Run the cluster, print the report."""
    data_dir = Path(tempfile.mkdtemp(prefix="imported-cluster-"))
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    worker = cluster.add_node(num_cpus=1, resources={"worker_node": 1})
    ray.init(address=cluster.address)
    try:
        settings = load_settings({"data_dir": str(data_dir),
                                  "redis_url": os.environ["REDIS_URL"]})
        files = ensure_bar_files_actor(settings)
        ray.get(files.entries.remote())
        report = ray.get(import_and_read.remote(files))
        actor_node = next(a.node_id for a in list_actors(filters=[("name", "=", ACTOR_NAME)])
                          if a.state == "ALIVE")
        report.update({
            "actor_node": actor_node, "head_node": cluster.head_node.node_id,
            "worker_node": worker.node_id,
            "on_head_disk": (data_dir / "imports" / "catalog" / "CLU.json").is_file(),
        })
        print(json.dumps(report))
    finally:
        ray.shutdown()
        cluster.shutdown()


if __name__ == "__main__":
    sys.exit(main())
