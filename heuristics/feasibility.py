"""Which nodes can host a pod, which GPUs it takes there, and booking it on a node state.

This is the one feasibility rule of binforge: the simulator and the extender both call
:func:`feasible` before a heuristic scores anything, and :func:`gpu_slots` is the one rule
for which GPUs of the chosen node a pod takes.

A node can host a pod when it is active and has enough free CPU, memory and every
extended resource the pod requests, and, for a pod with ``num_gpu > 0``, at least
``num_gpu`` GPUs of an allowed model (``pod.gpu_models`` empty means any model) whose
free share is at least ``pod.gpu_milli``. GPU model constraints only apply to pods that
request GPUs. An extended resource the cluster does not have counts as capacity 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from cluster_traces.model import GPU_MILLI_PER_GPU, IntArray
from heuristics._arrays import count_per_row
from heuristics.contract import NodeState, NodeView, Pod

__all__ = [
    "DEFAULT_CPU_REQUEST_MILLI",
    "DEFAULT_MEMORY_REQUEST_MIB",
    "Allocation",
    "PlacementError",
    "allocate",
    "book",
    "feasible",
    "fits",
    "gpu_slots",
    "overcommit",
    "release",
    "view",
]

DEFAULT_CPU_REQUEST_MILLI = 100
"""kube-scheduler's scoring default for a zero CPU request (``DefaultMilliCPURequest``)."""

DEFAULT_MEMORY_REQUEST_MIB = 200
"""kube-scheduler's scoring default for a zero memory request (``DefaultMemoryRequest``,
200 * 1024 * 1024 bytes). A pod is treated as one container, and a zero request as unset."""

_EMPTY: IntArray = np.zeros(0, dtype=np.int64)
_EMPTY.setflags(write=False)


class PlacementError(ValueError):
    """A pod was booked on a node that cannot host it, or an allocation was released twice."""


def _per_gpu_milli(pod: Pod) -> int:
    # A GPU pod with no stated share still needs a GPU to exist: treat it as 1 thousandth.
    return max(int(pod.gpu_milli), 1)


def feasible(state: NodeState, pod: Pod) -> IntArray:
    """Ascending indices of the active nodes of ``state`` that can host ``pod``.

    Returns an empty array when no node can host it; never raises for a well-formed state.
    """
    # Hot path (one call per scheduling decision): boolean masks over every node, one
    # flatnonzero at the end. The (nodes x GPUs) comparison also runs over every node,
    # and only for GPU pods: gathering the survivors' rows first costs more than it saves.
    mask = state.cpu_free >= pod.cpu_milli
    mask &= state.memory_free >= pod.memory_mib
    mask &= state.active
    for name, count in pod.extended.items():
        if count <= 0:
            continue
        free = state.extended_free.get(name)
        if free is None:
            return _EMPTY
        mask &= free >= count
    if pod.num_gpu > 0:
        mask &= state.gpu_total >= pod.num_gpu
        if pod.gpu_models:
            mask &= _allowed_models(state, pod.gpu_models)[state.gpu_model_code]
        mask &= count_per_row(state.gpu_free_milli >= _per_gpu_milli(pod)) >= pod.num_gpu
    return np.flatnonzero(mask)


def _allowed_models(state: NodeState, models: frozenset[str]) -> np.ndarray:
    """A lookup table over model codes; its last entry (code -1: no GPU) is False."""
    table = np.zeros(len(state.models) + 1, dtype=bool)
    table[state.model_codes(models)] = True
    return table


def view(state: NodeState, pod: Pod) -> NodeView:
    """The :class:`NodeView` of the nodes that can host ``pod`` (possibly empty)."""
    return NodeView(state, feasible(state, pod))


