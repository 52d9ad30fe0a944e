"""Sim-to-real parity of the pending queue: a pod backing off is retried as the real
kube-scheduler retries it, with ``SchedulerPopFromBackoffQ`` on (its default since 1.33)
and off, and the simulator's replay predicts both (``pop_from_backoff``).

Specification: on one 4-core node, pod ``holder`` takes the whole node; pod ``waiter``
(4 cores) is tried, fails and backs off for 10 s (``podInitialBackoffSeconds`` =
``podMaxBackoffSeconds`` = 10). ``HOLD_S`` after that failure ``holder`` is deleted.
With the gate on, kube-scheduler pops ``waiter`` from its backoff queue as soon as the
deletion frees the node; with it off, ``waiter`` waits for its backoff to end. Each
measured delay from the failure to the binding is within ``TOLERANCE_S`` of the delay the
simulator's replay gives ``waiter`` (``pop_from_backoff`` on and off), and the two
measured delays are ``BACKOFF_S - HOLD_S`` apart to within the same tolerance.

Specification of the backoff queue's order: ``holder`` takes 3.5 of the node's 4 cores.
Pod ``old`` (3.5 cores) fails, then fails again each time a half-core filler is bound and
deleted, until its backoff is the 10 s cap. Pod ``new`` (3.5 cores) arrives and fails
once (a 1 s backoff). Within that second ``holder`` is deleted, which frees room for one
of them. Both are backing off; kube-scheduler pops the pod whose backoff ends first, so
``new`` overtakes ``old``, who waited longest. The replay predicts the same, and would
predict ``old`` if it ordered its backoffs by queue time. Under load this starves pods
that have waited long (docs/simulator.md, "replay").
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from cluster_traces.model import Cluster, Replay, Scenario, Workload
from heuristics.registry import resolve
from simulator import SimulationResult, simulate

from .binaries import Binaries
from .controlplane import ControlPlane
from .manifests import pod_manifest
from .processes import wait_until
from .scheduler_config import render_scheduler_config

BACKOFF_S = 10
HOLD_S = 2.0
TOLERANCE_S = 1.5
"""kube-scheduler moves finished backoffs on a 1 s tick; the rest is polling (50 ms) and
the API round trips."""
GATE = "SchedulerPopFromBackoffQ"
INITIAL_BACKOFF_S = 1
FILLER_CYCLES = 5
"""Filler deletions while ``old`` waits: with its first try, six failures, which double its
backoff from 1 s to the 10 s cap."""
HOLDER_MILLI, FILLER_MILLI, WAITER_MILLI = 3500, 500, 3500
"""Without ``holder`` the node fits one waiter, not two; with it, only a filler."""
NODE = Cluster(
    names=np.array(["queue-a"]),
    cpu_milli=np.array([4000]),
    memory_mib=np.array([16_384]),
    gpu_count=np.array([0]),
    gpu_model=np.array([""]),
    source="e2e-queue",
)


@pytest.fixture(scope="module")
def plane(
    e2e_binaries: Binaries, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ControlPlane]:
    """A control plane of its own with the one node (no scheduler yet)."""
    plane = ControlPlane.start(e2e_binaries, tmp_path_factory.mktemp("queue"))
    try:
        plane.create_nodes(NODE)
        yield plane
    finally:
        plane.stop()


def replay_on_node(
    names: list[str],
    cpu_milli: list[int],
    arrival_s: list[float],
    departure_s: list[float],
    **options: Any,
) -> SimulationResult:
    """The simulator's replay of pods (1 GiB each, no GPUs) on ``NODE``, first fit."""
    count = len(names)
    workload = Workload(
        names=names,
        cpu_milli=cpu_milli,
        memory_mib=[1024] * count,
        num_gpu=[0] * count,
        gpu_milli=[0] * count,
        gpu_spec=[""] * count,
        qos=[""] * count,
        priority=[0] * count,
        arrival_s=arrival_s,
        departure_s=departure_s,
    )
    return simulate(
        Scenario("queue-e2e", NODE, workload, Replay("replay")), resolve("first-fit"), **options
    )


@contextmanager
def scheduler_on(
    plane: ControlPlane, initial_backoff_s: int, pop_from_backoff: bool
) -> Iterator[list[str]]:
    """kube-scheduler with these backoff settings for one story; yields the list the story
    appends its pods' names to, and deletes them all afterwards."""
    config = render_scheduler_config(kubeconfig=str(plane.scheduler_kubeconfig))
    config["podInitialBackoffSeconds"] = initial_backoff_s
    config["podMaxBackoffSeconds"] = BACKOFF_S
    plane.start_scheduler(config, feature_gates={GATE: pop_from_backoff})
    names: list[str] = []
    try:
        yield names
    finally:
        for name in names:
            plane.delete_pod(name)
        wait_until(
            "no pods left",
            lambda: True if not plane.core.list_namespaced_pod("default").items else None,
            30,
        )
        plane.stop_scheduler()


def simulated_delay(pop_from_backoff: bool) -> float:
    """The simulator's wait for ``waiter``: both pods arrive at 0, ``holder`` is placed
    and leaves at ``HOLD_S``, ``waiter`` fails at 0 and backs off ``BACKOFF_S``."""
    result = replay_on_node(
        ["holder", "waiter"],
        [4000, 4000],
        [0.0, 0.0],
        [HOLD_S, float("nan")],
        backoff_initial_s=BACKOFF_S,
        backoff_max_s=BACKOFF_S,
        pop_from_backoff=pop_from_backoff,
    )
    assert result.placements.tolist() == [0, 0]
    return result.metrics["queue_delay_p99_s"] / 0.99  # the delays are 0 and the waiter's


