"""A sweep on a simulated multi-node cluster, run as its own process by test_optimize_cluster.

Starts a ``ray.cluster_utils.Cluster``: a head, a node advertising one GPU (its workers run
Numba's CUDA simulator) and a CPU-only node. Sweeps once with the GPU node present, then
removes it and sweeps again; then adds a GPU node whose GPU an actor holds, starts a sweep and
removes the node while the GPU chunks wait, so they must move to CPUs. Also a symbols x
intervals search with chunks on the GPU node and the CPU nodes at once, and again on CPUs
alone. Prints one JSON line with where the chunks ran and the metrics.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable

import numpy as np
import ray
from ray.cluster_utils import Cluster
from ray.util.state import list_tasks

from deployments.common.settings import load_settings
from deployments.optimize.chunks import devices_used, sweep_on_cluster
from kernels.backtest import pack_params
from strategies.sma_cross import STRATEGY

BARS = 240
GPU_LOSS_GRACE_S = 1.0
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
    settings = load_settings().model_copy(update={"optimize_gpu_loss_grace_s": GPU_LOSS_GRACE_S})
    segments = [(0, BARS), (0, BARS // 2)]
    metrics, ran = asyncio.run(sweep_on_cluster(
        job_id, ray.put(_bars()), STRATEGY, COMBINATIONS,
        pack_params(2, False, 0.0005, 0.0, 0.0, 0.02, 0.0, 1.0, 100_000.0), segments,
        settings, _nothing, _never))
    return {"device": devices_used(ran), "ran": ran,
            "metrics": np.where(np.isnan(metrics), None, metrics).tolist()}


SERIES = [(symbol, interval) for symbol in ("AAA", "BBB") for interval in ("1m", "5m")]


def _series_sweep(job_id: str) -> dict:
    """A 2-symbol x 2-interval grid search (each series its own random bars), every chunk
    slot of the cluster used (GPU and CPU together when there is a GPU)."""
    from deployments.optimize.grid import expand_grid
    from deployments.optimize.search import GridSearch
    from deployments.optimize.series import Series, with_series_axes
    from deployments.optimize.surface_search import Sweep, search_surface

    settings = load_settings().model_copy(update={"optimize_cpus_with_gpus": True,
                                                  "optimize_chunks_per_slot": 4})
    grid = with_series_axes(expand_grid(STRATEGY, {"fast": [3, 5, 8, 10], "slow": [13, 21, 34]},
                                        None), ["AAA", "BBB"], ["1m", "5m"])
    series = {}
    for k, (symbol, interval) in enumerate(SERIES):
        rng = np.random.default_rng(k)
        bars = list(_bars())
        bars[4] = bars[4] * np.exp(np.cumsum(rng.normal(0, 0.004, BARS)))
        bars[1], bars[2], bars[3] = bars[4], bars[4] * 1.003, bars[4] * 0.997
        series[(symbol, interval)] = Series(symbol, interval, tuple(bars), None)
    sweep = Sweep(job_id, STRATEGY, grid, series, {key: [(0, BARS)] for key in series},
                  pack_params(2, False, 0.0005, 0.0, 0.0, 0.02, 0.0, 1.0, 100_000.0), settings,
                  SERIES[0])
    surface = asyncio.run(search_surface(sweep, GridSearch(grid), len(grid), "sharpe", 0,
                                         _nothing, _never))
    return {"devices": sorted({chunk["device"] for chunk in surface.ran}),
            "nodes": sorted({chunk["node_id"] for chunk in surface.ran}),
            "positions": surface.positions, "names": list(grid.names),
            "metrics": np.where(np.isnan(surface.metrics), None, surface.metrics).tolist()}


def _task_nodes(address: str, job_id: str) -> list[str]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # task events reach the GCS in batches
        tasks = [t for t in list_tasks(address=address, limit=10_000)
                 if t.name.startswith(f"optimize:{job_id}:chunk-") and t.state == "FINISHED"]
        if tasks:
            return sorted({t.node_id for t in tasks})
        time.sleep(0.5)
    return []


def _gpu_node(cluster: Cluster):
    node = cluster.add_node(num_cpus=2, num_gpus=1, env_vars={"NUMBA_ENABLE_CUDASIM": "1"})
    cluster.wait_for_nodes()
    _wait_for(lambda: ray.cluster_resources().get("GPU", 0) >= 1)
    return node


def _wait_for(condition: Callable[[], bool], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.5)


@ray.remote(num_cpus=0, num_gpus=1)
class _GpuHolder:
    """Holds the GPU node's only GPU, so a sweep's GPU chunk tasks wait for it."""

    def ready(self) -> bool:
        return True


def _sweep_losing_the_gpu(cluster: Cluster) -> dict:
    """A GPU sweep whose GPU node goes away while its chunks wait for the (busy) GPU."""
    node = _gpu_node(cluster)
    holder = _GpuHolder.remote()
    ray.get(holder.ready.remote())
    removal = threading.Timer(2.0, cluster.remove_node, args=(node,))
    removal.start()
    report = _sweep("gpu-lost")
    removal.join()
    report["gpu_node"] = node.node_id
    report["task_nodes"] = _task_nodes(cluster.gcs_address, "gpu-lost")
    report["gpu_attempts"] = _gpu_attempts(cluster.gcs_address, "gpu-lost")
    return report


def _gpu_attempts(address: str, job_id: str) -> int:
    """Chunk task attempts of ``job_id`` that asked for a GPU."""
    tasks = list_tasks(address=address, detail=True, limit=10_000,
                       filters=[("name", "!=", f"optimize:{job_id}")])
    return sum(1 for t in tasks if t.name.startswith(f"optimize:{job_id}:chunk-")
               and (t.required_resources or {}).get("GPU"))


def main() -> None:
    """Run both sweeps and print the JSON line."""
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cpu_node = cluster.add_node(num_cpus=2)
    ray.init(address=cluster.address)
    try:
        gpu_node = _gpu_node(cluster)
        with_gpu = _sweep("gpu-run")
        with_gpu["task_nodes"] = _task_nodes(cluster.gcs_address, "gpu-run")
        series_mixed = _series_sweep("series-mixed")
        cluster.remove_node(gpu_node)
        _wait_for(lambda: not ray.cluster_resources().get("GPU", 0))
        cpu_only = _sweep("cpu-run")
        cpu_only["task_nodes"] = _task_nodes(cluster.gcs_address, "cpu-run")
        series_cpu = _series_sweep("series-cpu")
        gpu_lost = _sweep_losing_the_gpu(cluster)
        print(json.dumps({"gpu_node": gpu_node.node_id, "cpu_node": cpu_node.node_id,
                          "with_gpu": with_gpu, "cpu_only": cpu_only, "gpu_lost": gpu_lost,
                          "series_mixed": series_mixed, "series_cpu": series_cpu}))
    finally:
        ray.shutdown()
        cluster.shutdown()


if __name__ == "__main__":
    main()
