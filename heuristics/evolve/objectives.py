"""Objectives computed from several simulator metrics (the config's ``evaluator.objective``).

Any simulator metric can be an objective by its name. The objectives below combine
metrics, for searches where one number alone would reward the wrong thing:

``stranded_share_guarded`` (replay, minimised): the time-averaged stranded share of the
cluster's headline resource (``stranded_share_mean``: GPUs when it has any, else CPU)
plus a penalty for the pods it did not serve::

    stranded_share_mean
      + FAILED_WEIGHT  * pods_failed / pods_arrived
      + PENDING_WEIGHT * pods_pending_mean / pods_arrived

Why: on a loaded replay a heuristic can lower the stranded share by leaving pods in the
queue or letting them time out (a pod that never runs strands nothing), so the stranded
share alone rewards refusing work. With ``FAILED_WEIGHT = 5`` one pod in a hundred
failing costs 0.05, more than twice the gap in stranded share between kube-default and
the best packing baseline on the loaded GPU replays (0.01 to 0.02), so in practice the
search cannot buy stranded share with failures; a pod waiting in the queue costs a
fifth of that (``PENDING_WEIGHT = 1``) per unit of time-averaged queue length, as
waiting is a delay, not a loss. A winner is still checked against kube-default's failed
and pending pods directly (``docs/results.md``, campaign 3): the penalty steers the
search, the check decides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from simulator.results import METRICS

__all__ = [
    "DERIVED_OBJECTIVES",
    "FAILED_WEIGHT",
    "PENDING_WEIGHT",
    "is_objective",
    "lower_is_better",
    "objective_value",
]

FAILED_WEIGHT = 5.0
"""Penalty per failed pod, as a share of the pods that arrived."""
PENDING_WEIGHT = 1.0
"""Penalty per pod of time-averaged queue length, as a share of the pods that arrived."""


def _stranded_share_guarded(metrics: Mapping[str, float]) -> float:
    arrived = max(float(metrics["pods_arrived"]), 1.0)
    return (
        float(metrics["stranded_share_mean"])
        + FAILED_WEIGHT * float(metrics["pods_failed"]) / arrived
        + PENDING_WEIGHT * float(metrics["pods_pending_mean"]) / arrived
    )


DERIVED_OBJECTIVES: Mapping[str, Callable[[Mapping[str, float]], float]] = {
    "stranded_share_guarded": _stranded_share_guarded,
}
"""Objectives that combine metrics, by name (all minimised)."""


_LOWER_IS_BETTER = frozenset(
    {
        "pods_failed",
        "pods_unschedulable",
        "heuristic_errors",
        "unallocated_gpu_share",
        "pods_pending_end",
        "pods_pending_mean",
        "pods_pending_fragmented_mean",
        "pods_evicted",
        "queue_delay_p50_s",
        "queue_delay_p90_s",
        "queue_delay_p99_s",
        "nodes_opened",
        "node_hours",
        "bins_used_mean",
        "excess_percent",
    }
)


def is_objective(name: str) -> bool:
    """Whether ``name`` is something a run can be judged by: a simulator metric
    (:data:`simulator.results.METRICS`) or a derived objective above."""
    return name in METRICS or name in DERIVED_OBJECTIVES


def lower_is_better(name: str) -> bool:
    """Whether a smaller value of metric or objective ``name`` is better: failed and
    waiting pods, queue delays, stranded shares, bins and nodes opened, and every derived
    objective above. (Allocations and placed pods are better higher; ``nodes_used_max``
    and the counts of arrivals and decisions are neither.)"""
    return name in _LOWER_IS_BETTER or name in DERIVED_OBJECTIVES or name.startswith("stranded")


def objective_value(metrics: Mapping[str, float], name: str) -> float:
    """The value of objective ``name``: a derived objective above, else the metric itself.

    Raises:
        KeyError: naming the objective when a metric it needs was not reported (for
            example a replay metric on a saturate scenario).
    """
    derived = DERIVED_OBJECTIVES.get(name)
    try:
        return derived(metrics) if derived is not None else float(metrics[name])
    except KeyError as exc:
        raise KeyError(f"objective {name!r}: metric {exc.args[0]!r} not reported") from None
