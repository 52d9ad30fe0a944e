"""One scheduling decision: feasible nodes, the heuristic's scores, the choice, the booking.

Every protocol places pods through :class:`Placer`, so they share one feasibility rule
(:mod:`heuristics.feasibility`), one tie-break (:func:`heuristics.contract.choose`) and one
way of handling a misbehaving heuristic.
"""

from __future__ import annotations

import numpy as np

from cluster_traces.model import Cluster, Workload
from heuristics.contract import (
    Context,
    Heuristic,
    HeuristicError,
    NodeState,
    Pod,
    choose,
    describe_failure,
)
from heuristics.feasibility import Allocation, book, feasible, view
from simulator.options import SimulationOptions

__all__ = ["Placer", "hostable", "pods_of"]

_MAX_ERRORS_KEPT = 10


def pods_of(workload: Workload) -> list[Pod]:
    """The contract's :class:`Pod` for every pod of ``workload``, in order.

    Pods with equal requests share one (frozen) object, which keeps this cheap for
    resampled workloads.
    """
    extended_names = sorted(workload.extended)
    columns = [
        workload.cpu_milli.tolist(),
        workload.memory_mib.tolist(),
        workload.num_gpu.tolist(),
        workload.gpu_milli.tolist(),
        workload.gpu_spec.tolist(),
        workload.priority.tolist(),
        *(workload.extended[name].tolist() for name in extended_names),
    ]
    cache: dict[tuple[object, ...], Pod] = {}
    pods = []
    for row in zip(*columns, strict=True):
        pod = cache.get(row)
        if pod is None:
            cpu, memory, num_gpu, gpu_milli, spec, priority, *extended = row
            pod = cache[row] = Pod(
                cpu_milli=int(cpu),
                memory_mib=int(memory),
                num_gpu=int(num_gpu),
                gpu_milli=int(gpu_milli),
                gpu_models=frozenset(m for m in str(spec).split("|") if m),
                priority=int(priority),
                extended={n: int(v) for n, v in zip(extended_names, extended, strict=True)},
            )
        pods.append(pod)
    return pods


def hostable(cluster: Cluster, pods: list[Pod]) -> np.ndarray:
    """Per pod: whether some node of the *empty* cluster can host it (all nodes active)."""
    empty = NodeState(cluster)
    verdict: dict[int, bool] = {}
    out = np.zeros(len(pods), dtype=bool)
    for i, pod in enumerate(pods):
        key = id(pod)
        if key not in verdict:
            verdict[key] = len(feasible(empty, pod)) > 0
        out[i] = verdict[key]
    return out


class Placer:
    """Places pods on a node state with a heuristic; counts decisions and heuristic errors.

    Attributes:
        decisions: heuristic calls made.
        heuristic_errors: decisions the heuristic got wrong (counted mode only).
        errors: the first few error messages (counted mode only).
        last_had_no_room: whether the last :meth:`place` found no feasible node.
    """

    def __init__(
        self,
        state: NodeState,
        score: Heuristic,
        ctx: Context,
        options: SimulationOptions,
        where: str,
    ) -> None:
        self.state = state
        self.score = score
        self.ctx = ctx
        self.raise_errors = options.on_heuristic_error == "raise"
        self.where = where
        self.decisions = 0
        self.heuristic_errors = 0
        self.errors: list[str] = []
        self.last_had_no_room = False

    def place(self, pod: Pod, pod_index: int) -> Allocation | None:
        """Book ``pod`` on the heuristic's node; None when no node fits or it erred.

        Raises:
            HeuristicError: the heuristic raised or returned bad scores (raise mode),
                naming the scenario and the pod.
        """
        nodes = view(self.state, pod)
        self.last_had_no_room = len(nodes) == 0
        if self.last_had_no_room:
            return None
        self.decisions += 1
        try:
            node = choose(self.score(pod, nodes, self.ctx), nodes)
        except Exception as exc:
            what = describe_failure(exc, self.score)
            message = (
                f"heuristic on {self.where} pod {pod_index} (cpu_milli={pod.cpu_milli}, "
                f"memory_mib={pod.memory_mib}, num_gpu={pod.num_gpu}, "
                f"gpu_milli={pod.gpu_milli}; {len(nodes)} candidate nodes): {what}"
            )
            if self.raise_errors:
                raise HeuristicError(message) from exc
            self.heuristic_errors += 1
            if len(self.errors) < _MAX_ERRORS_KEPT:
                self.errors.append(message)
            return None
        # The node comes from this decision's feasible set on this same state.
        return book(self.state, node, pod)

    def pod_counts(self, placements: np.ndarray, can_host: np.ndarray) -> dict[str, float]:
        """The pod and decision metrics of a one-pass protocol, where a pod not placed
        (``placements`` is -1) failed: arrived, placed, failed, unschedulable (fits no node
        even of an empty cluster, ``~can_host``), heuristic errors and decisions."""
        placed = int((placements >= 0).sum())
        return {
            "pods_arrived": len(placements),
            "pods_placed": placed,
            "pods_failed": len(placements) - placed,
            "pods_unschedulable": int((~can_host).sum()),
            "heuristic_errors": self.heuristic_errors,
            "decisions": self.decisions,
        }
