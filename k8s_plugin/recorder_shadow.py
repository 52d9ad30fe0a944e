"""What the extender in shadow mode would have reported for a recording, computed offline.

In shadow mode the extender changes nothing: kube-scheduler places every pod, and for each
decision the extender scores the pod with the heuristic and the baseline on the live state
and counts the stranded capacity the heuristic's node would have saved against the
baseline's (``binforge_counterfactual_recovered_total`` / ``..._lost_total``).
:func:`shadow_replay` walks a recording's real placements in time order and makes the very
same calls (:func:`~k8s_plugin.decision.decide`, :func:`~k8s_plugin.decision.counterfactual`,
the simulator's ``allocate``/``release``), so ``binforge whatif`` can predict those counters
before the extender is deployed, or check them after.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from cluster_traces.recording import Recording
from heuristics.contract import Context, Heuristic, NodeState, Pod
from heuristics.feasibility import Allocation, PlacementError, allocate, release
from heuristics.fragmentation import make_context
from k8s_plugin.cache import _CTX_REFRESH_S  # the extender's own refresh period
from k8s_plugin.config import ExtenderConfig
from k8s_plugin.decision import counterfactual, decide
from k8s_plugin.resources import DEFAULT_CPU_MILLI, DEFAULT_MEMORY_MIB
from k8s_plugin.runner import HeuristicRunner

__all__ = ["ShadowReport", "shadow_replay"]


@dataclass(frozen=True)
class ShadowReport:
    """The shadow-mode counters for one heuristic against one baseline.

    Attributes:
        decisions: bindings replayed (one extender decision each).
        differing: decisions where the heuristic and the baseline chose different nodes.
        recovered: per resource (``gpu``, ``cpu`` cores, ``memory`` bytes), stranded
            capacity saved where the heuristic's node was better (as the extender's counter).
        lost: the same where it was worse.
        unbookable: recorded bindings to an unknown node or that did not fit it
            (overcommitted by another scheduler); they are not booked.
    """

    decisions: int
    differing: int
    recovered: Mapping[str, float] = field(default_factory=dict)
    lost: Mapping[str, float] = field(default_factory=dict)
    unbookable: int = 0

    @property
    def net(self) -> dict[str, float]:
        """Recovered minus lost, per resource."""
        keys = sorted(set(self.recovered) | set(self.lost))
        return {k: self.recovered.get(k, 0.0) - self.lost.get(k, 0.0) for k in keys}


def _fit(recording: Recording, i: int) -> Pod:
    workload = recording.workload
    spec = str(workload.gpu_spec[i])
    return Pod(
        cpu_milli=int(workload.cpu_milli[i]),
        memory_mib=int(workload.memory_mib[i]),
        num_gpu=int(workload.num_gpu[i]),
        gpu_milli=int(workload.gpu_milli[i]),
        gpu_models=frozenset(spec.split("|")) if spec else frozenset(),
        priority=int(workload.priority[i]),
        extended={k: int(v[i]) for k, v in workload.extended.items()},
    )


def shadow_replay(
    recording: Recording,
    heuristic: Heuristic,
    baseline: Heuristic,
    config: ExtenderConfig | None = None,
) -> ShadowReport:
    """Replay the recorded bindings and count what shadow mode would have reported.

    The state before each binding holds the pods bound earlier and not yet gone; the
    reference shapes are learned from the pods alive at that time, as the extender learns
    them from its watch, and relearned at most every ``_CTX_REFRESH_S`` seconds, as the
    extender does. Bindings at time 0 (pods placed before recording started) are
    booked without a decision. A pod's scoring requests apply kube-scheduler's non-zero defaults
    to the whole pod (the recording keeps pod totals, not containers).
    """
    config = config or ExtenderConfig()
    workload = recording.workload
    state = NodeState(recording.cluster)
    index_of = {str(name): i for i, name in enumerate(recording.cluster.names)}
    steps: list[tuple[float, int, int]] = []
    for i, node in enumerate(recording.bound_node):
        if node:
            steps.append((recording.bound_s[i], 1, i))
            if not np.isnan(workload.departure_s[i]):
                steps.append((float(workload.departure_s[i]), 0, i))
    steps.sort()
    held: dict[int, Allocation] = {}
    recovered: dict[str, float] = {}
    lost: dict[str, float] = {}
    decisions = differing = unbookable = 0
    runner = HeuristicRunner(timeout_s=60.0, workers=1)
    candidates = np.arange(len(state), dtype=np.int64)
    ctx: Context | None = None
    ctx_at = 0.0
    try:
        for time_s, kind, i in steps:
            if kind == 0:
                if i in held:
                    release(state, held.pop(i))
                continue
            fit = _fit(recording, i)
            if time_s > 0.0:  # at 0: placed before the recording started, no decision seen
                if ctx is None or time_s - ctx_at >= _CTX_REFRESH_S:
                    alive = (workload.arrival_s <= time_s) & ~(workload.departure_s <= time_s)
                    ctx = make_context(
                        state, workload.take(np.flatnonzero(alive)), config.reference_coverage
                    )
                    ctx_at = time_s
                score = replace(
                    fit,
                    cpu_milli=fit.cpu_milli or DEFAULT_CPU_MILLI,
                    memory_mib=fit.memory_mib or DEFAULT_MEMORY_MIB,
                )
                decision = decide(state, ctx, (fit, score), candidates, heuristic, baseline, runner)
                decisions += 1
                if decision.chosen is not None and decision.baseline_chosen is not None:
                    differing += decision.chosen != decision.baseline_chosen
                    difference = counterfactual(
                        state, ctx, fit, decision.chosen, decision.baseline_chosen
                    )
                    for resource, value in difference.items():
                        if value:  # as the extender's counters: zero counts nowhere
                            into = recovered if value > 0 else lost
                            into[resource] = into.get(resource, 0.0) + abs(value)
            booked = _book(state, index_of.get(recording.bound_node[i]), fit)
            if booked is None:
                unbookable += 1
            else:
                held[i] = booked
    finally:
        runner.close()
    return ShadowReport(decisions, differing, recovered, lost, unbookable)


def _book(state: NodeState, index: int | None, fit: Pod) -> Allocation | None:
    """Book a recorded binding; None when the node is unknown or it does not fit."""
    if index is None:
        return None
    try:
        return allocate(state, index, fit)
    except PlacementError:
        return None