def unschedulable(plane: ControlPlane, name: str) -> bool | None:
    for condition in plane.read_pod(name).status.conditions or ():
        if condition.type == "PodScheduled" and condition.reason == "Unschedulable":
            return True
    return None


def measured_delay(plane: ControlPlane, pop_from_backoff: bool) -> float:
    """Seconds from ``waiter``'s failed attempt to its binding, under the real scheduler."""
    with scheduler_on(plane, BACKOFF_S, pop_from_backoff) as names:
        names += ["holder", "waiter"]
        plane.create_pod(pod_manifest("holder", cpu_milli=4000, memory_mib=1024))
        plane.wait_for_binding("holder")
        plane.create_pod(pod_manifest("waiter", cpu_milli=4000, memory_mib=1024))
        wait_until(
            "waiter's failed attempt", lambda: unschedulable(plane, "waiter"), 30, interval_s=0.05
        )
        failed = time.monotonic()
        time.sleep(max(0.0, failed + HOLD_S - time.monotonic()))
        plane.delete_pod("holder")
        plane.wait_for_binding("waiter", timeout_s=4 * BACKOFF_S)
        return time.monotonic() - failed


def test_a_pod_backing_off_is_retried_as_the_real_scheduler_retries_it(
    plane: ControlPlane,
) -> None:
    measured = {pop: measured_delay(plane, pop) for pop in (True, False)}
    simulated = {pop: simulated_delay(pop) for pop in (True, False)}
    assert simulated == {True: pytest.approx(HOLD_S), False: pytest.approx(BACKOFF_S)}
    for pop in (True, False):
        assert abs(measured[pop] - simulated[pop]) < TOLERANCE_S, (measured, simulated)
    gap = measured[False] - measured[True]
    assert abs(gap - (BACKOFF_S - HOLD_S)) < TOLERANCE_S, measured


def simulated_overtaking() -> dict[str, int]:
    """The replay of the overtaking story: a filler comes and goes every second while
    ``old`` waits; ``new`` arrives just before ``holder`` leaves."""
    names = ["holder", "old", *(f"filler-{k}" for k in range(FILLER_CYCLES)), "new"]
    leave = float(FILLER_CYCLES)
    result = replay_on_node(
        names,
        [HOLDER_MILLI, WAITER_MILLI, *[FILLER_MILLI] * FILLER_CYCLES, WAITER_MILLI],
        [0.0, 0.1, *(float(k) for k in range(FILLER_CYCLES)), leave - 0.25],
        [leave, np.nan, *(k + 0.5 for k in range(FILLER_CYCLES)), np.nan],
        backoff_initial_s=INITIAL_BACKOFF_S,
        backoff_max_s=BACKOFF_S,
        pending_timeout_s=60,
    )
    return {name: int(node) for name, node in zip(names, result.placements.tolist(), strict=True)}


def measured_overtaking(plane: ControlPlane) -> dict[str, bool]:
    """Under the real scheduler: which of ``old`` and ``new`` is bound once ``holder``'s
    deletion frees room for one of them."""
    with scheduler_on(plane, INITIAL_BACKOFF_S, pop_from_backoff=True) as names:
        names += ["holder", "old", "new"]
        plane.create_pod(pod_manifest("holder", cpu_milli=HOLDER_MILLI, memory_mib=1024))
        plane.wait_for_binding("holder")
        plane.create_pod(pod_manifest("old", cpu_milli=WAITER_MILLI, memory_mib=1024))
        wait_until("old's failed attempt", lambda: unschedulable(plane, "old"), 30, interval_s=0.05)
        for k in range(FILLER_CYCLES):
            filler = f"filler-{k}"
            names.append(filler)
            plane.create_pod(pod_manifest(filler, cpu_milli=FILLER_MILLI, memory_mib=1024))
            plane.wait_for_binding(filler)
            plane.delete_pod(filler)  # frees half a core: old is tried, and fails
            time.sleep(0.5)
        plane.create_pod(pod_manifest("new", cpu_milli=WAITER_MILLI, memory_mib=1024))
        wait_until("new's failed attempt", lambda: unschedulable(plane, "new"), 30, interval_s=0.05)
        seen = time.monotonic()
        failures = failed_attempts(plane)
        plane.delete_pod("holder")  # the one event that frees room, for one of the two
        late = time.monotonic() - seen
        # The story's premises: old failed on arrival and at each filler's deletion (its
        # backoff is at the cap), new once, and holder went within new's 1 s backoff.
        assert failures == 1 + FILLER_CYCLES + 1
        assert late < 0.5, f"holder deleted {late:.2f} s after new's failure"
        wait_until(
            "one of old and new bound",
            lambda: plane.node_of("old") or plane.node_of("new"),
            4 * BACKOFF_S,
            interval_s=0.05,
        )
        time.sleep(1.0)  # old, popped after new, finds no room
        return {name: plane.node_of(name) is not None for name in ("old", "new")}


def failed_attempts(plane: ControlPlane) -> float:
    """kube-scheduler's count of scheduling attempts that found no node, all pods."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(plane.scheduler_metrics())
        for sample in family.samples
        if sample.name == "scheduler_schedule_attempts_total"
        and sample.labels.get("result") == "unschedulable"
    )


def test_a_newer_pod_with_a_shorter_backoff_overtakes_the_longest_waiting_one(
    plane: ControlPlane,
) -> None:
    simulated = simulated_overtaking()
    assert simulated["new"] == 0 and simulated["old"] == -1, simulated
    assert measured_overtaking(plane) == {"old": False, "new": True}
