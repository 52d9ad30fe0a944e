"""Scenario derivations, deterministic by seed: time window, subsample, scale, shuffle, inflate,
time compression (and node subsets, for clusters).

Each derivation is a small frozen value with ``apply(workload, cluster, seed) -> Workload``,
so a scenario can carry the list of derivations that produced it; the functions below are
the same operations for direct use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cluster_traces.model import GPU_MILLI_PER_GPU, Cluster, IntArray, Seconds, Workload

__all__ = [
    "CompressTime",
    "Derivation",
    "Inflate",
    "Scale",
    "Shuffle",
    "Subsample",
    "TimeWindow",
    "apply_all",
    "compress_time",
    "demand",
    "inflate",
    "node_order",
    "scale_requests",
    "shuffle",
    "subsample",
    "subsample_nodes",
    "time_split",
    "time_window",
]

_RESOURCES = ("gpu", "cpu_milli", "memory_mib")


def demand(workload: Workload, resource: str) -> np.ndarray:
    """Per-pod request of ``resource`` in the unit of ``Cluster.totals()[resource]``.

    GPU demand is in (fractional) GPUs. Raises ValueError for an unknown resource.
    """
    if resource == "gpu":
        return workload.gpu_milli_total / GPU_MILLI_PER_GPU
    if resource in ("cpu_milli", "memory_mib"):
        return getattr(workload, resource).astype(np.float64)
    if resource in workload.extended:
        return workload.extended[resource].astype(np.float64)
    raise ValueError(f"unknown resource {resource!r}; expected one of {_RESOURCES} or extended")


def time_window(workload: Workload, start_s: Seconds, end_s: Seconds) -> Workload:
    """Pods arriving in [start_s, end_s); pods without arrival time are dropped."""
    if end_s <= start_s:
        raise ValueError(f"time_window: expected start_s < end_s, got {start_s}, {end_s}")
    arrival = workload.arrival_s
    return workload.take(np.flatnonzero((arrival >= start_s) & (arrival < end_s)))


def subsample(workload: Workload, fraction: float, seed: int = 0) -> Workload:
    """A random ``fraction`` of the pods without replacement, keeping their order."""
    if not 0 < fraction <= 1:
        raise ValueError(f"subsample: expected 0 < fraction <= 1, got {fraction}")
    count = round(len(workload) * fraction)
    rng = np.random.default_rng(seed)
    return workload.take(np.sort(rng.choice(len(workload), size=count, replace=False)))


def scale_requests(
    workload: Workload, factor: float, resources: Sequence[str] = ("cpu_milli", "memory_mib")
) -> Workload:
    """Requests of ``resources`` (cpu_milli, memory_mib) multiplied by ``factor``, rounded."""
    if factor <= 0:
        raise ValueError(f"scale_requests: expected a positive factor, got {factor}")
    unknown = set(resources) - {"cpu_milli", "memory_mib"}
    if unknown:
        raise ValueError(f"scale_requests: can scale cpu_milli, memory_mib; got {sorted(unknown)}")
    scaled = {
        name: np.rint(getattr(workload, name) * factor).astype(np.int64) for name in resources
    }
    fields = {name: getattr(workload, name) for name in _WORKLOAD_FIELDS}
    return Workload(**(fields | scaled))


def compress_time(workload: Workload, factor: float) -> Workload:
    """Arrivals ``factor`` times closer together, lifetimes unchanged.

    Arrival ``a`` becomes ``first + (a - first) / factor`` (``first``: the earliest
    arrival) and departure ``d`` becomes the new arrival plus ``d - a``, so the same pods
    overlap ``factor`` times more (a NaN departure stays NaN). Raises ValueError for a
    factor below 1 or a workload without arrival times.
    """
    if factor < 1:
        raise ValueError(f"compress_time: expected a factor >= 1, got {factor}")
    if not workload.has_times:
        raise ValueError("compress_time: expected an arrival time on every pod")
    first = float(workload.arrival_s.min())
    arrival = first + (workload.arrival_s - first) / factor
    departure = arrival + (workload.departure_s - workload.arrival_s)
    fields = {name: getattr(workload, name) for name in _WORKLOAD_FIELDS}
    return Workload(**(fields | {"arrival_s": arrival, "departure_s": departure}))


def node_order(nodes: int, seed: int = 0) -> IntArray:
    """The seeded permutation of ``nodes`` node indices whose prefixes
    :func:`subsample_nodes` keeps (callers that size a subset walk it in this order)."""
    return np.random.default_rng(seed).permutation(nodes)


def subsample_nodes(cluster: Cluster, count: int, seed: int = 0) -> Cluster:
    """``count`` nodes of ``cluster`` chosen at random without replacement, in their order.

    The choice is a prefix of :func:`node_order`, so a larger count keeps the nodes of a
    smaller one. Node events are dropped (see ``Cluster.take``). Raises ValueError for a
    count outside 1..len(cluster).
    """
    if not 1 <= count <= len(cluster):
        raise ValueError(f"subsample_nodes: expected 1 <= count <= {len(cluster)}, got {count}")
    return cluster.take(np.sort(node_order(len(cluster), seed)[:count]))


def shuffle(workload: Workload, seed: int = 0) -> Workload:
    """The pods in a random order (arrival times travel with their pods)."""
    return workload.take(np.random.default_rng(seed).permutation(len(workload)))


def inflate(
    workload: Workload,
    cluster: Cluster,
    resource: str = "gpu",
    percent: float = 130.0,
    seed: int = 0,
) -> Workload:
    """FGD inflation: resample pods with replacement until ``resource`` requests reach
    ``percent`` of the cluster's capacity of it.

    The pod that crosses the target is the last one. Names get a ``#k`` suffix (k = position)
    so they stay unique. Raises ValueError when no pod requests the resource.
    """
    pod_demand = demand(workload, resource)
    if len(workload) == 0 or pod_demand.sum() <= 0:
        raise ValueError(f"inflate: no pod requests {resource!r}")
    target = cluster.totals()[resource] * percent / 100
    rng = np.random.default_rng(seed)
    mean = pod_demand.mean()
    picks: list[np.ndarray] = []
    total = 0.0
    while total < target:
        chunk = rng.integers(0, len(workload), size=max(64, int((target - total) / mean * 1.1)))
        running = total + np.cumsum(pod_demand[chunk])
        crossed = np.flatnonzero(running >= target)
        if len(crossed):
            chunk = chunk[: crossed[0] + 1]
        picks.append(chunk)
        total = float(running[len(chunk) - 1])
    index = np.concatenate(picks)
    inflated = workload.take(index)
    names = np.char.add(np.char.add(inflated.names, "#"), np.arange(len(index)).astype(str))
    fields = {name: getattr(inflated, name) for name in _WORKLOAD_FIELDS}
    return Workload(**(fields | {"names": names}))


_WORKLOAD_FIELDS = (
    "names", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "gpu_spec", "qos", "priority",
    "arrival_s", "departure_s", "extended", "source",
)  # fmt: skip


@dataclass(frozen=True)
class TimeWindow:
    """Keep pods arriving in [start_s, end_s)."""

    start_s: Seconds
    end_s: Seconds

    def apply(self, workload: Workload, cluster: Cluster, seed: int) -> Workload:
        return time_window(workload, self.start_s, self.end_s)


@dataclass(frozen=True)
class Subsample:
    """Keep a random fraction of the pods."""

    fraction: float

    def apply(self, workload: Workload, cluster: Cluster, seed: int) -> Workload:
        return subsample(workload, self.fraction, seed)


@dataclass(frozen=True)
class Scale:
    """Multiply CPU and memory requests by a factor."""

    factor: float

    def apply(self, workload: Workload, cluster: Cluster, seed: int) -> Workload:
        return scale_requests(workload, self.factor)


@dataclass(frozen=True)
class CompressTime:
    """Bring arrivals ``factor`` times closer together; lifetimes unchanged."""

    factor: float

    def apply(self, workload: Workload, cluster: Cluster, seed: int) -> Workload:
        return compress_time(workload, self.factor)


@dataclass(frozen=True)
class Shuffle:
    """Randomise the pod order."""

    def apply(self, workload: Workload, cluster: Cluster, seed: int) -> Workload:
        return shuffle(workload, seed)


@dataclass(frozen=True)
class Inflate:
    """FGD inflation of one resource to a percentage of cluster capacity."""

    resource: str = "gpu"
    percent: float = 130.0

    def apply(self, workload: Workload, cluster: Cluster, seed: int) -> Workload:
        return inflate(workload, cluster, self.resource, self.percent, seed)


Derivation = TimeWindow | Subsample | Scale | Shuffle | Inflate | CompressTime


def apply_all(
    workload: Workload, cluster: Cluster, derivations: Sequence[Derivation], seed: int
) -> Workload:
    """Apply derivations in order; the k-th gets seed ``seed + k`` so steps stay independent."""
    for step, derivation in enumerate(derivations):
        workload = derivation.apply(workload, cluster, seed + step)
    return workload


def time_split(workload: Workload, train_fraction: float) -> tuple[TimeWindow, TimeWindow]:
    """Train and validation windows splitting the pods' arrival span at ``train_fraction``.

    The train window is [first arrival, split), the validation window [split, last
    arrival], so every timed pod falls in exactly one. Raises ValueError for a fraction
    outside (0, 1) or a workload without arrival times.
    """
    if not 0 < train_fraction < 1:
        raise ValueError(f"time_split: expected 0 < train_fraction < 1, got {train_fraction}")
    arrival = workload.arrival_s[~np.isnan(workload.arrival_s)]
    if not len(arrival):
        raise ValueError("time_split: the workload has no arrival times")
    first, last = float(arrival.min()), float(arrival.max())
    split = first + (last - first) * train_fraction
    if split <= first:  # every pod arrived at one instant: all of them train
        split = float(np.nextafter(first, np.inf))
    end = float(np.nextafter(max(last, split), np.inf))
    return TimeWindow(first, split), TimeWindow(split, end)
