"""The control plane the end-to-end tier runs on: a real kube-apiserver and kube-scheduler.

Specification:
- nodes built from a Cluster appear with the capacity, labels and Ready condition given;
- the default profile binds a pod to a node where it fits;
- a pod that fits nowhere stays Pending with a FailedScheduling event;
- the binforge profile binds pods that name it;
- the scheduler runs the extender stanza from render_scheduler_config and obeys it;
- stopping the control plane, or a failed start, leaves no process behind.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cluster_traces.alibaba_gpu import load_alibaba_gpu_nodes
from cluster_traces.model import Cluster

from .binaries import Binaries, read_versions
from .controlplane import ControlPlane
from .manifests import GPU_MODEL_LABEL, GPU_RESOURCE, pod_manifest
from .processes import StartupError, wait_until
from .scheduler_config import BINFORGE_SCHEDULER_NAME, render_scheduler_config

_names = (f"pod-{i}" for i in itertools.count())


def _parse_cpu_milli(quantity: str) -> int:
    return int(quantity[:-1]) if quantity.endswith("m") else int(quantity) * 1000


def _parse_memory_mib(quantity: str) -> int:
    if quantity.endswith("Mi"):
        return int(quantity[:-2])
    if quantity.endswith("Gi"):
        return int(quantity[:-2]) * 1024
    if quantity.endswith("Ki"):
        return int(quantity[:-2]) // 1024
    return int(quantity) // 2**20


def _process_gone(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_the_control_plane_runs_the_pinned_releases(control_plane: ControlPlane) -> None:
    versions = read_versions()
    assert control_plane.server_version() == versions.kubernetes
    assert control_plane.etcd_version() == versions.etcd.removeprefix("v")


def test_nodes_from_a_cluster_appear_ready_with_capacity_and_gpu_model_labels(
    control_plane: ControlPlane, small_cluster: Cluster
) -> None:
    listed: Any = control_plane.core.list_node()
    nodes = {node.metadata.name: node for node in listed.items}
    assert sorted(nodes) == sorted(small_cluster.names.tolist())
    for index, name in enumerate(small_cluster.names.tolist()):
        node = nodes[name]
        allocatable = node.status.allocatable
        assert _parse_cpu_milli(allocatable["cpu"]) == small_cluster.cpu_milli[index]
        assert _parse_memory_mib(allocatable["memory"]) == small_cluster.memory_mib[index]
        assert int(allocatable[GPU_RESOURCE]) == small_cluster.gpu_count[index]
        assert node.status.capacity == allocatable
        assert not node.spec.taints
        ready = [c for c in node.status.conditions if c.type == "Ready"]
        assert [c.status for c in ready] == ["True"]
        model = str(small_cluster.gpu_model[index])
        assert node.metadata.labels.get(GPU_MODEL_LABEL, "") == model


def test_a_subset_of_the_alibaba_gpu_cluster_is_created_and_its_gpu_model_labels_schedule(
    control_plane: ControlPlane, trace_dir: Path
) -> None:
    cluster = load_alibaba_gpu_nodes(trace_dir / "alibaba-gpu-v2023")
    a10 = np.flatnonzero(cluster.gpu_model == "A10")
    subset = cluster.take(np.concatenate([np.arange(100), a10]))
    names = control_plane.create_nodes(subset)
    pod = next(_names)
    try:
        listed: Any = control_plane.core.list_node(label_selector=f"{GPU_MODEL_LABEL}=A10")
        assert sorted(n.metadata.name for n in listed.items) == sorted(cluster.names[a10].tolist())
        control_plane.create_pod(
            pod_manifest(
                pod, cpu_milli=1000, memory_mib=1024, gpus=1, node_selector={GPU_MODEL_LABEL: "A10"}
            )
        )
        assert control_plane.wait_for_binding(pod) in set(cluster.names[a10].tolist())
    finally:
        control_plane.delete_pod(pod)
        control_plane.delete_nodes(names)


def test_default_profile_binds_a_pod_to_the_only_node_where_it_fits(
    control_plane: ControlPlane,
) -> None:
    # 90 cores fit only on cpu-a (96 cores); every other node has at most 64.
    name = next(_names)
    control_plane.create_pod(pod_manifest(name, cpu_milli=90_000, memory_mib=1024))
    try:
        assert control_plane.wait_for_binding(name) == "cpu-a"
    finally:
        control_plane.delete_pod(name)


def test_default_profile_binds_gpu_pods_only_to_nodes_with_enough_gpus(
    control_plane: ControlPlane, small_cluster: Cluster
) -> None:
    name = next(_names)
    control_plane.create_pod(pod_manifest(name, cpu_milli=1000, memory_mib=1024, gpus=4))
    try:
        node = control_plane.wait_for_binding(name)
        index = small_cluster.names.tolist().index(node)
        assert small_cluster.gpu_count[index] >= 4
    finally:
        control_plane.delete_pod(name)


def test_a_burst_of_pods_fills_every_gpu_exactly_once_and_the_next_pod_waits(
    control_plane: ControlPlane, small_cluster: Cluster
) -> None:
    # 18 one-GPU pods created back to back fill the 8 + 8 + 2 GPUs exactly.
    names = [next(_names) for _ in range(18)]
    extra = next(_names)
    try:
        for name in names:
            control_plane.create_pod(pod_manifest(name, cpu_milli=500, memory_mib=512, gpus=1))
        bindings = control_plane.wait_for_bindings(names)
        per_node = {node: list(bindings.values()).count(node) for node in set(bindings.values())}
        assert per_node == {"gpu-v100-a": 8, "gpu-v100-b": 8, "gpu-t4-a": 2}
        control_plane.create_pod(pod_manifest(extra, cpu_milli=500, memory_mib=512, gpus=1))
        with pytest.raises(TimeoutError, match=rf"1 pods unbound, first \['{extra}'\]"):
            control_plane.wait_for_bindings([extra], timeout_s=3.0)
    finally:
        for name in [*names, extra]:
            control_plane.delete_pod(name)


def test_a_pod_that_fits_nowhere_stays_pending_with_a_failed_scheduling_event(
    control_plane: ControlPlane,
) -> None:
    name = next(_names)
    control_plane.create_pod(pod_manifest(name, cpu_milli=1000, memory_mib=1024, gpus=16))
    try:
        event = wait_until(
            f"FailedScheduling event for {name}",
            lambda: next(
                (e for e in control_plane.events_for(name) if e.reason == "FailedScheduling"),
                None,
            ),
            30.0,
            alive=control_plane.scheduler,
        )
        assert GPU_RESOURCE in event.message
        # The event and the pod's status update are separate writes: wait for the status.
        scheduled = wait_until(
            f"PodScheduled condition of {name}",
            lambda: next(
                (
                    c
                    for c in control_plane.read_pod(name).status.conditions or []
                    if c.type == "PodScheduled"
                ),
                None,
            ),
            30.0,
            alive=control_plane.scheduler,
        )
        assert (scheduled.status, scheduled.reason) == ("False", "Unschedulable")
        pod = control_plane.read_pod(name)
        assert pod.status.phase == "Pending"
        assert pod.spec.node_name is None
    finally:
        control_plane.delete_pod(name)


def test_binforge_profile_binds_pods_that_name_it(control_plane: ControlPlane) -> None:
    name = next(_names)
    control_plane.create_pod(
        pod_manifest(
            name, cpu_milli=1000, memory_mib=1024, gpus=2, scheduler_name=BINFORGE_SCHEDULER_NAME
        ),
    )
    try:
        assert control_plane.wait_for_binding(name) in {"gpu-v100-a", "gpu-v100-b", "gpu-t4-a"}
        # The Scheduled event is written after the binding, by the scheduler's event
        # broadcaster: wait for it.
        scheduled = wait_until(
            f"Scheduled event for {name}",
            lambda: next(
                (e for e in control_plane.events_for(name) if e.reason == "Scheduled"), None
            ),
            30.0,
            alive=control_plane.scheduler,
        )
        assert scheduled.reporting_component == BINFORGE_SCHEDULER_NAME
    finally:
        control_plane.delete_pod(name)


def test_a_pod_naming_an_unknown_scheduler_is_left_alone(control_plane: ControlPlane) -> None:
    name = next(_names)
    control_plane.create_pod(
        pod_manifest(name, cpu_milli=100, memory_mib=64, scheduler_name="nobody-schedules-this"),
    )
    try:
        # The binforge pod below is created later and bound first: the scheduler has seen
        # both, so the unknown-scheduler pod staying unbound is not a timing accident.
        witness = next(_names)
        control_plane.create_pod(
            pod_manifest(
                witness, cpu_milli=100, memory_mib=64, scheduler_name=BINFORGE_SCHEDULER_NAME
            ),
        )
        control_plane.wait_for_binding(witness)
        assert control_plane.read_pod(name).spec.node_name is None
        control_plane.delete_pod(witness)
    finally:
        control_plane.delete_pod(name)


def test_stopping_the_control_plane_leaves_no_process_behind(
    e2e_binaries: Binaries, small_cluster: Cluster, tmp_path: Path
) -> None:
    plane = ControlPlane.start(e2e_binaries, tmp_path)
    try:
        plane.create_nodes(small_cluster.take([3]))
        plane.start_scheduler(render_scheduler_config(kubeconfig=str(plane.scheduler_kubeconfig)))
        processes = plane.processes
        assert [p.name for p in processes] == ["etcd", "kube-apiserver", "kube-scheduler-1"]
        assert all(p.running() for p in processes)
    finally:
        plane.stop()
    assert all(_process_gone(p.pid) for p in processes)


def test_a_scheduler_that_rejects_its_config_fails_loudly_and_leaves_no_process(
    control_plane: ControlPlane,
) -> None:
    bad = render_scheduler_config(kubeconfig=str(control_plane.scheduler_kubeconfig))
    bad["profiles"].append({"schedulerName": BINFORGE_SCHEDULER_NAME})  # duplicate profile
    with pytest.raises(StartupError, match="kube-scheduler"):
        control_plane.start_scheduler(bad, timeout_s=60.0)
    failed = control_plane.processes[-1]
    assert _process_gone(failed.pid)
    assert control_plane.scheduler is None
    # Leave the session's scheduler running for the tests that follow.
    control_plane.start_scheduler(
        render_scheduler_config(kubeconfig=str(control_plane.scheduler_kubeconfig))
    )
