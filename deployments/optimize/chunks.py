"""A parameter sweep split into Ray tasks: on GPUs when the cluster has them, else on CPUs.

The device is decided once per job from the cluster's resources (never by leaving tasks
pending on a GPU that does not exist). Each chunk task is named
``optimize:<job_id>:chunk-<n>``, reads the bars from the object store (one copy per node),
runs the strategy's sweep (:meth:`strategies.spec.StrategySpec.sweep_segments`: its dedicated
sweep when it declares one, else the signal-matrix sweep) with the CUDA or the parallel CPU
kernels (same numbers either way) and is retried if its worker dies. When a GPU job's GPU nodes go
away, its unfinished chunks move to CPUs after a grace period instead of waiting forever.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import ray
from ray import cloudpickle

from deployments.common.settings import Settings
from strategies.spec import StrategySpec

CHUNK_RETRIES = 3
"""Times a chunk task is re-run after its worker or node died."""
CANCEL_POLL_S = 0.25
SLOT_WAIT_S = 0.02
"""How often a sweep whose chunks all wait for a slot (the job's other sweeps hold them)
looks again."""


log = logging.getLogger(__name__)


class SweepCancelled(RuntimeError):
    """The job was cancelled while its chunks ran."""


@dataclass(frozen=True)
class Placement:
    """Where a job's chunk tasks run and how many can run at once."""

    device: str  # "gpu" or "cpu"
    slots: int
    options: dict[str, Any]
    threads: int


def plan_placement(settings: Settings) -> Placement:
    """GPU chunk tasks when the cluster reports enough GPUs for one, else CPU chunk tasks."""
    resources = ray.cluster_resources()
    gpus = resources.get("GPU", 0.0)
    if gpus >= settings.optimize_task_gpus:
        slots = max(1, int(gpus // settings.optimize_task_gpus))
        return Placement("gpu", slots, {"num_gpus": settings.optimize_task_gpus,
                                        "num_cpus": 1}, 1)
    return cpu_placement(settings, resources.get("CPU", 1.0))


def placements_for(settings: Settings) -> list[Placement]:
    """Where a job's chunks may run: the GPUs (or the CPUs) of :func:`plan_placement`, and
    with ``optimize_cpus_with_gpus`` also the CPUs the GPU tasks leave."""
    first = plan_placement(settings)
    if first.device != "gpu" or not settings.optimize_cpus_with_gpus:
        return [first]
    left = ray.cluster_resources().get("CPU", 0.0) - first.slots * first.options["num_cpus"]
    if left < settings.optimize_task_cpus:
        return [first]
    return [first, cpu_placement(settings, left)]


class SlotPool:
    """The chunk slots of one job, shared by the sweeps it runs at once (one per bar series):
    each placement runs at most its ``slots`` chunks at a time across all of them."""

    def __init__(self, settings: Settings) -> None:
        self.placements = placements_for(settings)
        self._busy: dict[int, int] = {}

    def slots(self) -> int:
        """Chunk slots over every placement."""
        return sum(p.slots for p in self.placements)

    def free(self) -> Placement | None:
        """A placement with a free slot (GPUs first), or None."""
        return next((p for p in self.placements if self._busy.get(id(p), 0) < p.slots), None)

    def take(self, where: Placement) -> None:
        """Count a chunk started on ``where``."""
        self._busy[id(where)] = self._busy.get(id(where), 0) + 1

    def give(self, where: Placement) -> None:
        """Count a chunk of ``where`` ended."""
        self._busy[id(where)] = self._busy.get(id(where), 0) - 1

    def only_cpus(self, settings: Settings) -> None:
        """The GPUs are gone: every later chunk runs on the cluster's CPUs."""
        if any(p.device == "gpu" for p in self.placements):
            self.placements = [cpu_placement(settings, ray.cluster_resources().get("CPU", 1.0))]


def cpu_placement(settings: Settings, cpus: float) -> Placement:
    """CPU chunk tasks over a cluster of ``cpus`` CPUs."""
    slots = max(1, int(cpus // settings.optimize_task_cpus))
    return Placement("cpu", slots, {"num_cpus": settings.optimize_task_cpus},
                     max(1, math.ceil(settings.optimize_task_cpus)))


def search_batch(settings: Settings) -> int:
    """Combinations a Bayesian search evaluates between two rounds of asking: thousands per GPU
    (a chunk fills a device), a few dozen per CPU slot."""
    placement = plan_placement(settings)
    per_slot = 4096 if placement.device == "gpu" else 32
    return max(64, per_slot * placement.slots)


def chunk_bounds(total: int, slots: int, chunks_per_slot: int, minimum: int = 16
                 ) -> list[tuple[int, int]]:
    """``[first, last)`` ranges that split ``total`` combinations into about
    ``slots * chunks_per_slot`` chunks of at least ``minimum`` (the last may be smaller)."""
    size = max(minimum, math.ceil(total / (slots * chunks_per_slot)))
    return [(first, min(first + size, total)) for first in range(0, total, size)]


def shippable(strategy: StrategySpec) -> StrategySpec:
    """``strategy``, its functions made picklable by value when their module cannot be
    imported on other nodes (a strategy file loaded from STRATEGIES_DIR)."""
    functions = [strategy.signals] + ([strategy.sweep.cpu] if strategy.sweep else [])
    for function in functions:
        module = sys.modules.get(function.__module__)
        if module is not None and function.__module__.startswith("extra_strategy_"):
            cloudpickle.register_pickle_by_value(module)
    return strategy


class _GpuWatch:
    """Says when the cluster has had too few GPUs for one chunk task for the grace period."""

    def __init__(self, settings: Settings) -> None:
        self._need = settings.optimize_task_gpus
        self._grace = settings.optimize_gpu_loss_grace_s
        self._missing_since: float | None = None

    def lost(self) -> bool:
        """True once GPUs have been missing for longer than the grace period."""
        if ray.cluster_resources().get("GPU", 0.0) >= self._need:
            self._missing_since = None
            return False
        now = time.monotonic()
        self._missing_since = self._missing_since or now
        return now - self._missing_since >= self._grace


def _abandon(future: asyncio.Future, ref: ray.ObjectRef) -> None:
    """Cancel a chunk task whose result is no longer wanted (its error is not read)."""
    future.add_done_callback(lambda f: f.cancelled() or f.exception())
    ray.cancel(ref)


@ray.remote(max_retries=CHUNK_RETRIES)
def sweep_chunk(bars: tuple[np.ndarray, ...], strategy: StrategySpec,
                combinations: list[dict], params: np.ndarray, segments: list[tuple[int, int]],
                device: str, threads: int, context: tuple | None = None) -> dict[str, Any]:
    """Metrics ``(segments, combinations, metrics)`` of one chunk, with where it ran;
    ``context``: the bars' session ends and base bars (None: none)."""
    if device == "cpu":
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    metrics = strategy.sweep_segments(bars, combinations, params, segments, device, context)
    return {
        "metrics": metrics, "device": device,
        "node_id": ray.get_runtime_context().get_node_id(),
        "cuda_simulator": device == "gpu" and os.environ.get("NUMBA_ENABLE_CUDASIM") == "1",
    }


async def sweep_on_cluster(
    job_id: str,
    bars: ray.ObjectRef,
    strategy: StrategySpec,
    combinations: Sequence[dict[str, Any]],
    params: np.ndarray,
    segments: list[tuple[int, int]],
    settings: Settings,
    on_progress: Callable[[int], Awaitable[None]],
    cancelled: Callable[[], Awaitable[bool]],
    context: ray.ObjectRef | None = None,
    pool: SlotPool | None = None,
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Run every chunk of ``combinations`` as a Ray task; return the stacked metrics
    ``(segments, combinations, metrics)`` and where each chunk ran (device, node). Calls
    ``on_progress(done)`` as chunks finish and cancels the running chunks (raising
    SweepCancelled) once ``cancelled()`` says so. ``context`` holds the bars' session ends and
    base bars (:func:`kernels.backtest.bar_context`) in the object store, or is None. A GPU
    job whose GPUs are gone for longer than ``optimize_gpu_loss_grace_s`` runs its unfinished
    chunks on CPUs. Sweeps of one job running at once share its ``pool`` of slots."""
    pool = pool or SlotPool(settings)
    bounds = chunk_bounds(len(combinations), pool.slots(), settings.optimize_chunks_per_slot)
    strategy = shippable(strategy)
    queue = deque(range(len(bounds)))
    running: dict[asyncio.Future, tuple[int, Placement, ray.ObjectRef]] = {}

    def submit(n: int, where: Placement) -> None:
        first, last = bounds[n]
        ref = sweep_chunk.options(name=f"optimize:{job_id}:chunk-{n}", **where.options).remote(
            bars, strategy, list(combinations[first:last]), params, segments, where.device,
            where.threads, context)
        running[asyncio.wrap_future(ref.future())] = (n, where, ref)
        pool.take(where)

    def fill() -> None:
        # Each slot takes the next chunk when it is free, so fast devices take more of them.
        while queue and (where := pool.free()) is not None:
            submit(queue.popleft(), where)

    results: list[dict[str, Any] | None] = [None] * len(bounds)
    done = 0
    gpu_watch = _GpuWatch(settings) if pool.placements[0].device == "gpu" else None
    fill()
    try:
        while running or queue:
            if not running:  # every slot is busy with the job's other sweeps: wait for one
                await asyncio.sleep(SLOT_WAIT_S)
                if await cancelled():
                    raise SweepCancelled(job_id)
                fill()
                continue
            finished, _ = await asyncio.wait(set(running), timeout=CANCEL_POLL_S,
                                             return_when=asyncio.FIRST_COMPLETED)
            for future in finished:
                n, where, _ = running.pop(future)
                pool.give(where)
                results[n] = future.result()
                done += bounds[n][1] - bounds[n][0]
            if finished:
                await on_progress(done)
            if running and await cancelled():
                raise SweepCancelled(job_id)
            if gpu_watch is not None and gpu_watch.lost():
                # The GPU nodes are gone (and the grace passed): the unfinished GPU chunks
                # would wait for a GPU forever, so they run on the CPUs instead (same numbers).
                lost = [(future, n, ref) for future, (n, where, ref) in running.items()
                        if where.device == "gpu"]
                log.warning("optimization %s: no GPU left; %d chunks move to CPUs", job_id,
                            len(lost) + len(queue))
                for future, n, ref in lost:
                    pool.give(running.pop(future)[1])
                    _abandon(future, ref)
                    queue.appendleft(n)
                pool.only_cpus(settings)
                gpu_watch = None
            fill()
    finally:
        for _, where, ref in running.values():
            pool.give(where)
            ray.cancel(ref)
    metrics = np.concatenate([r["metrics"] for r in results], axis=1)
    ran = [{key: r[key] for key in ("device", "node_id", "cuda_simulator")} for r in results]
    return metrics, ran


def devices_used(ran: list[dict[str, Any]]) -> str:
    """Where a sweep's chunks ran: "gpu", "cpu", or "gpu+cpu" when its GPUs went away mid-job."""
    return "+".join(sorted({chunk["device"] for chunk in ran}, key=("gpu", "cpu").index))
