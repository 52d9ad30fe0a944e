"""The ``saturate`` protocol (FGD, Weng et al. ATC'23): fill the cluster, never remove.

The workload is resampled with replacement until the arrived requests of the target
resource (GPU by default) reach ``target_percent`` (130) of the cluster's capacity
(:func:`cluster_traces.derive.inflate`, seeded), put in seeded random order, and scheduled
one pod at a time on an initially empty cluster. Nothing departs and a pod that fits
nowhere is not retried (it is counted as failed). Metrics are recorded against "arrived
workload in % of cluster capacity", 0..target, every ``sample_step_percent``.

Time plays no part, so no SimPy events are needed: this is a plain loop over pods.
"""

from __future__ import annotations

import numpy as np

from cluster_traces.derive import demand, inflate
from cluster_traces.model import Scenario, Workload
from heuristics.contract import Heuristic, NodeState
from heuristics.fragmentation import make_context
from simulator.metrics import snapshot
from simulator.options import SimulationOptions
from simulator.placement import Placer, hostable, pods_of
from simulator.results import Curve, SimulationResult

__all__ = ["arrival_order", "saturate"]

_CURVES = ("gpu_alloc_percent", "stranded_gpu_share", "stranded_cpu_share", "stranded_memory_share")


def _capacity(scenario: Scenario, resource: str) -> float:
    """Cluster capacity of ``resource`` in the unit of :func:`cluster_traces.derive.demand`."""
    assert scenario.cluster is not None
    totals = scenario.cluster.totals()
    if resource not in totals:
        raise ValueError(
            f"saturate {scenario.name}: target_resource: the cluster has no {resource!r}; "
            f"expected one of {sorted(totals)}"
        )
    return float(totals[resource])


def arrival_order(scenario: Scenario, seed: int) -> Workload:
    """The pods that arrive, in order: FGD's inflation of the workload, shuffled by seed."""
    assert scenario.cluster is not None and scenario.workload is not None
    replay = scenario.replay
    inflated = inflate(
        scenario.workload,
        scenario.cluster,
        resource=replay.target_resource,
        percent=replay.target_percent,
        seed=seed,
    )
    order = np.random.default_rng([seed, 130]).permutation(len(inflated))
    return inflated.take(order)


def saturate(
    scenario: Scenario, score: Heuristic, *, seed: int, options: SimulationOptions
) -> SimulationResult:
    """Run the saturate protocol; see the module docstring for what is measured."""
    if scenario.cluster is None or scenario.workload is None:
        raise ValueError(f"saturate {scenario.name}: needs a cluster and a workload")
    resource = scenario.replay.target_resource
    capacity = _capacity(scenario, resource)
    if capacity <= 0:
        raise ValueError(f"saturate {scenario.name}: the cluster has no {resource} capacity")
    arrivals = arrival_order(scenario, seed)
    arrived_percent = 100.0 * np.cumsum(demand(arrivals, resource)) / capacity
    pods = pods_of(arrivals)
    can_host = hostable(scenario.cluster, pods)
    state = NodeState(scenario.cluster)
    ctx = make_context(scenario.cluster, scenario.workload)
    placer = Placer(state, score, ctx, options, f"saturate {scenario.name}")
    placements = np.full(len(pods), -1, dtype=np.int64)
    step = options.sample_step_percent
    xs: list[float] = [0.0]
    rows = [snapshot(state, ctx)]
    next_sample = step
    at_100: float | None = None
    # Nothing is ever freed here, so a pod equal to one that found no node finds none either.
    no_room: set[int] = set()
    for i, pod in enumerate(pods):
        if can_host[i] and id(pod) not in no_room:
            allocation = placer.place(pod, i)
            if allocation is not None:
                placements[i] = allocation.node
            elif placer.last_had_no_room:
                no_room.add(id(pod))
        if arrived_percent[i] >= next_sample or i == len(pods) - 1:
            xs.append(float(arrived_percent[i]))
            rows.append(snapshot(state, ctx))
            if at_100 is None and arrived_percent[i] >= 100.0:
                at_100 = rows[-1]["stranded_gpu_share"]
            next_sample = (np.floor(arrived_percent[i] / step) + 1) * step
    final = rows[-1]
    metrics = {
        **placer.pod_counts(placements, can_host),
        "gpu_alloc_at_130": final["gpu_alloc_percent"],
        **final,
        **{
            f"{key}_mean": float(np.mean([row[key] for row in rows]))
            for key in ("stranded_gpu_share", "stranded_cpu_share", "stranded_memory_share")
        },
    }
    if resource == "gpu" and len(pods):
        metrics["arrived_gpu_percent"] = float(arrived_percent[-1])
    if at_100 is not None:
        metrics["stranded_gpu_at_100"] = at_100
    x_name = "arrived_gpu_percent" if resource == "gpu" else f"arrived_{resource}_percent"
    x = np.array(xs)
    curves = {key: Curve(x_name, x, np.array([row[key] for row in rows])) for key in _CURVES}
    return SimulationResult(
        scenario=scenario.name,
        policy="",
        protocol="saturate",
        seed=seed,
        metrics=metrics,
        curves=curves,
        placements=placements,
        errors=tuple(placer.errors),
    )
