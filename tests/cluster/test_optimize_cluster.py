"""Optimization sweeps on a simulated multi-node cluster (``ray.cluster_utils.Cluster``).

Runs :mod:`tests.cluster.multinode_sweep` in its own process (one Ray cluster per process):
with a node advertising a GPU the chunk tasks land there and run the CUDA kernel (Numba's CUDA
simulator); without it they run the CPU kernel elsewhere; the metrics are the same. A GPU
job whose GPU node goes away while its chunks wait runs them on CPUs instead of hanging.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from deployments.common.settings import PROJECT_ROOT
from kernels.backtest import METRICS


@pytest.fixture(scope="module")
def runs() -> dict:
    """The two sweeps' report."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADDRESS")}
    result = subprocess.run([sys.executable, "-m", "tests.cluster.multinode_sweep"],
                            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_with_a_gpu_node_the_chunks_run_cuda_there(runs):
    gpu = runs["with_gpu"]
    assert gpu["device"] == "gpu"
    assert len(gpu["ran"]) > 1
    assert {chunk["node_id"] for chunk in gpu["ran"]} == {runs["gpu_node"]}
    assert all(chunk["device"] == "gpu" and chunk["cuda_simulator"] for chunk in gpu["ran"])
    assert gpu["task_nodes"] == [runs["gpu_node"]]  # as the state API saw them


def test_without_gpus_the_chunks_run_the_cpu_kernel_elsewhere(runs):
    cpu = runs["cpu_only"]
    assert cpu["device"] == "cpu"
    assert all(chunk["device"] == "cpu" for chunk in cpu["ran"])
    assert runs["gpu_node"] not in {chunk["node_id"] for chunk in cpu["ran"]}
    assert cpu["task_nodes"] and runs["gpu_node"] not in cpu["task_nodes"]


def test_gpu_and_cpu_results_are_the_same(runs):
    gpu = np.array(runs["with_gpu"]["metrics"], dtype=np.float64)
    cpu = np.array(runs["cpu_only"]["metrics"], dtype=np.float64)
    assert gpu.shape == cpu.shape == (2, 40, len(METRICS))
    assert (cpu[0, :, METRICS.index("num_trades")] > 0).all()
    np.testing.assert_allclose(gpu, cpu, rtol=1e-9, atol=1e-12, equal_nan=True)


def test_chunks_waiting_for_a_lost_gpu_node_move_to_cpus(runs):
    lost = runs["gpu_lost"]
    assert lost["gpu_attempts"] >= 1, "the job first asked for the GPU"
    assert all(chunk["device"] == "cpu" for chunk in lost["ran"])
    assert lost["gpu_node"] not in lost["task_nodes"]
    np.testing.assert_array_equal(np.array(lost["metrics"], dtype=np.float64),
                                  np.array(runs["cpu_only"]["metrics"], dtype=np.float64))


def test_a_symbols_by_intervals_search_uses_gpu_and_cpu_nodes_with_cpu_numbers(runs):
    mixed, cpu = runs["series_mixed"], runs["series_cpu"]
    assert mixed["names"] == ["fast", "slow", "interval", "symbol"]
    assert mixed["devices"] == ["cpu", "gpu"], "chunks on the GPU node and on CPU nodes"
    assert runs["gpu_node"] in mixed["nodes"] and len(mixed["nodes"]) > 1
    assert cpu["devices"] == ["cpu"] and runs["gpu_node"] not in cpu["nodes"]
    assert mixed["positions"] == cpu["positions"] == list(range(48))
    np.testing.assert_allclose(np.array(mixed["metrics"], dtype=np.float64),
                               np.array(cpu["metrics"], dtype=np.float64), rtol=1e-9,
                               atol=1e-12, equal_nan=True)
