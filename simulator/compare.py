"""Compare policies on one scenario over seeds: summaries and recovered compute.

Recovered compute is always stated against a named baseline run on the same scenario and
seeds, in resource units:

* saturate: extra capacity allocated at the target, ``(alloc% - baseline alloc%) / 100 *
  capacity``, in GPUs and CPU cores.
* replay: stranded capacity avoided, ``(baseline stranded share - stranded share) *
  capacity`` (time-averaged), in GPUs, CPU cores and GiB of memory.
* elastic: nodes (bins) saved, ``baseline bins - bins`` (mean per instance); in time
  (autoscaler), node-hours saved.

Nothing is stated (an empty mapping) when either side counted heuristic errors
(``on_heuristic_error="count"``): the pods a failing heuristic left out would count as
capacity recovered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from cluster_traces.model import Scenario
from heuristics.contract import Heuristic
from simulator import simulate
from simulator.results import SimulationResult

__all__ = [
    "HEADLINE_METRICS",
    "Comparison",
    "PolicyRuns",
    "compare",
    "recovered_compute",
]

HEADLINE_METRICS: Mapping[str, tuple[str, ...]] = {
    "saturate": (
        "gpu_alloc_at_130",
        "cpu_alloc_percent",
        "stranded_gpu_share",
        "stranded_cpu_share",
        "pods_failed",
    ),
    "replay": (
        "gpu_alloc_percent",
        "cpu_alloc_percent",
        "stranded_gpu_share_mean",
        "stranded_cpu_share_mean",
        "queue_delay_p90_s",
        "pods_failed",
    ),
    "elastic": (
        "excess_percent",
        "bins_used_mean",
        "l1_bound_mean",
        "node_hours",
        "nodes_used_max",
        "queue_delay_p90_s",
        "pods_failed",
    ),
}
"""The metrics the comparison table shows first, per protocol."""


@dataclass(frozen=True)
class PolicyRuns:
    """One policy's results, one per seed, in seed order."""

    name: str
    runs: tuple[SimulationResult, ...]

    def summary(self) -> dict[str, tuple[float, float]]:
        """Metric -> (mean, population standard deviation) over the seeds."""
        keys = sorted(set().union(*(r.metrics for r in self.runs))) if self.runs else []
        out = {}
        for key in keys:
            values = np.array([r.metrics[key] for r in self.runs if key in r.metrics])
            out[key] = (float(values.mean()), float(values.std()))
        return out


@dataclass(frozen=True)
class Comparison:
    """Every policy's runs on one scenario, plus the baseline's, over the same seeds."""

    scenario: str
    protocol: str
    seeds: tuple[int, ...]
    baseline: str
    policies: tuple[PolicyRuns, ...]
    recovered: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def policy(self, name: str) -> PolicyRuns:
        """The runs of ``name``; raises KeyError when it was not compared."""
        for runs in self.policies:
            if runs.name == name:
                return runs
        raise KeyError(name)


def recovered_compute(
    scenario: Scenario, runs: PolicyRuns, baseline: PolicyRuns
) -> dict[str, float]:
    """Compute recovered by ``runs`` against ``baseline`` (see the module docstring).

    Keys name the unit: ``gpus``, ``cpu_cores``, ``memory_gib``, ``nodes``,
    ``node_hours``. Means over seeds; positive means the policy does better than the
    baseline. Empty when either side counted heuristic errors.
    """
    mine, theirs = runs.summary(), baseline.summary()
    if any(side.get("heuristic_errors", (0.0, 0.0))[0] > 0 for side in (mine, theirs)):
        return {}

    def delta(key: str, sign: float = 1.0) -> float:
        if key not in mine or key not in theirs:
            return float("nan")
        return sign * (mine[key][0] - theirs[key][0])

    protocol = scenario.replay.protocol
    if scenario.instances or protocol == "elastic":
        if "node_hours" in mine:  # elastic in time, with the autoscaler
            return {"node_hours": delta("node_hours", -1.0)}
        return {"nodes": delta("bins_used_mean", -1.0)}
    assert scenario.cluster is not None
    totals = scenario.cluster.totals()
    gpus, cores, gib = totals["gpu"], totals["cpu_milli"] / 1000, totals["memory_mib"] / 1024
    if protocol == "saturate":
        return {
            "gpus": delta("gpu_alloc_at_130") / 100 * gpus,
            "cpu_cores": delta("cpu_alloc_percent") / 100 * cores,
        }
    return {
        "gpus": delta("stranded_gpu_share_mean", -1.0) * gpus,
        "cpu_cores": delta("stranded_cpu_share_mean", -1.0) * cores,
        "memory_gib": delta("stranded_memory_share_mean", -1.0) * gib,
    }


def compare(
    scenario: Scenario,
    policies: Sequence[tuple[str, Heuristic]],
    seeds: Sequence[int],
    baseline: tuple[str, Heuristic],
    progress: Callable[[str, int], None] | None = None,
    **options: object,
) -> Comparison:
    """Simulate every policy (and the baseline, if not among them) for every seed.

    Raises what :func:`simulator.simulate` raises.
    """
    wanted = list(policies)
    if baseline[0] not in {name for name, _ in wanted}:
        wanted.append(baseline)
    results = []
    for name, heuristic in wanted:
        runs = []
        for seed in seeds:
            if progress is not None:
                progress(name, seed)
            runs.append(simulate(scenario, heuristic, seed=seed, **options))
        results.append(PolicyRuns(name, tuple(runs)))
    by_name = {r.name: r for r in results}
    recovered = {
        r.name: recovered_compute(scenario, r, by_name[baseline[0]])
        for r in results
        if r.name != baseline[0]
    }
    return Comparison(
        scenario=scenario.name,
        protocol="elastic" if scenario.instances else scenario.replay.protocol,
        seeds=tuple(seeds),
        baseline=baseline[0],
        policies=tuple(results),
        recovered=recovered,
    )
