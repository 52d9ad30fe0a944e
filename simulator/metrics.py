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
from heuristics.contract import Context, NodeState
from heuristics.fragmentation import node_fragmentation

__all__ = [
    "RESOURCES",
    "allocated",
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


def delay_percentiles(delays_s: Sequence[float] | np.ndarray) -> dict[str, float]:
    """Queueing delay percentiles (p50, p90, p99) in seconds; empty input gives {}."""
    values = np.asarray(delays_s, dtype=np.float64)
    if len(values) == 0:
        return {}
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return {"queue_delay_p50_s": p50, "queue_delay_p90_s": p90, "queue_delay_p99_s": p99}
