"""Classic packing baselines: first fit, best fit, worst fit, random fit, GPU packing.

Each is a :data:`heuristics.contract.Heuristic`: a pure, vectorised function of the pod,
its feasible nodes and the context; the highest score wins, ties to the lowest index.
"""

from __future__ import annotations

import numpy as np

from cluster_traces.model import GPU_MILLI_PER_GPU, FloatArray
from heuristics.contract import Context, NodeView, Pod

__all__ = ["best_fit", "first_fit", "gpu_packing", "random_fit", "worst_fit"]

_MAX_NODE_SCORE = 100


def first_fit(pod: Pod, nodes: NodeView, ctx: Context) -> FloatArray:
    """First fit: a constant score, so the lowest-index feasible node wins.

    Source: FunSearch (Romera-Paredes et al., Nature 2024), where a constant priority is
    first fit.
    """
    return np.zeros(len(nodes))


def _leftover(pod: Pod, nodes: NodeView, ctx: Context) -> FloatArray:
    """``Σ_r 0.5 · (free_r - request_r) / maxSpec_r`` over CPU and GPU (FGD's BestFit sum).

    ``maxSpec_r`` is the largest node's capacity (``ctx.max_node_*``; when the context
    does not know it, the largest candidate's). A resource no node has (``maxSpec_r`` = 0,
    GPUs on a CPU-only cluster) contributes nothing.
    """
    cpu_spec = ctx.max_node_cpu_milli or int(nodes.cpu_total.max(initial=0))
    gpu_spec = (ctx.max_node_gpu or int(nodes.gpu_total.max(initial=0))) * GPU_MILLI_PER_GPU
    # Hot path (best fit is the reference policy of every benchmark): one subtraction and
    # one multiplication per resource, no temporary zero array.
    if cpu_spec > 0:
        left = ((nodes.cpu_free - pod.cpu_milli) * (0.5 / cpu_spec)).astype(np.float64, copy=False)
    else:
        left = np.zeros(len(nodes))
    if gpu_spec > 0:
        left += (nodes.gpu_free - pod.gpu_milli_total) * (0.5 / gpu_spec)
    return left


def best_fit(pod: Pod, nodes: NodeView, ctx: Context) -> FloatArray:
    """Best fit: the node with the least capacity left over after placing the pod.

    ``score = -Σ_r 0.5 · (free_r - request_r) / maxSpec_r`` over CPU and GPU: FGD's BestFit
    (Weng et al., ATC'23; ``best_fit_score.go``) without its rank-preserving ``(1 - x) × 100``
    rescaling and integer truncation (kept continuous so no two different leftovers tie).
    On a CPU-only cluster this ranks nodes exactly as FunSearch's best fit
    ``-(bins - item)``.
    """
    return -_leftover(pod, nodes, ctx)


def worst_fit(pod: Pod, nodes: NodeView, ctx: Context) -> FloatArray:
    """Worst fit: the node with the most capacity left over, ``+Σ_r 0.5 · (free_r - request_r) /
    maxSpec_r`` (the mirror of :func:`best_fit`; FGD's ``worst_fit_score.go``)."""
    return _leftover(pod, nodes, ctx)


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _splitmix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser (Steele et al., OOPSLA 2014), elementwise on uint64."""
    x = x ^ (x >> np.uint64(30))
    x = x * _MIX1
    x = x ^ (x >> np.uint64(27))
    x = x * _MIX2
    return x ^ (x >> np.uint64(31))


def random_fit(pod: Pod, nodes: NodeView, ctx: Context) -> FloatArray:
    """Random fit: a pseudo-random score in [0, 1) per node, the same for the same inputs.

    Heuristics are pure, so the randomness is a hash, not a generator: SplitMix64 over the
    pod's integer requests (cpu, memory, GPUs, GPU share, priority) and each node's cluster
    index, placed-pod count and free CPU and memory. Only integers enter the hash, so it
    does not depend on Python's per-process string hashing: the same pod on the same
    cluster state draws the same node in every process. Variation across runs comes from
    the replay's seeded pod order.
    """
    with np.errstate(over="ignore"):
        key = np.zeros(1, dtype=np.uint64)
        for value in (pod.cpu_milli, pod.memory_mib, pod.num_gpu, pod.gpu_milli, pod.priority):
            key = _splitmix((key ^ np.uint64(value & 0xFFFFFFFFFFFFFFFF)) + _GOLDEN)
        x = nodes.index.astype(np.uint64) * _GOLDEN
        x = _splitmix(x ^ key)
        x = _splitmix(x ^ nodes.pods.astype(np.uint64))
        x = _splitmix(x ^ nodes.cpu_free.astype(np.uint64))
        x = _splitmix(x ^ nodes.memory_free.astype(np.uint64))
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def gpu_packing(pod: Pod, nodes: NodeView, ctx: Context) -> FloatArray:
    """GPU packing: prefer shared GPUs, then idle GPUs on used nodes, then idle nodes.

    Source: FGD's GpuPacking baseline (Weng et al., ATC'23; ``gpu_packing_score.go``), with
    its integer arithmetic. With ``used`` the GPUs the pod would take (the fitting GPUs with
    the least free share first):

    * every GPU of the node idle: ``max(100 // 3 - idle, idle)``;
    * otherwise, if it takes ``k > 0`` idle GPUs: ``max(100 // 2 - k, 100 // 3)``;
    * otherwise (only shared GPUs): ``max(100 - Σ_used (free * 100 // 1000) // 10, 100 // 2)``.

    CPU-only pods score 0 everywhere (so the lowest index wins).
    """
    if pod.num_gpu <= 0 or pod.gpu_milli <= 0:
        return np.zeros(len(nodes))
    free = nodes.gpu_free_milli
    idle = nodes.gpu_idle
    all_idle = idle == nodes.gpu_total
    keyed = np.where(free >= pod.gpu_milli, free, GPU_MILLI_PER_GPU + 1)
    used = np.sort(keyed, axis=1)[:, : pod.num_gpu]
    idle_used = (used == GPU_MILLI_PER_GPU).sum(axis=1)
    free_percent = (np.minimum(used, GPU_MILLI_PER_GPU) * 100 // GPU_MILLI_PER_GPU).sum(axis=1)
    idle_node = np.maximum(_MAX_NODE_SCORE // 3 - idle, idle)
    idle_gpu = np.maximum(_MAX_NODE_SCORE // 2 - idle_used, _MAX_NODE_SCORE // 3)
    shared = np.maximum(_MAX_NODE_SCORE - free_percent // 10, _MAX_NODE_SCORE // 2)
    score = np.where(all_idle, idle_node, np.where(idle_used > 0, idle_gpu, shared))
    return score.astype(np.float64)
