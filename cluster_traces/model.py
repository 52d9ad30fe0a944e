"""The canonical trace model: clusters, workloads, 1-D bin-packing instances, scenarios.

Every other part of binforge speaks this model. Quantities carry their unit in their
name and in a type alias; arrays are numpy arrays indexed by node or by pod, so the
simulator and the heuristics can vectorise over them.

Units (fixed, never implied):

* CPU in millicores (``Millicores``; 1 core = 1000).
* Memory in mebibytes (``MiB``).
* GPUs as a whole count per node and per pod (``num_gpu``); GPU sharing as the share of
  *each* requested GPU in thousandths (``GpuMilli``; 1000 = a whole GPU). Every GPU of a
  node has capacity 1000.
* Time in seconds (``Seconds``) from the trace's own origin.
* Extended resources (any other countable resource) as integer counts per name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = [
    "GPU_MILLI_PER_GPU",
    "MAX_SIZE_DECIMALS",
    "BinPackingInstance",
    "Cluster",
    "FloatArray",
    "GpuMilli",
    "IntArray",
    "MiB",
    "Millicores",
    "NodeEvents",
    "Protocol",
    "Replay",
    "Scenario",
    "Seconds",
    "StrArray",
    "Workload",
    "whole_at_scale",
]

Millicores: TypeAlias = int
MiB: TypeAlias = int
GpuMilli: TypeAlias = int
Seconds: TypeAlias = float

IntArray: TypeAlias = npt.NDArray[np.int64]
FloatArray: TypeAlias = npt.NDArray[np.float64]
StrArray: TypeAlias = npt.NDArray[np.str_]

GPU_MILLI_PER_GPU: GpuMilli = 1000
"""Capacity of one GPU in thousandths: a pod with ``gpu_milli=500`` takes half a GPU."""

Protocol = Literal["saturate", "replay", "elastic"]


def _frozen_array(values: object, dtype: npt.DTypeLike) -> np.ndarray:
    array = np.array(values, dtype=dtype)
    array.setflags(write=False)
    return array


def _check_lengths(owner: str, expected: int, arrays: Mapping[str, np.ndarray]) -> None:
    for name, array in arrays.items():
        if array.ndim != 1 or len(array) != expected:
            raise ValueError(
                f"{owner}.{name}: expected a 1-D array of length {expected}, got shape {array.shape}"
            )


@dataclass(frozen=True)
class NodeEvents:
    """Nodes joining or leaving a cluster over time, sorted by time.

    ``node`` indexes ``Cluster.names``. A node whose first event is ``add`` at time t is
    absent before t; nodes with no event are present from time 0.
    """

    time_s: FloatArray
    node: IntArray
    kind: StrArray  # "add" or "remove"

    def __post_init__(self) -> None:
        object.__setattr__(self, "time_s", _frozen_array(self.time_s, np.float64))
        object.__setattr__(self, "node", _frozen_array(self.node, np.int64))
        object.__setattr__(self, "kind", _frozen_array(self.kind, np.str_))
        _check_lengths("NodeEvents", len(self.time_s), {"node": self.node, "kind": self.kind})
        bad = set(np.unique(self.kind)) - {"add", "remove"}
        if bad:
            raise ValueError(f"NodeEvents.kind: expected 'add' or 'remove', got {sorted(bad)}")
        if len(self.time_s) > 1 and np.any(np.diff(self.time_s) < 0):
            raise ValueError("NodeEvents.time_s: expected events sorted by time")

    def __len__(self) -> int:
        return len(self.time_s)

    @classmethod
    def empty(cls) -> NodeEvents:
        return cls(np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.str_))


@dataclass(frozen=True)
class Cluster:
    """A set of nodes with their capacity, indexed 0..n-1 in a fixed order.

    Attributes:
        names: node names, unique.
        cpu_milli: CPU capacity per node in millicores.
        memory_mib: memory capacity per node in MiB.
        gpu_count: whole GPUs per node (each of capacity ``GPU_MILLI_PER_GPU``).
        gpu_model: GPU model label per node ("" on nodes without GPUs).
        extended: other countable resources, name -> capacity per node.
        labels: per-node string labels, label key -> value per node ("" where unset).
        events: optional node additions and removals over time.
        source: where the cluster came from, for reports.
    """

    names: StrArray
    cpu_milli: IntArray
    memory_mib: IntArray
    gpu_count: IntArray
    gpu_model: StrArray
    extended: Mapping[str, IntArray] = field(default_factory=dict)
    labels: Mapping[str, StrArray] = field(default_factory=dict)
    events: NodeEvents = field(default_factory=NodeEvents.empty)
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", _frozen_array(self.names, np.str_))
        for name in ("cpu_milli", "memory_mib", "gpu_count"):
            object.__setattr__(self, name, _frozen_array(getattr(self, name), np.int64))
        object.__setattr__(self, "gpu_model", _frozen_array(self.gpu_model, np.str_))
        object.__setattr__(
            self, "extended", {k: _frozen_array(v, np.int64) for k, v in self.extended.items()}
        )
        object.__setattr__(
            self, "labels", {k: _frozen_array(v, np.str_) for k, v in self.labels.items()}
        )
        n = len(self.names)
        _check_lengths(
            "Cluster",
            n,
            {
                "cpu_milli": self.cpu_milli,
                "memory_mib": self.memory_mib,
                "gpu_count": self.gpu_count,
                "gpu_model": self.gpu_model,
                **{f"extended[{k}]": v for k, v in self.extended.items()},
                **{f"labels[{k}]": v for k, v in self.labels.items()},
            },
        )
        if len(np.unique(self.names)) != n:
            raise ValueError("Cluster.names: expected unique node names")
        for name in ("cpu_milli", "memory_mib", "gpu_count"):
            if n and int(getattr(self, name).min()) < 0:
                raise ValueError(f"Cluster.{name}: expected non-negative capacities")
        if len(self.events) and (self.events.node.max() >= n or self.events.node.min() < 0):
            raise ValueError("Cluster.events.node: index out of range")

    def __len__(self) -> int:
        return len(self.names)

    @property
    def gpu_models(self) -> tuple[str, ...]:
        """The distinct GPU model labels present, sorted (the empty label excluded)."""
        return tuple(sorted(m for m in np.unique(self.gpu_model).tolist() if m))

    def totals(self) -> dict[str, int]:
        """Cluster capacity per resource: cpu_milli, memory_mib, gpu (count), extended ones."""
        out = {
            "cpu_milli": int(self.cpu_milli.sum()),
            "memory_mib": int(self.memory_mib.sum()),
            "gpu": int(self.gpu_count.sum()),
        }
        out.update({k: int(v.sum()) for k, v in self.extended.items()})
        return out

    def take(self, index: npt.ArrayLike) -> Cluster:
        """The sub-cluster of the given node indices, in that order (events dropped)."""
        idx = np.asarray(index, dtype=np.int64)
        return Cluster(
            names=self.names[idx],
            cpu_milli=self.cpu_milli[idx],
            memory_mib=self.memory_mib[idx],
            gpu_count=self.gpu_count[idx],
            gpu_model=self.gpu_model[idx],
            extended={k: v[idx] for k, v in self.extended.items()},
            labels={k: v[idx] for k, v in self.labels.items()},
            source=self.source,
        )


@dataclass(frozen=True)
class Workload:
    """Pods in arrival order, with their requests.

    Attributes:
        names: pod identifiers (not necessarily unique across derived workloads).
        cpu_milli: CPU request per pod in millicores.
        memory_mib: memory request per pod in MiB.
        num_gpu: whole GPUs requested per pod (0 for CPU-only pods).
        gpu_milli: share of each requested GPU in thousandths (1..1000; 0 when num_gpu is 0).
        gpu_spec: allowed GPU models per pod, "|"-separated ("" means any model).
        qos: quality-of-service class label per pod ("" when unknown).
        priority: integer priority per pod (higher is more important; 0 by default).
        arrival_s: arrival (creation) time in seconds; NaN when the trace has no time.
        departure_s: departure time in seconds; NaN when the pod never leaves or it is unknown.
        extended: other countable resources requested, name -> request per pod.
        source: where the workload came from, for reports.
    """

    names: StrArray
    cpu_milli: IntArray
    memory_mib: IntArray
    num_gpu: IntArray
    gpu_milli: IntArray
    gpu_spec: StrArray
    qos: StrArray
    priority: IntArray
    arrival_s: FloatArray
    departure_s: FloatArray
    extended: Mapping[str, IntArray] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", _frozen_array(self.names, np.str_))
        for name in ("cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "priority"):
            object.__setattr__(self, name, _frozen_array(getattr(self, name), np.int64))
        for name in ("gpu_spec", "qos"):
            object.__setattr__(self, name, _frozen_array(getattr(self, name), np.str_))
        for name in ("arrival_s", "departure_s"):
            object.__setattr__(self, name, _frozen_array(getattr(self, name), np.float64))
        object.__setattr__(
            self, "extended", {k: _frozen_array(v, np.int64) for k, v in self.extended.items()}
        )
        n = len(self.names)
        _check_lengths(
            "Workload",
            n,
            {
                name: getattr(self, name)
                for name in (
                    "cpu_milli",
                    "memory_mib",
                    "num_gpu",
                    "gpu_milli",
                    "gpu_spec",
                    "qos",
                    "priority",
                    "arrival_s",
                    "departure_s",
                )
            }
            | {f"extended[{k}]": v for k, v in self.extended.items()},
        )
        if n == 0:
            return
        for name in ("cpu_milli", "memory_mib", "num_gpu"):
            if int(getattr(self, name).min()) < 0:
                raise ValueError(f"Workload.{name}: expected non-negative requests")
        gpu = self.num_gpu > 0
        if np.any(self.gpu_milli[gpu] < 1) or np.any(self.gpu_milli[gpu] > GPU_MILLI_PER_GPU):
            raise ValueError("Workload.gpu_milli: expected 1..1000 for pods that request GPUs")
        if np.any(self.gpu_milli[~gpu] != 0):
            raise ValueError("Workload.gpu_milli: expected 0 for pods without GPUs")
        if np.any((self.num_gpu > 1) & (self.gpu_milli != GPU_MILLI_PER_GPU)):
            raise ValueError("Workload.gpu_milli: multi-GPU pods must take whole GPUs (1000)")

    def __len__(self) -> int:
        return len(self.names)

    @property
    def has_times(self) -> bool:
        """True when every pod has an arrival time."""
        return len(self) > 0 and not bool(np.isnan(self.arrival_s).any())

    @property
    def gpu_milli_total(self) -> IntArray:
        """GPU demand per pod in thousandths of a GPU (num_gpu * gpu_milli)."""
        return self.num_gpu * self.gpu_milli

    def totals(self) -> dict[str, int]:
        """Total requests per resource (gpu counted in whole-GPU equivalents, rounded down)."""
        out = {
            "cpu_milli": int(self.cpu_milli.sum()),
            "memory_mib": int(self.memory_mib.sum()),
            "gpu": int(self.gpu_milli_total.sum() // GPU_MILLI_PER_GPU),
        }
        out.update({k: int(v.sum()) for k, v in self.extended.items()})
        return out

    def take(self, index: npt.ArrayLike) -> Workload:
        """The pods at the given indices, in that order (indices may repeat)."""
        idx = np.asarray(index, dtype=np.int64)
        return Workload(
            names=self.names[idx],
            cpu_milli=self.cpu_milli[idx],
            memory_mib=self.memory_mib[idx],
            num_gpu=self.num_gpu[idx],
            gpu_milli=self.gpu_milli[idx],
            gpu_spec=self.gpu_spec[idx],
            qos=self.qos[idx],
            priority=self.priority[idx],
            arrival_s=self.arrival_s[idx],
            departure_s=self.departure_s[idx],
            extended={k: v[idx] for k, v in self.extended.items()},
            source=self.source,
        )


MAX_SIZE_DECIMALS = 4
"""Most decimals of a bin-packing capacity or item size: the elastic protocol turns them
into integers by a power of ten of at most ``10**MAX_SIZE_DECIMALS``."""


def whole_at_scale(values: npt.ArrayLike, scale: int) -> npt.NDArray[np.bool_]:
    """True where ``values * scale`` is a whole number (to within 1e-6 of a unit of values)."""
    scaled = np.asarray(values, np.float64) * scale
    return np.asarray(np.abs(scaled - np.rint(scaled)) < 1e-6 * scale)


@dataclass(frozen=True)
class BinPackingInstance:
    """A 1-D online bin-packing instance: items arrive in order into bins of one capacity.

    Sizes are floats because OR-Library's triplet classes use one decimal; the integer
    classes hold whole numbers. ``best_known`` is the optimum or best-known bin count
    when the source gives one.
    """

    name: str
    capacity: float
    items: FloatArray
    best_known: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", _frozen_array(self.items, np.float64))
        if self.capacity <= 0:
            raise ValueError(f"BinPackingInstance {self.name}: capacity must be positive")
        if len(self.items) and (self.items.min() <= 0 or self.items.max() > self.capacity):
            raise ValueError(
                f"BinPackingInstance {self.name}: item sizes must lie in (0, capacity]"
            )

    @property
    def l1_bound(self) -> int:
        """FunSearch's lower bound: ceil(sum(items) / capacity)."""
        return int(np.ceil(self.items.sum() / self.capacity - 1e-9))


