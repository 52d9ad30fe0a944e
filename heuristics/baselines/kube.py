"""kube-scheduler's resource scoring, with upstream's integer arithmetic.

Source: k8s.io/kubernetes ``pkg/scheduler/framework/plugins/noderesources``
(``least_allocated.go``, ``most_allocated.go``, ``requested_to_capacity_ratio.go``,
``balanced_allocation.go``, ``resource_allocation.go``) and ``plugins/helper``'s broken
linear function. Memory is scored in MiB; every formula here is a ratio of two memory
amounts, and both sides being whole MiB, the integer results equal upstream's in bytes.

NodeResourcesFit's strategies (LeastAllocated, MostAllocated, RequestedToCapacityRatio)
use "non-zero requested": the node's placed pods and the incoming pod with a zero CPU or
memory request counted as 100 millicores / 200 MiB (``DefaultMilliCPURequest``,
``DefaultMemoryRequest``; a pod is one container here and a zero request is taken as
unset). BalancedAllocation uses the actual requests and is skipped (0 on every node) for
a pod requesting neither CPU nor memory. A resource whose node capacity is 0 is left out
of the weighted average.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cluster_traces.model import FloatArray, IntArray
from heuristics.contract import Context, Heuristic, NodeView, Pod
from heuristics.feasibility import DEFAULT_CPU_REQUEST_MILLI, DEFAULT_MEMORY_REQUEST_MIB

__all__ = [
    "DEFAULT_SHAPE",
    "MAX_NODE_SCORE",
    "balanced_allocation",
    "kube_default",
    "least_allocated",
    "most_allocated",
    "requested_to_capacity_ratio",
]

MAX_NODE_SCORE = 100
"""``framework.MaxNodeScore``."""

_MAX_CUSTOM_PRIORITY_SCORE = 10

DEFAULT_SHAPE: tuple[tuple[int, int], ...] = ((0, 0), (100, 10))
"""The registered RequestedToCapacityRatio shape: (utilisation %, score 0..10) points,
score rising with utilisation (bin packing), as in the upstream documentation's example."""


def _requested_nonzero(pod: Pod, nodes: NodeView) -> tuple[IntArray, IntArray]:
    cpu = nodes.nonzero_cpu_milli + (pod.cpu_milli or DEFAULT_CPU_REQUEST_MILLI)
    memory = nodes.nonzero_memory_mib + (pod.memory_mib or DEFAULT_MEMORY_REQUEST_MIB)
    return cpu, memory


