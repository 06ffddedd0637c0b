"""A sweep on a simulated multi-node cluster, run as its own process by test_optimize_cluster.

Starts a ``ray.cluster_utils.Cluster``: a head, a node advertising one GPU (its workers run
Numba's CUDA simulator) and a CPU-only node. Sweeps once with the GPU node present, then
removes it and sweeps again; prints one JSON line with where the chunks ran and the metrics.
"""

from __future__ import annotations

import asyncio
import json
import time

import numpy as np
import ray
from ray.cluster_utils import Cluster
from ray.util.state import list_tasks

from deployments.config import get_settings
from deployments.optimize_chunks import sweep_on_cluster
from kernels.backtest import pack_params
from strategies.sma_cross import signals

BARS = 240
COMBINATIONS = [{"fast": f, "slow": s} for f in (3, 5, 8, 10, 12)
                for s in (13, 21, 34, 55, 60, 70, 80, 90)]


def _bars() -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(5)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, BARS)))
    o = c * np.exp(rng.normal(0, 0.003, BARS))
    h = np.maximum(o, c) * (1 + rng.random(BARS) * 0.01)
    l = np.minimum(o, c) * (1 - rng.random(BARS) * 0.01)
    t = np.arange(BARS, dtype=np.int64) * 60 + 1_700_000_000
    return t, o, h, l, c, np.ones(BARS)


async def _nothing(*_: object) -> None:
    return None


async def _never() -> bool:
    return False


def _sweep(job_id: str) -> dict:
    settings = get_settings()
    segments = [(0, BARS), (0, BARS // 2)]
    metrics, placement, ran = asyncio.run(sweep_on_cluster(
        job_id, ray.put(_bars()), signals, COMBINATIONS,
        pack_params(2, False, 0.0005, 0.0, 0.0, 0.02, 0.0, 1.0, 100_000.0), segments,
        settings, _nothing, _never))
    return {"device": placement.device, "ran": ran,
            "metrics": np.where(np.isnan(metrics), None, metrics).tolist()}


def _task_nodes(address: str, job_id: str) -> list[str]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # task events reach the GCS in batches
        tasks = [t for t in list_tasks(address=address, limit=10_000)
                 if t.name.startswith(f"optimize:{job_id}:chunk-") and t.state == "FINISHED"]
        if tasks:
            return sorted({t.node_id for t in tasks})
        time.sleep(0.5)
    return []


def main() -> None:
    """Run both sweeps and print the JSON line."""
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    gpu_node = cluster.add_node(num_cpus=2, num_gpus=1,
                                env_vars={"NUMBA_ENABLE_CUDASIM": "1"})
    cpu_node = cluster.add_node(num_cpus=2)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address)
    try:
        with_gpu = _sweep("gpu-run")
        with_gpu["task_nodes"] = _task_nodes(cluster.gcs_address, "gpu-run")
        cluster.remove_node(gpu_node)
        deadline = time.monotonic() + 60
        while ray.cluster_resources().get("GPU", 0) and time.monotonic() < deadline:
            time.sleep(0.5)
        cpu_only = _sweep("cpu-run")
        cpu_only["task_nodes"] = _task_nodes(cluster.gcs_address, "cpu-run")
        print(json.dumps({"gpu_node": gpu_node.node_id, "cpu_node": cpu_node.node_id,
                          "with_gpu": with_gpu, "cpu_only": cpu_only}))
    finally:
        ray.shutdown()
        cluster.shutdown()


if __name__ == "__main__":
    main()