def fits(state: NodeState, node: int, pod: Pod) -> str | None:
    """Why ``node`` cannot host ``pod`` (a short reason), or None when it can."""
    if not 0 <= node < len(state):
        return f"node index {node} out of range 0..{len(state) - 1}"
    if not state.active[node]:
        return "node is not active"
    if state.cpu_free[node] < pod.cpu_milli:
        return f"cpu_milli: needs {pod.cpu_milli}, free {int(state.cpu_free[node])}"
    if state.memory_free[node] < pod.memory_mib:
        return f"memory_mib: needs {pod.memory_mib}, free {int(state.memory_free[node])}"
    for name, count in pod.extended.items():
        if count <= 0:
            continue
        free = int(state.extended_free[name][node]) if name in state.extended_free else 0
        if free < count:
            return f"{name}: needs {count}, free {free}"
    if pod.num_gpu > 0:
        if pod.gpu_models and state.gpu_model_code[node] not in state.model_codes(pod.gpu_models):
            model = state.models[code] if (code := state.gpu_model_code[node]) >= 0 else "none"
            return f"gpu model: needs one of {sorted(pod.gpu_models)}, node has {model}"
        fitting = int((state.gpu_free_milli[node] >= _per_gpu_milli(pod)).sum())
        if fitting < pod.num_gpu:
            return (
                f"gpu: needs {pod.num_gpu} GPU(s) with {pod.gpu_milli} free thousandths, "
                f"node has {fitting}"
            )
    return None


def gpu_slots(state: NodeState, node: int, pod: Pod) -> IntArray:
    """The GPU slots of ``node`` that ``pod`` takes, ascending.

    The rule: a shared pod (``gpu_milli < 1000``) takes the GPU(s) with the least free
    share that still fit (best fit), ties to the lowest slot; a whole-GPU pod takes the
    lowest-index fully idle GPUs. A CPU-only pod takes none.

    Raises:
        PlacementError: when the node has too few fitting GPUs.
    """
    if pod.num_gpu <= 0:
        return _EMPTY
    free = state.gpu_free_milli[node]
    need = _per_gpu_milli(pod)
    fitting = free >= need
    if int(fitting.sum()) < pod.num_gpu:
        raise PlacementError(
            f"gpu slots on node {state.names[node]}: needs {pod.num_gpu} GPU(s) with "
            f"{pod.gpu_milli} free thousandths, found {int(fitting.sum())}"
        )
    if need >= GPU_MILLI_PER_GPU:
        return np.flatnonzero(fitting)[: pod.num_gpu]
    # Stable sort on (free share) keeps the lowest slot first among equal shares.
    keyed = np.where(fitting, free, GPU_MILLI_PER_GPU + 1)
    chosen = np.argsort(keyed, kind="stable")[: pod.num_gpu]
    return np.sort(chosen).astype(np.int64)


@dataclass(frozen=True)
class Allocation:
    """What one pod holds on one node; :func:`release` gives exactly this back.

    Attributes:
        node: cluster index of the node.
        gpu_slots: GPU slots taken (ascending), each by ``gpu_milli`` thousandths.
        cpu_milli: CPU held in millicores.
        memory_mib: memory held in MiB.
        gpu_milli: share held on each slot of ``gpu_slots`` in thousandths.
        extended: other resources held, name -> count.
    """

    node: int
    gpu_slots: tuple[int, ...]
    cpu_milli: int
    memory_mib: int
    gpu_milli: int
    extended: Mapping[str, int] = field(default_factory=dict)


def allocate(state: NodeState, node: int, pod: Pod) -> Allocation:
    """Book ``pod`` on ``node`` of ``state`` (mutates it) and return what it holds.

    Raises:
        PlacementError: when the node cannot host the pod (the state is left unchanged).
    """
    reason = fits(state, node, pod)
    if reason is not None:
        raise PlacementError(f"allocate pod on node {node}: {reason}")
    return book(state, node, pod)


