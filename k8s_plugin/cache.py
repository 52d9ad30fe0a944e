"""The extender's picture of the cluster: nodes, the pods bound to them, assumed decisions.

Kubernetes sends an extender Node objects (allocatable capacity) but not what is already
requested on them, so :class:`ClusterCache` keeps every node and every non-terminated pod
from a list-watch (:class:`Watcher`) and turns them into the simulator's
:class:`~heuristics.contract.NodeState` on demand (:meth:`ClusterCache.snapshot`), booking
each pod with :func:`heuristics.feasibility.allocate`, the simulator's own rule.

A decision is assumed (:meth:`ClusterCache.assume`) until the watch shows the pod bound
or ``assumed_pod_ttl_s`` passes, so a burst of pods is not placed against stale state.
The shapes of observed pods are counted to learn the reference workload.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from cluster_traces.model import Cluster, Workload
from heuristics.contract import Context, NodeState, Pod
from heuristics.feasibility import (
    Allocation,
    PlacementError,
    allocate,
    overcommit,
    release,
)
from heuristics.fragmentation import make_context
from k8s_plugin.config import ExtenderConfig
from k8s_plugin.resources import (
    NodeCapacity,
    ResourceError,
    node_capacity,
    pod_requests,
)

__all__ = ["MAX_GPUS_PER_NODE", "ClusterCache", "Shape", "Snapshot", "build_snapshot", "pod_key"]

log = logging.getLogger("binforge.extender.cache")

Shape = tuple[int, int, int, int]
"""A pod shape: (cpu_milli, memory_mib, num_gpu, gpu_milli)."""

MAX_GPUS_PER_NODE = 56
"""Nodes that advertise more GPUs are left out of the node state (not given to the
heuristic): it holds a (nodes x most GPUs of any node) matrix, so one node claiming
50,000 GPUs cost every request 15 s and 4 GB. 56 is 8 GPUs split by MIG into 7 instances
each, the most a node advertises in practice (the public traces top out at 8)."""

_TERMINATED = ("Succeeded", "Failed")
_CTX_REFRESH_S = 5.0
"""The reference shapes are relearned at most this often (they drift slowly)."""
_CTX_DRIFT = 0.01
"""A relearned context replaces the current one only when a reference shape appeared or
went, or a shape's probability moved by more than this: each new context starts the
fragmentation memo afresh (a cold pass over every node), and with pods coming and going
the probabilities change a little at every refresh."""


@dataclass(frozen=True)
class _PodRecord:
    key: str
    node: str
    fit: Pod


@dataclass(frozen=True)
class _Assumed:
    node: str
    fit: Pod
    expires_at: float


@dataclass(frozen=True)
class Snapshot:
    """An immutable-by-convention view of the cluster for one decision.

    Attributes:
        state: free and total capacity per node (sorted by name), pods and assumptions booked.
        index_of: node name -> index into ``state``.
        pools: node-pool label per node ("" where unset).
        ctx: the heuristic context, with the reference shapes learned from observed pods.
        left_out: nodes not in ``state`` because binforge does not model them, name ->
            why (more GPUs than :data:`MAX_GPUS_PER_NODE`).
    """

    state: NodeState
    index_of: Mapping[str, int]
    pools: np.ndarray
    ctx: Context
    left_out: Mapping[str, str] = field(default_factory=dict)


def pod_key(pod: Mapping[str, Any]) -> str:
    """``namespace/name`` of a Pod object ("" when it has no name)."""
    metadata = pod.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        return ""
    return f"{metadata.get('namespace') or 'default'}/{metadata.get('name') or ''}"


class ClusterCache:
    """Thread-safe store of nodes, bound pods and assumed decisions.

    Watch threads call :meth:`apply_node` / :meth:`apply_pod` / :meth:`replace`; request
    handlers read the cluster inside :meth:`frozen` and record decisions with
    :meth:`assume`. The node state is kept up to date incrementally (each pod booked or
    released with the simulator's :func:`~heuristics.feasibility.allocate` and
    :func:`~heuristics.feasibility.release`); it is rebuilt from scratch only when a
    node's capacity changes or after a relist.
    """

    def __init__(self, config: ExtenderConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self._config = config
        self._clock = clock
        self._lock = threading.RLock()
        self._nodes: dict[str, NodeCapacity] = {}
        self._pods: dict[str, _PodRecord] = {}
        self._assumed: dict[str, _Assumed] = {}
        self._shapes: Counter[Shape] = Counter()
        self._shape_of: dict[str, Shape] = {}
        self._snapshot: Snapshot | None = None
        self._held: dict[str, Allocation | None] = {}
        self._ctx_stale = True
        self._ctx_at = -math.inf
        self._synced: set[str] = set()
        self.rejected_objects = 0
        self.rebuilds = 0

    # -- watch side -------------------------------------------------------------------

    def replace(self, kind: str, items: Iterable[Mapping[str, Any]]) -> None:
        """Replace every object of ``kind`` ("nodes" or "pods") after a list; marks it synced."""
        with self._lock:
            if kind == "nodes":
                self._nodes.clear()
            else:
                self._pods.clear()
                self._shapes.clear()
                self._shape_of.clear()
            self._snapshot = None
            for item in items:
                self._apply_locked(kind, "ADDED", item)
            self._synced.add(kind)

    def apply_node(self, event: str, node: Mapping[str, Any]) -> None:
        """Apply one watch event (ADDED, MODIFIED, DELETED) for a Node object."""
        with self._lock:
            self._apply_locked("nodes", event, node)

    def apply_pod(self, event: str, pod: Mapping[str, Any]) -> None:
        """Apply one watch event (ADDED, MODIFIED, DELETED) for a Pod object."""
        with self._lock:
            self._apply_locked("pods", event, pod)

    def _apply_locked(self, kind: str, event: str, obj: Mapping[str, Any]) -> None:
        try:
            if kind == "nodes":
                self._apply_node(event, obj)
            else:
                self._apply_pod(event, obj)
        except ResourceError as exc:
            self.rejected_objects += 1
            log.warning("ignore %s object: %s", kind[:-1], exc)

    def _apply_node(self, event: str, obj: Mapping[str, Any]) -> None:
        capacity = node_capacity(obj, self._config)
        if event == "DELETED":
            if self._nodes.pop(capacity.name, None) is not None:
                self._snapshot = None
        elif self._nodes.get(capacity.name) != capacity:
            # Status heartbeats do not change capacity: only real changes rebuild.
            self._nodes[capacity.name] = capacity
            self._snapshot = None

    def _apply_pod(self, event: str, obj: Mapping[str, Any]) -> None:
        key = pod_key(obj)
        status = obj.get("status") or {}
        spec = obj.get("spec") or {}
        node = spec.get("nodeName") if isinstance(spec, Mapping) else None
        phase = status.get("phase") if isinstance(status, Mapping) else None
        fit = (
            None
            if event == "DELETED" or phase in _TERMINATED
            else pod_requests(obj, self._config).fit
        )
        if self._pods.pop(key, None) is not None:
            self._unhold(key)
        old_shape = self._shape_of.pop(key, None)
        if old_shape is not None:
            self._shapes[old_shape] -= 1
            if self._shapes[old_shape] <= 0:
                del self._shapes[old_shape]
            self._ctx_stale = True
        if fit is None:
            self.forget(key)
            return
        shape = (fit.cpu_milli, fit.memory_mib, fit.num_gpu, fit.gpu_milli)
        self._shape_of[key] = shape
        self._shapes[shape] += 1
        self._ctx_stale = True
        if isinstance(node, str) and node:
            self.forget(key)
            self._pods[key] = _PodRecord(key, node, fit)
            self._hold(key, node, fit)

    # -- request side -----------------------------------------------------------------

    def assume(self, key: str, node: str, fit: Pod) -> None:
        """Hold ``fit`` against ``node`` until the watch binds ``key`` or the TTL passes."""
        with self._lock:
            if key in self._pods:
                return
            self.forget(key)
            self._assumed[key] = _Assumed(node, fit, self._clock() + self._config.assumed_pod_ttl_s)
            self._hold(key, node, fit)

    def forget(self, key: str) -> None:
        """Drop the assumed decision for ``key`` (the scheduler is deciding it again)."""
        with self._lock:
            if self._assumed.pop(key, None) is not None:
                self._unhold(key)

    @contextlib.contextmanager
    def without(self, key: str) -> Iterator[None]:
        """Inside the block, the assumed decision for ``key`` (if any) is not booked; it is
        restored afterwards with its original expiry (for re-scoring the same pod)."""
        with self._lock:
            assumed = self._assumed.get(key)
            self.forget(key)
            try:
                yield
            finally:
                if assumed is not None and key not in self._pods and key not in self._assumed:
                    self._assumed[key] = assumed
                    self._hold(key, assumed.node, assumed.fit)

    @property
    def synced(self) -> bool:
        """True once both nodes and pods have been listed."""
        return {"nodes", "pods"} <= self._synced

    def sizes(self) -> dict[str, int]:
        """Objects held: nodes, pods (bound), assumed decisions, observed pods (pending or
        bound: those the reference shapes are learned from) and distinct reference shapes."""
        with self._lock:
            return {
                "nodes": len(self._nodes),
                "pods": len(self._pods),
                "assumed": len(self._assumed),
                "observed": len(self._shape_of),
                "shapes": len(self._shapes),
            }

    def node_names(self) -> set[str]:
        """Names of the nodes held."""
        with self._lock:
            return set(self._nodes)

    @contextlib.contextmanager
    def frozen(self) -> Iterator[Snapshot]:
        """The current cluster, unchanged by watch events while the ``with`` block runs."""
        with self._lock:
            yield self._current()

    def snapshot(self) -> Snapshot:
        """The current cluster (live: later events change its state; see :meth:`frozen`)."""
        with self._lock:
            return self._current()

    def _current(self) -> Snapshot:
        now = self._clock()
        # Assumptions are kept in insertion order, which is expiry order (one TTL): stop
        # at the first that is still valid.
        for key, assumed in list(itertools.islice(self._assumed.items(), 64)):
            if assumed.expires_at > now:
                break
            self.forget(key)
        if self._snapshot is None:
            self._rebuild()
        assert self._snapshot is not None
        if self._ctx_stale and now - self._ctx_at >= _CTX_REFRESH_S:
            ctx = make_context(
                self._snapshot.state,
                _observed_workload(self._shapes),
                self._config.reference_coverage,
            )
            if _drifted(self._snapshot.ctx, ctx):
                self._snapshot = replace(self._snapshot, ctx=ctx)
            self._ctx_stale, self._ctx_at = False, now
        return self._snapshot

    def _rebuild(self) -> None:
        self.rebuilds += 1
        self._snapshot = build_snapshot(list(self._nodes.values()), self._config)
        for name, reason in self._snapshot.left_out.items():
            log.warning("node %s left out of the node state: %s", name, reason)
        self._held.clear()
        self._ctx_stale, self._ctx_at = True, -math.inf
        for record in self._pods.values():
            self._hold(record.key, record.node, record.fit)
        for key, assumed in self._assumed.items():
            self._hold(key, assumed.node, assumed.fit)

    def _hold(self, key: str, node: str, fit: Pod) -> None:
        if self._snapshot is None:
            return
        index = self._snapshot.index_of.get(node)
        if index is not None:
            self._held[key] = _book(self._snapshot.state, index, fit)

    def _unhold(self, key: str) -> None:
        if self._snapshot is None or key not in self._held:
            return
        allocation = self._held.pop(key)
        if allocation is None:
            self._snapshot = None  # a forced booking cannot be undone exactly: rebuild
            return
        try:
            release(self._snapshot.state, allocation)
        except PlacementError as exc:
            log.warning("release %s: %s: rebuilding the node state", key, exc)
            self._snapshot = None


def _drifted(old: Context, new: Context) -> bool:
    """Whether ``new`` differs from ``old`` by more than :data:`_CTX_DRIFT`."""

    def mix(ctx: Context) -> dict[Shape, float]:
        columns = (ctx.shape_cpu_milli, ctx.shape_memory_mib, ctx.shape_num_gpu)
        rows = zip(*(c.tolist() for c in (*columns, ctx.shape_gpu_milli)), strict=True)
        return dict(zip(rows, ctx.shape_probability.tolist(), strict=True))

    before, after = mix(old), mix(new)
    if before.keys() != after.keys():
        return True
    return any(abs(after[shape] - p) > _CTX_DRIFT for shape, p in before.items())


def build_snapshot(capacities: list[NodeCapacity], config: ExtenderConfig) -> Snapshot:
    """A :class:`Snapshot` of empty nodes (ordered by name) with no reference shapes;
    nodes with more than :data:`MAX_GPUS_PER_NODE` GPUs are only named in ``left_out``."""
    left_out = {
        c.name: f"{config.gpu_resource}: {c.gpu_count} GPUs, more than the "
        f"{MAX_GPUS_PER_NODE} per node binforge models"
        for c in capacities
        if c.gpu_count > MAX_GPUS_PER_NODE
    }
    caps = sorted((c for c in capacities if c.name not in left_out), key=lambda c: c.name)
    names = [c.name for c in caps]
    extended = {
        r: np.array([c.extended.get(r, 0) for c in caps], dtype=np.int64)
        for r in config.extended_resources
    }
    cluster = Cluster(
        names=np.array(names, dtype=np.str_),
        cpu_milli=np.array([c.cpu_milli for c in caps], dtype=np.int64),
        memory_mib=np.array([c.memory_mib for c in caps], dtype=np.int64),
        gpu_count=np.array([c.gpu_count for c in caps], dtype=np.int64),
        gpu_model=np.array([c.gpu_model for c in caps], dtype=np.str_),
        extended=extended,
        source="kubernetes",
    )
    state = NodeState(cluster)
    ctx = make_context(state, _observed_workload(Counter()), config.reference_coverage)
    return Snapshot(
        state=state,
        index_of={name: i for i, name in enumerate(names)},
        pools=np.array([c.pool for c in caps], dtype=np.str_),
        ctx=ctx,
        left_out=left_out,
    )


def _observed_workload(shapes: Counter[Shape]) -> Workload:
    """A workload with one pod per observed pod, from the shape counts (for reference shapes)."""
    rows = sorted(shapes.items())
    counts = np.array([c for _, c in rows], dtype=np.int64)
    table = np.array([s for s, _ in rows], dtype=np.int64).reshape(-1, 4)
    table = np.repeat(table, counts, axis=0)
    n = len(table)
    return Workload(
        names=np.full(n, "", dtype=np.str_),
        cpu_milli=table[:, 0],
        memory_mib=table[:, 1],
        num_gpu=table[:, 2],
        gpu_milli=table[:, 3],
        gpu_spec=np.full(n, "", dtype=np.str_),
        qos=np.full(n, "", dtype=np.str_),
        priority=np.zeros(n, dtype=np.int64),
        arrival_s=np.full(n, np.nan),
        departure_s=np.full(n, np.nan),
        source="observed pods",
    )


def _book(state: NodeState, index: int, fit: Pod) -> Allocation | None:
    """Book a pod the API server already placed, even if it overcommits the node.

    Placed pods are facts: when :func:`allocate` refuses (a node overcommitted by another
    scheduler), the node keeps what it has and is marked full on every resource the pod
    overflows, so no further pod lands there. Returns the allocation, or None for such a
    forced booking (which cannot be released exactly).
    """
    try:
        return allocate(state, index, fit)
    except PlacementError:
        overcommit(state, index, fit)
        return None
