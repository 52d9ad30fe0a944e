"""Heuristics: the scoring contract, feasibility, fragmentation, baselines and their registry.

Layering: ``heuristics`` imports only ``cluster_traces`` (and numpy); never ``simulator``,
``k8s_plugin`` or ``prometheus_client``.
"""

from heuristics.contract import Context, Heuristic, HeuristicError, NodeState, NodeView, Pod, choose
from heuristics.feasibility import (
    Allocation,
    PlacementError,
    allocate,
    feasible,
    fits,
    gpu_slots,
    release,
    view,
)
from heuristics.fragmentation import (
    fragmentation_increase,
    make_context,
    node_fragmentation,
    reference_shapes,
)
from heuristics.registry import NamedHeuristic, UnknownHeuristicError, get, names, resolve

__all__ = [
    "Allocation",
    "Context",
    "Heuristic",
    "HeuristicError",
    "NamedHeuristic",
    "NodeState",
    "NodeView",
    "PlacementError",
    "Pod",
    "UnknownHeuristicError",
    "allocate",
    "choose",
    "feasible",
    "fits",
    "fragmentation_increase",
    "get",
    "gpu_slots",
    "make_context",
    "names",
    "node_fragmentation",
    "reference_shapes",
    "release",
    "resolve",
    "view",
]