def book(state: NodeState, node: int, pod: Pod) -> Allocation:
    """Like :func:`allocate`, for a node just returned by ``feasible(state, pod)``.

    The hot path of every scheduling decision: it skips :func:`fits`, whose checks
    ``feasible`` has already made on the same state. Booking a node that was not feasible
    corrupts the state, so any other caller uses :func:`allocate`.
    """
    slots = gpu_slots(state, node, pod)
    extended = {k: int(v) for k, v in pod.extended.items() if v > 0} if pod.extended else {}
    state.cpu_free[node] -= pod.cpu_milli
    state.memory_free[node] -= pod.memory_mib
    if len(slots):
        state.gpu_free_milli[node, slots] -= pod.gpu_milli
        state.gpu_free[node] -= pod.gpu_milli * len(slots)
    for name, count in extended.items():
        state.extended_free[name][node] -= count
    state.pods[node] += 1
    state.nonzero_cpu_milli[node] += pod.cpu_milli or DEFAULT_CPU_REQUEST_MILLI
    state.nonzero_memory_mib[node] += pod.memory_mib or DEFAULT_MEMORY_REQUEST_MIB
    return Allocation(
        node=int(node),
        gpu_slots=tuple(slots.tolist()),
        cpu_milli=pod.cpu_milli,
        memory_mib=pod.memory_mib,
        gpu_milli=pod.gpu_milli if len(slots) else 0,
        extended=extended,
    )


def overcommit(state: NodeState, node: int, pod: Pod) -> None:
    """Book on ``node`` a pod that does not fit there but was placed anyway (by another
    scheduler, as the API server reports): free capacity is taken down to zero, never
    below, on every resource the pod overflows, so no further pod lands on the node. The
    GPU share is taken from the GPUs with the most free share. It cannot be released
    exactly: whoever calls this rebuilds the state when the pod goes.
    """
    state.cpu_free[node] = max(0, int(state.cpu_free[node]) - pod.cpu_milli)
    state.memory_free[node] = max(0, int(state.memory_free[node]) - pod.memory_mib)
    for name, count in pod.extended.items():
        if name in state.extended_free:
            free = state.extended_free[name]
            free[node] = max(0, int(free[node]) - count)
    if pod.num_gpu:
        row = state.gpu_free_milli[node]
        taken = np.argsort(row, kind="stable")[::-1][: pod.num_gpu]
        row[taken] = np.maximum(0, row[taken] - min(pod.gpu_milli, GPU_MILLI_PER_GPU))
        state.gpu_free[node] = int(row.sum())
    state.pods[node] += 1
    state.nonzero_cpu_milli[node] += pod.cpu_milli or DEFAULT_CPU_REQUEST_MILLI
    state.nonzero_memory_mib[node] += pod.memory_mib or DEFAULT_MEMORY_REQUEST_MIB


def release(state: NodeState, allocation: Allocation) -> None:
    """Give back what ``allocation`` holds on ``state`` (mutates it).

    Raises:
        PlacementError: when releasing would exceed a node's capacity (a double release or
            an allocation from another state); the state is left unchanged.
    """
    node = allocation.node
    slots = list(allocation.gpu_slots)
    problems = []
    if state.pods[node] < 1:
        problems.append("no pod is placed on the node")
    if state.cpu_free[node] + allocation.cpu_milli > state.cpu_total[node]:
        problems.append("cpu_milli would exceed capacity")
    if state.memory_free[node] + allocation.memory_mib > state.memory_total[node]:
        problems.append("memory_mib would exceed capacity")
    if slots and np.any(
        state.gpu_free_milli[node, slots] + allocation.gpu_milli > GPU_MILLI_PER_GPU
    ):
        problems.append("gpu share would exceed a whole GPU")
    for name, count in allocation.extended.items():
        if state.extended_free[name][node] + count > state.extended_total[name][node]:
            problems.append(f"{name} would exceed capacity")
    if problems:
        raise PlacementError(f"release allocation on node {node}: {'; '.join(problems)}")
    state.cpu_free[node] += allocation.cpu_milli
    state.memory_free[node] += allocation.memory_mib
    if slots:
        state.gpu_free_milli[node, slots] += allocation.gpu_milli
        state.gpu_free[node] += allocation.gpu_milli * len(slots)
    for name, count in allocation.extended.items():
        state.extended_free[name][node] += count
    state.pods[node] -= 1
    state.nonzero_cpu_milli[node] -= allocation.cpu_milli or DEFAULT_CPU_REQUEST_MILLI
    state.nonzero_memory_mib[node] -= allocation.memory_mib or DEFAULT_MEMORY_REQUEST_MIB