@dataclass(frozen=True)
class Replay:
    """How a scenario is replayed.

    Attributes:
        protocol: ``saturate`` (FGD: shuffled, resampled pods, never removed, up to
            ``target_percent`` of cluster capacity of ``target_resource``), ``replay``
            (trace time with departures) or ``elastic`` (a node of ``node_shape`` opens when
            nothing fits; for 1-D instances this is online bin packing).
        target_resource: resource used by ``saturate`` to stop inflating ("gpu", "cpu_milli", ...).
        target_percent: arrived workload at which ``saturate`` stops, in % of capacity.
        seed: seed for every random choice in the replay.
    """

    protocol: Protocol = "saturate"
    target_resource: str = "gpu"
    target_percent: float = 130.0
    seed: int = 0


@dataclass(frozen=True)
class Scenario:
    """A cluster, a workload and how to replay them; or a set of 1-D bin-packing instances."""

    name: str
    cluster: Cluster | None
    workload: Workload | None
    replay: Replay = field(default_factory=Replay)
    instances: tuple[BinPackingInstance, ...] = ()

    def __post_init__(self) -> None:
        if self.instances and (self.cluster is not None or self.workload is not None):
            raise ValueError(f"Scenario {self.name}: either bin-packing instances or a cluster")
        if not self.instances and (self.cluster is None or self.workload is None):
            raise ValueError(f"Scenario {self.name}: needs a cluster and a workload")
