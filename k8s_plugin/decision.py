"""One scheduling decision: feasibility, the heuristic under a time budget, the fallback.

The candidates are the request's nodes that :func:`heuristics.feasibility.feasible` accepts
(the simulator's rule); the heuristic scores them through the contract's
:class:`~heuristics.contract.NodeView`, and :func:`heuristics.contract.choose` picks the
winner (ties to the lowest cluster index), so the simulator would place the pod on the
same node. A heuristic that raises, overruns its budget, returns NaN or the wrong shape
is replaced by the baseline for that call, and the reason is returned for counting.
The heuristic runs under its time budget through :class:`~k8s_plugin.runner.HeuristicRunner`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cluster_traces.model import FloatArray, IntArray
from heuristics.contract import Context, Heuristic, NodeState, NodeView, Pod, choose
from heuristics.feasibility import feasible
from heuristics.fragmentation import stranded_increase
from k8s_plugin.metrics import to_metric_units
from k8s_plugin.runner import HeuristicRunner

__all__ = ["Decision", "counterfactual", "decide", "to_priorities"]


@dataclass(frozen=True)
class Decision:
    """The outcome of scoring one pod against its candidate nodes.

    Attributes:
        candidates: cluster indices of the feasible candidates, ascending.
        scores: the scores that decided (heuristic's, or baseline's on fallback), one per
            candidate; None when there is no candidate or both failed.
        chosen: cluster index of the winning node, or None.
        baseline_chosen: the baseline's choice (for counterfactuals), or None.
        fallback: why the baseline answered instead of the heuristic, or None.
    """

    candidates: IntArray
    scores: FloatArray | None
    chosen: int | None
    baseline_chosen: int | None
    fallback: str | None


def decide(
    state: NodeState,
    ctx: Context,
    requests: tuple[Pod, Pod],
    candidates: IntArray,
    heuristic: Heuristic,
    baseline: Heuristic,
    runner: HeuristicRunner,
    *,
    scoring: bool = True,
) -> Decision:
    """Score ``requests`` (fit, score) over the feasible subset of ``candidates``.

    Feasibility uses the fit requests; the heuristic sees the scoring requests (with
    kube-scheduler's non-zero defaults for containers that state none). With ``scoring``
    False only the feasible candidates are decided (no heuristic or baseline call).
    """
    fit, score = requests
    requested = np.zeros(len(state), dtype=bool)
    requested[candidates] = True
    index = feasible(state, fit)
    index = index[requested[index]]
    nodes = NodeView(state, index)
    if len(nodes) == 0 or not scoring:
        return Decision(index, None, None, None, None)
    baseline_scores, baseline_failure = runner.run(baseline, score, nodes, ctx, inline=True)
    baseline_chosen = None if baseline_scores is None else choose(baseline_scores, nodes)
    scores, failure = runner.run(heuristic, score, nodes, ctx)
    if scores is None:
        scores = baseline_scores
        if baseline_failure is not None:
            failure = "baseline_failed"
    chosen = None if scores is None else choose(scores, nodes)
    return Decision(index, scores, chosen, baseline_chosen, failure)


def counterfactual(
    state: NodeState, ctx: Context, pod: Pod, chosen: int, baseline_chosen: int
) -> dict[str, float]:
    """Stranded capacity after the baseline's choice minus after the heuristic's, per
    resource in metric units (positive: the heuristic strands less)."""
    if chosen == baseline_chosen:
        return {}
    increase = stranded_increase(pod, NodeView(state, np.array([chosen, baseline_chosen])), ctx)
    return to_metric_units({k: float(v[1] - v[0]) for k, v in increase.items()})


def to_priorities(scores: FloatArray, low: int = 1, high: int = 10) -> IntArray:
    """Heuristic scores mapped linearly onto integers ``low..high`` (the one normalisation).

    The best score gets ``high`` and the worst ``low``; equal scores all get ``high``.
    Order is preserved (never reversed); close scores may share an integer.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) == 0:
        return np.zeros(0, dtype=np.int64)
    lowest, highest = float(scores.min()), float(scores.max())
    if not highest > lowest:
        return np.full(len(scores), high, dtype=np.int64)
    # Scale in two steps so a huge spread (1e308) cannot overflow to inf.
    unit = (scores / 2 - lowest / 2) / (highest / 2 - lowest / 2)
    return np.clip(np.rint(low + unit * (high - low)), low, high).astype(np.int64)
