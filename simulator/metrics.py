"""Cluster metrics from a node state: allocation, stranded capacity, queueing delay.

Usable outside the simulator (the extender computes the same figures from its watch
cache). Stranded capacity is FGD's fragmentation generalised to every resource, computed
by :func:`heuristics.fragmentation.node_fragmentation` (one place for the idea): the free
capacity of a node that a pod drawn from the reference workload could not use, weighted
by the shapes' probabilities. Only active nodes count, in every figure.

Resources are named ``gpu`` (capacity and amounts in thousandths of a GPU), ``cpu``
(millicores) and ``memory`` (MiB).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from cluster_traces.model import GPU_MILLI_PER_GPU
from heuristics.contract import Context, NodeState, Pod
from heuristics.fragmentation import node_fragmentation

__all__ = [
    "RESOURCES",
    "allocated",
    "behind_fragments",
    "capacity",
    "delay_percentiles",
    "mean_allocation_percent",
    "snapshot",
    "stranded",
    "stranded_share",
]

RESOURCES = ("gpu", "cpu", "memory")
"""Resource names of the metrics, in report order."""

_FRAGMENT_KEYS = {"gpu": "gpu_milli", "cpu": "cpu_milli", "memory": "memory_mib"}


def capacity(state: NodeState) -> dict[str, int]:
    """Capacity of the active nodes: gpu (thousandths), cpu (millicores), memory (MiB)."""
    active = state.active
    return {
        "gpu": int(state.gpu_total[active].sum()) * GPU_MILLI_PER_GPU,
        "cpu": int(state.cpu_total[active].sum()),
        "memory": int(state.memory_total[active].sum()),
    }


def allocated(state: NodeState) -> dict[str, int]:
    """Capacity in use on the active nodes, per resource, in the units of :func:`capacity`."""
    active = state.active
    total = capacity(state)
    return {
        "gpu": total["gpu"] - int(state.gpu_free_milli[active].sum()),
        "cpu": total["cpu"] - int(state.cpu_free[active].sum()),
        "memory": total["memory"] - int(state.memory_free[active].sum()),
    }


def stranded(state: NodeState, ctx: Context) -> dict[str, float]:
    """Expected stranded free capacity of the active nodes, per resource (absolute units)."""
    per_node = node_fragmentation(state, ctx)
    return {name: float(per_node[key].sum()) for name, key in _FRAGMENT_KEYS.items()}


def stranded_share(state: NodeState, ctx: Context) -> dict[str, float]:
    """Stranded capacity as a share (0..1) of the active nodes' capacity, per resource.

    A resource the cluster does not have (capacity 0) has share 0.
    """
    total = capacity(state)
    amounts = stranded(state, ctx)
    return {r: amounts[r] / total[r] if total[r] else 0.0 for r in RESOURCES}


def snapshot(state: NodeState, ctx: Context) -> dict[str, float]:
    """Allocation (%) and stranded share per resource, keyed as the simulator's metrics.

    Keys: ``gpu_alloc_percent``, ``cpu_alloc_percent``, ``memory_alloc_percent``,
    ``alloc_mean_percent``, ``unallocated_gpu_share``, ``stranded_gpu_share``,
    ``stranded_cpu_share``, ``stranded_memory_share``.
    """
    total = capacity(state)
    used = allocated(state)
    out = {f"{r}_alloc_percent": 100.0 * used[r] / total[r] if total[r] else 0.0 for r in RESOURCES}
    out["alloc_mean_percent"] = mean_allocation_percent(out, total)
    out["unallocated_gpu_share"] = 1.0 - out["gpu_alloc_percent"] / 100.0 if total["gpu"] else 0.0
    out.update({f"stranded_{r}_share": v for r, v in stranded_share(state, ctx).items()})
    return out


def mean_allocation_percent(alloc_percent: Mapping[str, float], total: Mapping[str, int]) -> float:
    """The multi-resource objective: mean allocation (%) over the resources the cluster has.

    ``alloc_percent`` holds ``<resource>_alloc_percent`` keys, ``total`` the capacities of
    :func:`capacity`. A resource with no capacity (GPU on a CPU-only cluster) is left out,
    so a CPU-only cluster's figure is the mean of CPU and memory; none at all gives 0.
    Each resource weighs the same: a policy that strands memory behind full CPUs (or
    GPUs behind exhausted memory) loses as much as one that strands the scarce resource.
    """
    present = [r for r in RESOURCES if total[r]]
    if not present:
        return 0.0
    return sum(alloc_percent[f"{r}_alloc_percent"] for r in present) / len(present)


def behind_fragments(state: NodeState, pods: Sequence[Pod]) -> int:
    """How many of ``pods`` wait behind fragmented GPUs: no active node can host the pod,
    yet some active node has its CPU, memory and GPU share in total, split over GPUs that
    each have too little of it (two GPUs with half a GPU free each, for a 1-GPU pod).

    These are the pending pods that stranded GPU share keeps waiting. CPU-only pods never
    count: a node's CPU and memory do not split. GPU model and extended-resource requests
    restrict the nodes counted, as in :func:`heuristics.feasibility.fits`.
    """
    wanting = [pod for pod in pods if pod.num_gpu > 0]
    nodes = np.flatnonzero(state.active)
    if not wanting or len(nodes) == 0:
        return 0
    cpu = np.array([pod.cpu_milli for pod in wanting])
    memory = np.array([pod.memory_mib for pod in wanting])
    count = np.array([pod.num_gpu for pod in wanting])
    share = np.array([max(pod.gpu_milli, 1) for pod in wanting])  # as fits: a GPU must exist
    host = (state.cpu_free[nodes, None] >= cpu) & (state.memory_free[nodes, None] >= memory)
    for j, pod in enumerate(wanting):  # the rarer constraints, pod by pod
        if pod.gpu_models:
            host[:, j] &= np.isin(state.gpu_model_code[nodes], state.model_codes(pod.gpu_models))
        for name, amount in pod.extended.items():
            if amount > 0:
                free = state.extended_free.get(name)
                host[:, j] &= (free[nodes] >= amount) if free is not None else False
    in_total = host & (state.gpu_free[nodes, None] >= count * share)
    fitting = (state.gpu_free_milli[nodes][:, :, None] >= share).sum(axis=1)
    in_shape = host & (fitting >= count)
    return int((in_total.any(axis=0) & ~in_shape.any(axis=0)).sum())


def delay_percentiles(delays_s: Sequence[float] | np.ndarray) -> dict[str, float]:
    """Queueing delay percentiles (p50, p90, p99) in seconds; empty input gives {}."""
    values = np.asarray(delays_s, dtype=np.float64)
    if len(values) == 0:
        return {}
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return {"queue_delay_p50_s": p50, "queue_delay_p90_s": p90, "queue_delay_p99_s": p99}
