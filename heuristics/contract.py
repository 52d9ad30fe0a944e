"""The heuristic contract shared by the simulator, the evolution engine and the extender.

A heuristic is a pure function ``score(pod, nodes, ctx) -> scores``:

* ``pod`` (:class:`Pod`): the requests of the pod being placed.
* ``nodes`` (:class:`NodeView`): only the nodes that can host the pod (feasibility is
  decided by :mod:`heuristics.feasibility`, never by the heuristic), as numpy arrays over
  those nodes, in ascending cluster order.
* ``ctx`` (:class:`Context`): read-only facts about the cluster and the reference
  workload (the most frequent pod shapes with their probabilities, as FGD uses).

It returns one finite float per node of ``nodes``. :func:`choose` picks the node with the
highest score; **ties go to the lowest cluster index** (the first maximum, as FunSearch's
``np.argmax``). A wrong shape, a non-finite score or an exception is a heuristic error
(:class:`HeuristicError`), never a silent choice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeAlias

import numpy as np

from cluster_traces.model import GPU_MILLI_PER_GPU, Cluster, FloatArray, IntArray, StrArray

__all__ = [
    "Context",
    "Heuristic",
    "HeuristicError",
    "NodeState",
    "NodeView",
    "Pod",
    "choose",
    "describe_failure",
]


class HeuristicError(RuntimeError):
    """A heuristic raised, returned the wrong shape, or returned non-finite scores."""


def describe_failure(exc: BaseException, heuristic: object) -> str:
    """What went wrong in a call of ``heuristic``: the contract's own message for a
    :class:`HeuristicError`, else the exception and the line of the heuristic's source
    that raised it (its deepest frame in the traceback), when the heuristic is a Python
    function."""
    if isinstance(exc, HeuristicError):
        return str(exc)
    text = f"raised {type(exc).__name__}: {exc}"
    filename = getattr(getattr(heuristic, "__code__", None), "co_filename", None)
    line = None
    frame = exc.__traceback__
    while frame is not None:
        if frame.tb_frame.f_code.co_filename == filename:
            line = frame.tb_lineno
        frame = frame.tb_next
    return text if line is None else f"{text} (line {line} of {filename})"


@dataclass(frozen=True, slots=True)
class Pod:
    """What the pod being placed requests.

    Attributes:
        cpu_milli: CPU request in millicores.
        memory_mib: memory request in MiB.
        num_gpu: whole GPUs requested (0 for CPU-only pods).
        gpu_milli: share of each requested GPU in thousandths (0 when ``num_gpu`` is 0).
        gpu_models: allowed GPU models; empty means any model.
        priority: scheduling priority (higher is more important).
        extended: other resources requested, name -> count.
    """

    cpu_milli: int
    memory_mib: int
    num_gpu: int = 0
    gpu_milli: int = 0
    gpu_models: frozenset[str] = frozenset()
    priority: int = 0
    extended: Mapping[str, int] = field(default_factory=dict)

    @property
    def gpu_milli_total(self) -> int:
        """GPU demand in thousandths of a GPU: ``num_gpu * gpu_milli``."""
        return self.num_gpu * self.gpu_milli


class NodeState:
    """Capacity and free capacity of every node of a cluster, as mutable numpy arrays.

    The simulator keeps one and updates it as pods come and go; the extender rebuilds one
    from its watch cache. GPUs of a node occupy slots ``0..gpu_total-1`` of
    ``gpu_free_milli``; the remaining slots of a row are 0 and never used.
    """

    def __init__(self, cluster: Cluster) -> None:
        n = len(cluster)
        self.names: StrArray = cluster.names
        self.cpu_total: IntArray = cluster.cpu_milli.copy()
        self.memory_total: IntArray = cluster.memory_mib.copy()
        self.gpu_total: IntArray = cluster.gpu_count.copy()
        self.models: tuple[str, ...] = cluster.gpu_models
        codes = {m: i for i, m in enumerate(self.models)}
        self.gpu_model_code: IntArray = np.array(
            [codes.get(m, -1) for m in cluster.gpu_model.tolist()], dtype=np.int64
        )
        width = max(1, int(cluster.gpu_count.max()) if n else 1)
        slots = np.arange(width)[None, :] < self.gpu_total[:, None]
        self.gpu_free_milli: IntArray = np.where(slots, GPU_MILLI_PER_GPU, 0).astype(np.int64)
        self.gpu_slot_exists: np.ndarray = slots
        # Per-node sum of gpu_free_milli, kept in step by heuristics.feasibility's allocate
        # and release: summing the (nodes x GPUs) matrix per decision would dominate the
        # decision's cost. Code that writes gpu_free_milli directly calls sync_gpu_free().
        self.gpu_free: IntArray = self.gpu_free_milli.sum(axis=1)
        self.cpu_free: IntArray = self.cpu_total.copy()
        self.memory_free: IntArray = self.memory_total.copy()
        self.pods: IntArray = np.zeros(n, dtype=np.int64)
        # kube-scheduler's "non-zero requested": placed pods' requests with a zero request
        # counted as its scoring default (maintained by heuristics.feasibility.allocate).
        self.nonzero_cpu_milli: IntArray = np.zeros(n, dtype=np.int64)
        self.nonzero_memory_mib: IntArray = np.zeros(n, dtype=np.int64)
        self.extended_total: dict[str, IntArray] = {
            k: v.copy() for k, v in cluster.extended.items()
        }
        self.extended_free: dict[str, IntArray] = {k: v.copy() for k, v in cluster.extended.items()}
        self.active: np.ndarray = np.ones(n, dtype=bool)
        self.labels: Mapping[str, StrArray] = cluster.labels

    def __len__(self) -> int:
        return len(self.names)

    def sync_gpu_free(self) -> None:
        """Recompute ``gpu_free`` after ``gpu_free_milli`` was written directly."""
        self.gpu_free[:] = self.gpu_free_milli.sum(axis=1)

    def model_codes(self, models: frozenset[str]) -> IntArray:
        """Codes of the given GPU models on this cluster (unknown models are dropped)."""
        return np.array(
            sorted(self.models.index(m) for m in models if m in self.models), dtype=np.int64
        )


class NodeView:
    """The candidate nodes for one decision: arrays over ``index`` (ascending cluster order).

    Every attribute is computed on first use and cached, so a heuristic pays only for what
    it reads. Units: CPU in millicores, memory in MiB, GPU shares in thousandths.
    """

    def __init__(self, state: NodeState, index: IntArray) -> None:
        self._state = state
        self.index: IntArray = index

    def __len__(self) -> int:
        return len(self.index)

    @cached_property
    def cpu_free(self) -> IntArray:
        return self._state.cpu_free[self.index]

    @cached_property
    def cpu_total(self) -> IntArray:
        return self._state.cpu_total[self.index]

    @cached_property
    def memory_free(self) -> IntArray:
        return self._state.memory_free[self.index]

    @cached_property
    def memory_total(self) -> IntArray:
        return self._state.memory_total[self.index]

    @cached_property
    def gpu_total(self) -> IntArray:
        """Whole GPUs per node."""
        return self._state.gpu_total[self.index]

    @cached_property
    def gpu_free_milli(self) -> IntArray:
        """Free share of each GPU slot, shape (nodes, max GPUs per node); absent slots are 0."""
        return self._state.gpu_free_milli[self.index]

    @cached_property
    def gpu_free(self) -> IntArray:
        """Free GPU capacity per node in thousandths (sum over its GPUs)."""
        return self._state.gpu_free[self.index]

    @cached_property
    def gpu_idle(self) -> IntArray:
        """Fully idle GPUs per node."""
        return (self.gpu_free_milli == GPU_MILLI_PER_GPU).sum(axis=1)

    @cached_property
    def gpu_model(self) -> IntArray:
        """GPU model code per node (index into ``Context.gpu_models``; -1 without GPUs)."""
        return self._state.gpu_model_code[self.index]

    @cached_property
    def pods(self) -> IntArray:
        """Pods already placed on each node."""
        return self._state.pods[self.index]

    @cached_property
    def nonzero_cpu_milli(self) -> IntArray:
        """CPU requested by placed pods, a zero request counted as 100 millicores."""
        return self._state.nonzero_cpu_milli[self.index]

    @cached_property
    def nonzero_memory_mib(self) -> IntArray:
        """Memory requested by placed pods, a zero request counted as 200 MiB."""
        return self._state.nonzero_memory_mib[self.index]

    def extended_free(self, name: str) -> IntArray:
        return self._state.extended_free[name][self.index]

    def extended_total(self, name: str) -> IntArray:
        return self._state.extended_total[name][self.index]


@dataclass(frozen=True)
class Context:
    """Read-only facts a heuristic may use besides the pod and the nodes.

    Attributes:
        shape_cpu_milli, shape_memory_mib, shape_num_gpu, shape_gpu_milli: the reference
            workload's most frequent pod shapes (FGD's "target workload").
        shape_probability: the probability of each shape (sums to 1).
        gpu_models: GPU model labels; ``NodeView.gpu_model`` indexes this tuple.
        cluster_cpu_milli, cluster_memory_mib, cluster_gpu: cluster capacity totals.
        max_node_cpu_milli, max_node_memory_mib, max_node_gpu: the largest node's
            capacity per resource (0 when unknown), for normalising scores.
    """

    shape_cpu_milli: IntArray
    shape_memory_mib: IntArray
    shape_num_gpu: IntArray
    shape_gpu_milli: IntArray
    shape_probability: FloatArray
    gpu_models: tuple[str, ...] = ()
    cluster_cpu_milli: int = 0
    cluster_memory_mib: int = 0
    cluster_gpu: int = 0
    max_node_cpu_milli: int = 0
    max_node_memory_mib: int = 0
    max_node_gpu: int = 0


Heuristic: TypeAlias = Callable[[Pod, NodeView, Context], FloatArray]
"""``score(pod, nodes, ctx) -> one float per node of nodes``; the highest wins."""


def choose(scores: object, nodes: NodeView) -> int:
    """The cluster index of the winning node: highest score, ties to the lowest index.

    Raises:
        HeuristicError: when ``scores`` is not a 1-D array of ``len(nodes)`` finite floats.
    """
    try:
        array = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise HeuristicError(f"scores: expected numbers, got {type(scores).__name__}") from exc
    if array.ndim == 0 and len(nodes) == 1:
        array = array.reshape(1)
    if array.shape != (len(nodes),):
        raise HeuristicError(f"scores: expected shape ({len(nodes)},), got {array.shape}")
    # Hot path: a finite sum proves every score finite; only when the sum is not finite
    # (a NaN, an infinity, or an overflow of large finite scores) look at each score.
    if not np.isfinite(array.sum()) and not np.isfinite(array).all():
        raise HeuristicError("scores: expected finite numbers, got NaN or infinity")
    return int(nodes.index[int(array.argmax())])
