"""Baseline heuristics, each a pure vectorised ``score(pod, nodes, ctx)``.

They are registered by name in :mod:`heuristics.registry`; this package only defines them.
"""

from heuristics.baselines.alignment import alphaevolve_borg, dot_product, tetris, volcano_binpack
from heuristics.baselines.fgd import fgd
from heuristics.baselines.kube import (
    DEFAULT_SHAPE,
    balanced_allocation,
    kube_default,
    least_allocated,
    most_allocated,
    requested_to_capacity_ratio,
)
from heuristics.baselines.packing import best_fit, first_fit, gpu_packing, random_fit, worst_fit

__all__ = [
    "DEFAULT_SHAPE",
    "alphaevolve_borg",
    "balanced_allocation",
    "best_fit",
    "dot_product",
    "fgd",
    "first_fit",
    "gpu_packing",
    "kube_default",
    "least_allocated",
    "most_allocated",
    "random_fit",
    "requested_to_capacity_ratio",
    "tetris",
    "volcano_binpack",
    "worst_fit",
]
