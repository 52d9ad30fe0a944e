"""Multi-resource alignment baselines: Tetris, FGD's dot product, Volcano binpack, and
AlphaEvolve's Borg heuristic."""

from __future__ import annotations

import numpy as np

from cluster_traces.model import GPU_MILLI_PER_GPU, FloatArray
from heuristics.contract import Context, NodeView, Pod

__all__ = ["alphaevolve_borg", "dot_product", "tetris", "volcano_binpack"]


def _ratio(numerator: np.ndarray | float, denominator: np.ndarray) -> FloatArray:
    """``numerator / denominator`` elementwise, 0 where the denominator is 0."""
    num = np.broadcast_to(np.asarray(numerator, dtype=np.float64), np.shape(denominator))
    out = np.zeros(np.shape(denominator))
    np.divide(num, denominator, out=out, where=np.asarray(denominator) != 0)
    return out


def _vectors(
    pod: Pod, nodes: NodeView, with_memory: bool = True
) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """(request, free, capacity) per resource: cpu, memory (unless excluded), GPU share."""
    rows = [(float(pod.cpu_milli), nodes.cpu_free, nodes.cpu_total)]
    if with_memory:
        rows.append((float(pod.memory_mib), nodes.memory_free, nodes.memory_total))
    rows.append((float(pod.gpu_milli_total), nodes.gpu_free, nodes.gpu_total * GPU_MILLI_PER_GPU))
    return rows


def tetris(pod: Pod, nodes: NodeView, ctx: Context) -> FloatArray:
    """Tetris alignment: ``Σ_r (request_r / capacity_r) · (free_r / capacity_r)``, highest wins.

    Source: Grandl et al., "Multi-Resource Packing for Cluster Schedulers", SIGCOMM 2014:
    the dot product of the task's demand vector and the machine's available resources,
    both normalised by the machine's capacity, over cpu, memory and GPU share. A resource
    the node lacks (capacity 0) contributes 0.
    """
    score = np.zeros(len(nodes))
    for request, free, capacity in _vectors(pod, nodes):
        score += _ratio(request, capacity) * _ratio(free, capacity)
    return score


def dot_product(pod: Pod, nodes: NodeView, ctx: Context) -> FloatArray:
    """FGD's DotProduct baseline: the *smallest* normalised dot product wins.

    Source: Weng et al., ATC'23 (``dot_product_score.go``, node-capacity normalisation):
    ``score = 1 - (Σ_{r∈cpu,gpu} (request_r / capacity_r) · (free_r / capacity_r)) / 2``;
    a large product means the pod's demand lies along the node's spare room, which FGD's
    variant avoids (it packs). Per-GPU virtual dimensions of the original are folded
    into one GPU-share dimension.
    """
    product = np.zeros(len(nodes))
    for request, free, capacity in _vectors(pod, nodes, with_memory=False):
        product += _ratio(request, capacity) * _ratio(free, capacity)
    return 1.0 - product / 2.0


def volcano_binpack(pod: Pod, nodes: NodeView, ctx: Context) -> FloatArray:
    """Volcano's binpack plugin with weights cpu 1, memory 1, GPU 1 (binpack.weight 1).

    Source: volcano-sh/volcano ``pkg/scheduler/plugins/binpack``: for each resource the
    pod requests, ``(used_r + request_r) · w_r / capacity_r`` (0 if it would exceed
    capacity), summed, divided by the weights' sum and scaled by MaxNodeScore (100).
    GPUs are counted in thousandths (a share), as a GPU-sharing device plugin reports.
    """
    total = np.zeros(len(nodes))
    weights = 0
    for request, free, capacity in _vectors(pod, nodes):
        if request <= 0:
            continue
        used_after = capacity - free + request
        fits = (capacity > 0) & (used_after <= capacity)
        total += np.where(fits, _ratio(used_after, capacity), 0.0)
        weights += 1
    if weights == 0:
        return total
    return total / weights * 100.0


def alphaevolve_borg(pod: Pod, nodes: NodeView, ctx: Context) -> FloatArray:
    """AlphaEvolve's Borg heuristic: ``-(c + m + m/c + c/m)``, highest wins.

    Source: Novikov et al., "AlphaEvolve", 2025, Figure 6, with ``c = cpu_request /
    cpu_free`` and ``m = memory_request / memory_free`` on the candidate node. Division by
    zero is guarded explicitly: any ratio whose denominator is 0 counts as 0. So a node
    with nothing free of a resource the pod does not request adds nothing for it, and a
    pod requesting no CPU (c = 0) is scored by ``-m`` alone (and likewise for memory).
    """
    c = _ratio(float(pod.cpu_milli), nodes.cpu_free)
    m = _ratio(float(pod.memory_mib), nodes.memory_free)
    return -(c + m + _ratio(m, c) + _ratio(c, m))
