"""How a simulation runs: one frozen, validated dataclass with every default in one place."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal, get_args

from cluster_traces.model import Seconds

__all__ = ["SimulationOptions"]

OnError = Literal["raise", "count"]
QueueOrder = Literal["last_attempt", "arrival"]


@dataclass(frozen=True)
class SimulationOptions:
    """Options of :func:`simulator.simulate` (passed as keyword arguments).

    Attributes:
        on_heuristic_error: ``"raise"`` stops at the first heuristic error with a
            :class:`~heuristics.contract.HeuristicError` naming the pod; ``"count"`` counts
            it, leaves that pod unplaced (failed) and goes on.
        sample_step_percent: saturate: record curves every this many % of arrived workload.
        sample_points: replay: how many evenly spaced times the curves are sampled at.
        backoff_initial_s: replay: first retry delay of an unschedulable pod (doubles each try).
        backoff_max_s: replay: longest retry delay.
        pending_timeout_s: replay: a pod still unplaced this long after arriving has failed.
        pop_from_backoff: replay: once no pod is due, pods whose backoff has not ended but
            for which capacity was freed are tried at once, soonest expiry first
            (kube-scheduler's ``SchedulerPopFromBackoffQ``, on by default since 1.33);
            ``False``: they wait for their backoff to end.
        queue_order: replay: within a priority, ``"last_attempt"`` tries pods in the order
            they last joined the queue: arrival, or the end of their last failed attempt
            (kube-scheduler's ``PrioritySort``); ``"arrival"`` tries them by arrival.
        node_template: elastic on a cluster: index of the cluster node whose shape new nodes
            take (-1: the most common node shape).
        max_nodes: elastic on a cluster: cap on nodes the autoscaler may open (0: one per pod).
        provision_delay_s: elastic with times: seconds from the autoscaler's decision until a
            new node accepts pods.
        scale_down_idle_s: elastic with times: an empty node is removed after this long.
    """

    on_heuristic_error: OnError = "raise"
    sample_step_percent: float = 2.0
    sample_points: int = 200
    backoff_initial_s: Seconds = 1.0
    backoff_max_s: Seconds = 10.0
    pending_timeout_s: Seconds = 3600.0
    pop_from_backoff: bool = True
    queue_order: QueueOrder = "last_attempt"
    node_template: int = -1
    max_nodes: int = 0
    provision_delay_s: Seconds = 0.0
    scale_down_idle_s: Seconds = 600.0

    def __post_init__(self) -> None:
        problems = []
        if self.on_heuristic_error not in ("raise", "count"):
            problems.append(
                f"on_heuristic_error: expected 'raise' or 'count', got {self.on_heuristic_error!r}"
            )
        if not self.sample_step_percent > 0:
            problems.append(f"sample_step_percent: expected > 0, got {self.sample_step_percent}")
        if self.sample_points < 2:
            problems.append(f"sample_points: expected >= 2, got {self.sample_points}")
        if not 0 < self.backoff_initial_s <= self.backoff_max_s:
            problems.append(
                "backoff_initial_s, backoff_max_s: expected 0 < initial <= max, got "
                f"{self.backoff_initial_s}, {self.backoff_max_s}"
            )
        if not isinstance(self.pop_from_backoff, bool):
            problems.append(
                f"pop_from_backoff: expected true or false, got {self.pop_from_backoff!r}"
            )
        if self.queue_order not in get_args(QueueOrder):
            expected = " or ".join(map(repr, get_args(QueueOrder)))
            problems.append(f"queue_order: expected {expected}, got {self.queue_order!r}")
        if not self.pending_timeout_s >= 0:
            problems.append(f"pending_timeout_s: expected >= 0, got {self.pending_timeout_s}")
        if self.max_nodes < 0:
            problems.append(f"max_nodes: expected >= 0, got {self.max_nodes}")
        if not self.provision_delay_s >= 0:
            problems.append(f"provision_delay_s: expected >= 0, got {self.provision_delay_s}")
        if not self.scale_down_idle_s >= 0:
            problems.append(f"scale_down_idle_s: expected >= 0, got {self.scale_down_idle_s}")
        if problems:
            raise ValueError("simulation options: " + "; ".join(problems))

    @classmethod
    def from_keywords(cls, options: dict[str, object]) -> SimulationOptions:
        """Build from ``simulate(**options)``; raises ValueError naming unknown options."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(
                f"simulation options: unknown {unknown}; expected some of {sorted(known)}"
            )
        return cls(**options)  # type: ignore[arg-type]

    def non_defaults(self) -> dict[str, object]:
        """The options set to other values than their defaults, in field order."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) != f.default
        }

    @classmethod
    def parse_setting(cls, text: str) -> tuple[str, object]:
        """``"NAME=VALUE"`` (a command line's ``--option``) as ``(name, value)``, the value
        converted to the field's type.

        Raises:
            ValueError: naming the setting, when it is not ``NAME=VALUE``, names no option,
                or its value does not convert.
        """
        name, equals, raw = text.partition("=")
        name, raw = name.strip(), raw.strip()
        known = {f.name: f for f in fields(cls)}
        if not equals or not name:
            raise ValueError(f"{text!r}: expected NAME=VALUE, e.g. backoff_max_s=10")
        if name not in known:
            raise ValueError(f"{text!r}: unknown option {name!r}; expected one of {sorted(known)}")
        default = known[name].default  # every option has a plain default: its type
        if isinstance(default, str):
            return name, raw
        if isinstance(default, bool):
            truth = {"true": True, "1": True, "false": False, "0": False}.get(raw.lower())
            if truth is None:
                raise ValueError(f"{text!r}: {name}: expected true, false, 1 or 0, got {raw!r}")
            return name, truth
        kind = float if isinstance(default, float) else int
        try:
            return name, kind(raw)
        except ValueError:
            raise ValueError(f"{text!r}: {name}: expected {kind.__name__}, got {raw!r}") from None
