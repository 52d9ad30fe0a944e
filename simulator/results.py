"""What a simulation returns: metrics with stable keys, curves for plots, placements.

The metric keys below are a public, stable vocabulary: the evolution engine reads them as
fitness, the CLI tabulates them, docs/simulator.md defines them. A key a protocol does not
measure is absent (never a made-up 0). Shares are fractions in 0..1; ``*_percent`` keys are
percentages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from cluster_traces.model import FloatArray, IntArray

__all__ = ["METRICS", "Curve", "SimulationResult"]

METRICS: Mapping[str, str] = {
    # every protocol
    "pods_arrived": "pods that arrived (saturate: resampled pods; elastic: items)",
    "pods_placed": "pods placed on a node at least once",
    "pods_failed": "pods never placed: unschedulable, timed out in the queue, or a heuristic error",
    "pods_unschedulable": "pods that fit no node even of an empty cluster (subset of pods_failed)",
    "heuristic_errors": "decisions where the heuristic raised or returned a bad shape/NaN (counted mode)",
    "decisions": "scheduling decisions taken (heuristic calls)",
    # saturate
    "arrived_gpu_percent": "saturate: arrived GPU requests in % of cluster GPU capacity at the end",
    "gpu_alloc_at_130": "saturate: allocated GPU share in % of capacity when arrivals reach the target (130%)",
    "gpu_alloc_percent": "allocated GPU capacity in % at the end (saturate) or time-averaged (replay)",
    "cpu_alloc_percent": "allocated CPU in % of capacity, as gpu_alloc_percent",
    "memory_alloc_percent": "allocated memory in % of capacity, as gpu_alloc_percent",
    "alloc_mean_percent": "mean of the *_alloc_percent over the resources the cluster has "
    "(GPU left out on CPU-only clusters); saturate: at the end",
    "unallocated_gpu_share": "free GPU capacity / GPU capacity at the end (0..1)",
    "stranded_gpu_share": "FGD fragmentation of GPU / GPU capacity at the end (0..1)",
    "stranded_cpu_share": "stranded CPU / CPU capacity at the end (0..1)",
    "stranded_memory_share": "stranded memory / memory capacity at the end (0..1)",
    "stranded_gpu_share_mean": "stranded GPU share averaged over the curve's sample points",
    "stranded_cpu_share_mean": "stranded CPU share averaged over the curve's sample points",
    "stranded_memory_share_mean": "stranded memory share averaged over the curve's sample points",
    "stranded_share_mean": "replay: stranded_gpu_share_mean on a cluster with GPUs, else stranded_cpu_share_mean",
    "stranded_gpu_at_100": "saturate: stranded GPU share when arrived GPU requests reach 100%",
    # replay
    "pods_pending_end": "replay: evicted pods still waiting at the end (never-placed ones have failed by then)",
    "pods_pending_mean": "replay: pods waiting in the queue, mean over the curve's samples",
    "pods_pending_fragmented_mean": "replay: waiting GPU pods no node can host although some node "
    "has their CPU, memory and GPU share free in total (split over GPUs), mean over the samples",
    "pods_evicted": "replay: pods evicted by node removals (requeued)",
    "queue_delay_p50_s": "replay: median wait from arrival to placement of placed pods, seconds",
    "queue_delay_p90_s": "replay: 90th percentile wait, seconds",
    "queue_delay_p99_s": "replay: 99th percentile wait, seconds",
    "nodes_used_max": "replay: most nodes holding a pod at once; elastic: most nodes open at once",
    "nodes_opened": "elastic in time: nodes the autoscaler opened (reopenings included)",
    "node_hours": "elastic in time: integral of open nodes over time, in node-hours",
    # elastic
    "bins_used_mean": "elastic: mean nodes (bins) opened per instance",
    "l1_bound_mean": "elastic: mean L1 lower bound per instance (max over resources of ceil(sum/cap))",
    "excess_percent": "elastic: (bins_used_mean - l1_bound_mean) / l1_bound_mean * 100 (FunSearch); "
    "absent after counted heuristic errors",
}
"""Every metric key a protocol may report, with its definition."""


@dataclass(frozen=True)
class Curve:
    """A metric sampled along the run: ``y[i]`` measured at ``x[i]`` (``x_name`` says what x is)."""

    x_name: str
    x: FloatArray
    y: FloatArray

    def __post_init__(self) -> None:
        x = np.array(self.x, dtype=np.float64)
        y = np.array(self.y, dtype=np.float64)
        if x.shape != y.shape or x.ndim != 1:
            raise ValueError(f"Curve: x {x.shape} and y {y.shape} must be 1-D of one length")
        x.setflags(write=False)
        y.setflags(write=False)
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)


@dataclass(frozen=True)
class SimulationResult:
    """The outcome of one simulation.

    Attributes:
        scenario: the scenario's name.
        policy: the heuristic's name ("" when it has none).
        protocol: "saturate", "replay" or "elastic".
        seed: the seed the run used.
        metrics: metric key (see :data:`METRICS`) -> value.
        curves: curve name -> :class:`Curve` (e.g. ``gpu_alloc_percent`` against
            ``arrived_gpu_percent`` for saturate, ``stranded_gpu_share`` against ``time_s``).
        placements: node index per pod in arrival order (the last node it was placed on),
            -1 when never placed. Elastic bin packing concatenates the instances' items.
        errors: the first heuristic error messages when errors are counted, not raised.
        elapsed_s: wall-clock seconds the run took (not part of ``metrics``: not deterministic).
    """

    scenario: str
    policy: str
    protocol: str
    seed: int
    metrics: Mapping[str, float]
    curves: Mapping[str, Curve] = field(default_factory=dict)
    placements: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    errors: tuple[str, ...] = ()
    elapsed_s: float = 0.0

    def __post_init__(self) -> None:
        unknown = sorted(set(self.metrics) - set(METRICS))
        if unknown:
            raise ValueError(f"SimulationResult.metrics: unknown keys {unknown}")
        placements = np.array(self.placements, dtype=np.int64)
        placements.setflags(write=False)
        object.__setattr__(self, "placements", placements)
        object.__setattr__(self, "metrics", {k: float(v) for k, v in self.metrics.items()})