def _weighted_average(scores: Sequence[IntArray], capacities: Sequence[IntArray]) -> IntArray:
    """Upstream's ``nodeScore / weightSum`` (weights 1), skipping zero-capacity resources."""
    total = np.zeros_like(scores[0])
    weights = np.zeros_like(scores[0])
    for score, capacity in zip(scores, capacities, strict=True):
        present = capacity > 0
        total += np.where(present, score, 0)
        weights += present
    return np.where(weights > 0, total // np.maximum(weights, 1), 0)


def _least_requested(requested: IntArray, capacity: IntArray) -> IntArray:
    ok = (capacity > 0) & (requested <= capacity)
    safe = np.maximum(capacity, 1)
    return np.where(ok, (capacity - requested) * MAX_NODE_SCORE // safe, 0)


def _most_requested(requested: IntArray, capacity: IntArray) -> IntArray:
    safe = np.maximum(capacity, 1)
    return np.where(capacity > 0, np.minimum(requested, capacity) * MAX_NODE_SCORE // safe, 0)


def least_allocated(pod: Pod, nodes: NodeView, ctx: Context) -> FloatArray:
    """NodeResourcesFit LeastAllocated over cpu and memory, weight 1 each.

    Per resource ``(capacity - requested) * 100 // capacity`` (0 when requested exceeds
    capacity), then the integer weighted average; ``requested`` is non-zero requested.
    """
    cpu, memory = _requested_nonzero(pod, nodes)
    scores = [_least_requested(cpu, nodes.cpu_total), _least_requested(memory, nodes.memory_total)]
    return _weighted_average(scores, [nodes.cpu_total, nodes.memory_total]).astype(np.float64)


def most_allocated(pod: Pod, nodes: NodeView, ctx: Context) -> FloatArray:
    """NodeResourcesFit MostAllocated over cpu and memory, weight 1 each.

    Per resource ``min(requested, capacity) * 100 // capacity``, then the integer weighted
    average; ``requested`` is non-zero requested.
    """
    cpu, memory = _requested_nonzero(pod, nodes)
    scores = [_most_requested(cpu, nodes.cpu_total), _most_requested(memory, nodes.memory_total)]
    return _weighted_average(scores, [nodes.cpu_total, nodes.memory_total]).astype(np.float64)


def _balance(cpu_req: FloatArray, mem_req: FloatArray, nodes: NodeView) -> FloatArray:
    """Upstream's ``balancedResourceScore``: ``int((1 - std) * 100)`` of the fractions."""
    f_cpu = np.minimum(1.0, cpu_req / np.maximum(nodes.cpu_total, 1))
    f_mem = np.minimum(1.0, mem_req / np.maximum(nodes.memory_total, 1))
    both = (nodes.cpu_total > 0) & (nodes.memory_total > 0)
    std = np.where(both, np.abs((f_cpu - f_mem) / 2), 0.0)
    return np.trunc((1 - std) * MAX_NODE_SCORE)


def balanced_allocation(pod: Pod, nodes: NodeView, ctx: Context) -> FloatArray:
    """NodeResourcesBalancedAllocation over cpu and memory (Kubernetes 1.36's scorer).

    ``f_r = min(1, requested_r / allocatable_r)`` in float64 with actual requests; with
    both resources present ``std = |f_cpu - f_mem| / 2``, with one ``std = 0``; balance
    ``int((1 - std) * 100)``, computed with the pod (``with``) and without it
    (``without``); score ``50 + (50 + with - without) // 2``: the improvement in balance
    the pod brings, in 50..100 (``balancedResourceScorer``). A pod requesting neither CPU
    nor memory skips the plugin (every node 0).
    """
    if pod.cpu_milli == 0 and pod.memory_mib == 0:
        return np.zeros(len(nodes))
    cpu_held = (nodes.cpu_total - nodes.cpu_free).astype(np.float64)
    mem_held = (nodes.memory_total - nodes.memory_free).astype(np.float64)
    with_pod = _balance(cpu_held + pod.cpu_milli, mem_held + pod.memory_mib, nodes)
    without = _balance(cpu_held, mem_held, nodes)
    half = MAX_NODE_SCORE // 2
    return half + np.floor((half + with_pod - without) / 2)


def kube_default(pod: Pod, nodes: NodeView, ctx: Context) -> FloatArray:
    """kube-scheduler's default resource scoring: LeastAllocated + BalancedAllocation.

    NodeResourcesFit (LeastAllocated, cpu and memory weight 1) with plugin weight 1 plus
    NodeResourcesBalancedAllocation with plugin weight 1; neither normalises its scores.
    The other default plugins (taints, affinity, spreading, image locality) score every
    node alike on a trace replay and are left out. Ties go to the lowest index here,
    where kube-scheduler picks one at random.
    """
    return least_allocated(pod, nodes, ctx) + balanced_allocation(pod, nodes, ctx)


def _trunc_div(numerator: IntArray, denominator: int) -> IntArray:
    """Go's integer division (truncates toward zero), elementwise."""
    quotient = np.abs(numerator) // abs(denominator)
    return np.where((numerator < 0) != (denominator < 0), -quotient, quotient)


@dataclass(frozen=True)
class _RequestedToCapacityRatio:
    """RequestedToCapacityRatio with a fixed shape; see :func:`requested_to_capacity_ratio`."""

    utilization: tuple[int, ...]
    score: tuple[int, ...]

    def _broken_linear(self, percent: IntArray) -> IntArray:
        # helper.BuildBrokenLinearFunction: the first point at or above p, interpolated
        # from the previous one with Go's truncating division; clamped at both ends.
        out = np.full(percent.shape, self.score[-1], dtype=np.int64)
        done = np.zeros(percent.shape, dtype=bool)
        for i, (u, s) in enumerate(zip(self.utilization, self.score, strict=True)):
            here = ~done & (percent <= u)
            if i == 0:
                value = np.full(percent.shape, s, dtype=np.int64)
            else:
                u0, s0 = self.utilization[i - 1], self.score[i - 1]
                value = s0 + _trunc_div((s - s0) * (percent - u0), u - u0)
            out = np.where(here, value, out)
            done |= here
        return out

    def _resource(self, requested: IntArray, capacity: IntArray) -> IntArray:
        # scaledUtilization: 0 without a request, 100 at or over capacity.
        safe = np.maximum(capacity, 1)
        percent = np.where(requested >= capacity, 100, requested * 100 // safe)
        percent = np.where((capacity <= 0) | (requested <= 0), 0, percent)
        return self._broken_linear(percent)

    def __call__(self, pod: Pod, nodes: NodeView, ctx: Context) -> FloatArray:
        cpu, memory = _requested_nonzero(pod, nodes)
        total = np.zeros(len(nodes), dtype=np.int64)
        weights = np.zeros(len(nodes), dtype=np.int64)
        for requested, capacity in ((cpu, nodes.cpu_total), (memory, nodes.memory_total)):
            score = self._resource(requested, capacity)
            counted = (capacity > 0) & (score > 0)
            total += np.where(counted, score, 0)
            weights += counted
        # math.Round: half away from zero; every value here is non-negative.
        average = np.floor(total / np.maximum(weights, 1) + 0.5)
        return np.where(weights > 0, average, 0.0)


def requested_to_capacity_ratio(
    shape: Sequence[tuple[int, int]] = DEFAULT_SHAPE,
) -> Heuristic:
    """NodeResourcesFit RequestedToCapacityRatio over cpu and memory, weight 1 each.

    ``shape`` is a list of (utilisation 0..100, score 0..10) points with strictly
    increasing utilisation. Per resource: utilisation ``requested * 100 // capacity``
    (0 for no request, 100 at or over capacity), mapped through the piecewise-linear
    shape with scores scaled ×10; resources scoring 0 are left out of the average, which
    is rounded half away from zero (upstream's latest ``requested_to_capacity_ratio.go``).

    Raises:
        ValueError: for an empty shape, utilisations not strictly increasing or outside
            0..100, or scores outside 0..10 (every problem listed).
    """
    problems = []
    points = [(int(u), int(s)) for u, s in shape]
    if not points:
        problems.append("shape: expected at least one point")
    for i, (u, s) in enumerate(points):
        if not 0 <= u <= 100:
            problems.append(f"shape[{i}].utilization: expected 0..100, got {u}")
        if not 0 <= s <= _MAX_CUSTOM_PRIORITY_SCORE:
            problems.append(f"shape[{i}].score: expected 0..10, got {s}")
        if i and u <= points[i - 1][0]:
            problems.append(f"shape[{i}].utilization: expected more than the previous point")
    if problems:
        raise ValueError("requested-to-capacity-ratio: " + "; ".join(problems))
    scale = MAX_NODE_SCORE // _MAX_CUSTOM_PRIORITY_SCORE
    return _RequestedToCapacityRatio(
        utilization=tuple(u for u, _ in points), score=tuple(s * scale for _, s in points)
    )
