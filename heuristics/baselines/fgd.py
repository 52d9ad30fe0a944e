"""FGD: fragmentation gradient descent (Weng et al., USENIX ATC'23)."""

from __future__ import annotations

from cluster_traces.model import FloatArray
from heuristics.contract import Context, NodeView, Pod
from heuristics.fragmentation import fragmentation_increase

__all__ = ["fgd"]


def fgd(pod: Pod, nodes: NodeView, ctx: Context) -> FloatArray:
    """FGD: place the pod where the expected GPU fragmentation grows least.

    ``score = F_n(before) - F_n(after)`` in thousandths of a GPU, with ``F_n`` the
    fragmentation of node n against ``ctx``'s reference shapes
    (:mod:`heuristics.fragmentation`). Differences from FGD's plugin
    (``fgd_score.go``), deliberate: the score is not squashed through
    ``int(sigmoid(Δ / 1000) × 100)`` (which makes many nodes tie, then broken at random
    by kube-scheduler); and a shared pod's GPU on the node is the one binforge's
    single GPU rule (:func:`heuristics.feasibility.gpu_slots`, best fit) takes, so what
    is scored is what is placed, where FGD scores every fitting GPU and takes the best.
    """
    return -fragmentation_increase(pod, nodes, ctx)
