"""kube-scheduler's default profile places pods as the simulator's ``kube-default`` does,
and an extender in ``shadow`` mode changes nothing.

Specification: on 16 CPU nodes with distinct random capacities, ``PODS`` pods with the CPU
and memory requests of alibaba-gpu-v2023's pods, chosen so that no decision has a score tie
under ``kube-default`` (kube-scheduler breaks ties at random), are bound by the real
``default-scheduler`` profile exactly where the simulator's ``kube-default`` baseline puts
them, one by one and in bursts: this proves the baseline's formulas (NodeResourcesFit
LeastAllocated + NodeResourcesBalancedAllocation, upstream's integer arithmetic). The same
pods through the binforge profile, whose extender runs ``fgd`` in ``shadow`` mode, land on
the very same nodes, and the extender counted a shadow decision for each.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from .binaries import Binaries
from .parity import (
    PlaneInstance,
    Serve,
    clear_pods,
    distinct_cluster,
    parity_instance,
    replay_through_scheduler,
    simulated_nodes,
    started_instance,
    untied_pods,
)
from .scheduler_config import BINFORGE_SCHEDULER_NAME, ExtenderSettings, render_scheduler_config

PODS = 100
BURST = 20


@pytest.fixture(scope="module")
def untied(
    e2e_binaries: Binaries, trace_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PlaneInstance]:
    """A control plane of its own with the 16 distinct nodes (no scheduler yet)."""
    _, trace = parity_instance(trace_dir, gpu_nodes=1, cpu_nodes=0, pods=400)
    cpu_only = replace(
        trace,
        num_gpu=np.zeros(len(trace), dtype=np.int64),
        gpu_milli=np.zeros(len(trace), dtype=np.int64),
    )
    cluster = distinct_cluster(16, seed=0)
    workload = untied_pods(cluster, cpu_only, "kube-default", PODS)
    assert len(workload) == PODS
    expected = simulated_nodes(cluster, workload, "kube-default")
    assert all(expected)
    workdir = tmp_path_factory.mktemp("baseline")
    with started_instance(e2e_binaries, cluster, workload, expected, workdir) as instance:
        yield instance


def test_the_default_profile_binds_every_pod_where_kube_default_puts_it(
    untied: PlaneInstance,
) -> None:
    plane = untied.plane
    clear_pods(plane)
    plane.start_scheduler(render_scheduler_config(kubeconfig=str(plane.scheduler_kubeconfig)))
    try:
        one_by_one = replay_through_scheduler(
            plane, untied.workload, scheduler_name=None, prefix="default"
        )
        clear_pods(plane)
        in_bursts = replay_through_scheduler(
            plane, untied.workload, scheduler_name=None, prefix="default-burst", burst=BURST
        )
    finally:
        plane.stop_scheduler()
        clear_pods(plane)
    print(
        f"kube-default parity, {PODS} untied pods on 16 nodes: one by one "
        f"{sum(a == b for a, b in zip(one_by_one, untied.expected, strict=True))}/{PODS}, "
        f"bursts of {BURST} "
        f"{sum(a == b for a, b in zip(in_bursts, untied.expected, strict=True))}/{PODS}"
    )
    assert len(set(untied.expected)) > 8, "the instance must spread over many nodes"
    assert one_by_one == untied.expected
    assert in_bursts == untied.expected


def test_an_extender_in_shadow_mode_changes_no_binding(untied: PlaneInstance) -> None:
    plane = untied.plane
    clear_pods(plane)
    serve = Serve.start(plane, untied.workdir, mode="shadow", heuristic="fgd",
                        baseline="kube-default")  # fmt: skip
    try:
        plane.start_scheduler(
            render_scheduler_config(
                kubeconfig=str(plane.scheduler_kubeconfig),
                extender=ExtenderSettings(url_prefix=f"{serve.url}/", weight=1),
            )
        )
        shadowed = replay_through_scheduler(
            plane, untied.workload, scheduler_name=BINFORGE_SCHEDULER_NAME, prefix="shadow"
        )
        decisions = serve.metric("binforge_decisions_total", mode="shadow")
        requests = serve.metric("binforge_requests_total", code="200")
    finally:
        serve.stop()
        plane.stop_scheduler()
        clear_pods(plane)
    assert shadowed == untied.expected
    assert decisions >= PODS
    assert requests >= 2 * PODS  # filter and prioritize for every pod
