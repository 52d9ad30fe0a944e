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
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest

from cluster_traces.model import Cluster, Replay, Scenario, Workload
from heuristics.registry import resolve
from simulator import simulate

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


def simulated_delay(pop_from_backoff: bool) -> float:
    """The simulator's wait for ``waiter``: both pods arrive at 0, ``holder`` is placed
    and leaves at ``HOLD_S``, ``waiter`` fails at 0 and backs off ``BACKOFF_S``."""
    nan = [float("nan")] * 2
    workload = Workload(
        names=["holder", "waiter"],
        cpu_milli=[4000, 4000],
        memory_mib=[1024, 1024],
        num_gpu=[0, 0],
        gpu_milli=[0, 0],
        gpu_spec=["", ""],
        qos=["", ""],
        priority=[0, 0],
        arrival_s=[0.0, 0.0],
        departure_s=[HOLD_S, nan[0]],
    )
    result = simulate(
        Scenario("queue-e2e", NODE, workload, Replay("replay")),
        resolve("first-fit"),
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
    config = render_scheduler_config(kubeconfig=str(plane.scheduler_kubeconfig))
    config["podInitialBackoffSeconds"] = BACKOFF_S
    config["podMaxBackoffSeconds"] = BACKOFF_S
    plane.start_scheduler(config, feature_gates={GATE: pop_from_backoff})
    try:
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
    finally:
        for name in ("holder", "waiter"):
            plane.delete_pod(name)
        wait_until(
            "no pods left",
            lambda: True if not plane.core.list_namespaced_pod("default").items else None,
            30,
        )
        plane.stop_scheduler()


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
