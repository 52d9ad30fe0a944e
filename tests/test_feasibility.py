"""Specification of heuristics.feasibility: which nodes can host a pod, which GPUs it takes,
and booking and releasing it on a node state."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cluster_traces.alibaba_gpu import load_alibaba_gpu_nodes, load_alibaba_gpu_pods
from cluster_traces.model import Cluster
from heuristics._arrays import count_per_row
from heuristics.contract import NodeState, Pod
from heuristics.feasibility import (
    DEFAULT_CPU_REQUEST_MILLI,
    DEFAULT_MEMORY_REQUEST_MIB,
    PlacementError,
    allocate,
    book,
    feasible,
    fits,
    gpu_slots,
    overcommit,
    release,
    view,
)


def make_state(
    cpu: list[int],
    memory: list[int] | None = None,
    gpus: list[int] | None = None,
    models: list[str] | None = None,
    extended: dict[str, list[int]] | None = None,
) -> NodeState:
    n = len(cpu)
    gpus = gpus if gpus is not None else [0] * n
    return NodeState(
        Cluster(
            names=np.array([f"n{i}" for i in range(n)]),
            cpu_milli=np.array(cpu),
            memory_mib=np.array(memory if memory is not None else [1024] * n),
            gpu_count=np.array(gpus),
            gpu_model=np.array(
                models if models is not None else ["" if g == 0 else "A" for g in gpus]
            ),
            extended={k: np.array(v) for k, v in (extended or {}).items()},
        )
    )


def test_cpu_and_memory_must_both_fit() -> None:
    state = make_state(cpu=[1000, 4000, 4000], memory=[8192, 1024, 8192])
    assert feasible(state, Pod(cpu_milli=2000, memory_mib=2048)).tolist() == [2]


def test_exact_fit_is_feasible() -> None:
    state = make_state(cpu=[2000], memory=[2048])
    assert feasible(state, Pod(cpu_milli=2000, memory_mib=2048)).tolist() == [0]


def test_indices_are_ascending_cluster_order() -> None:
    state = make_state(cpu=[4000, 1000, 4000, 4000])
    result = feasible(state, Pod(cpu_milli=2000, memory_mib=1))
    assert result.tolist() == [0, 2, 3]
    assert result.dtype == np.int64


def test_inactive_nodes_never_host() -> None:
    state = make_state(cpu=[4000, 4000])
    state.active[0] = False
    assert feasible(state, Pod(cpu_milli=1, memory_mib=1)).tolist() == [1]
    assert fits(state, 0, Pod(cpu_milli=1, memory_mib=1)) == "node is not active"


def test_gpu_pod_needs_enough_gpus_with_enough_free_share() -> None:
    state = make_state(cpu=[8000] * 3, gpus=[0, 1, 2])
    state.gpu_free_milli[2, 0] = 300  # node 2: one GPU at 300 free, one idle
    state.sync_gpu_free()
    one_shared = Pod(cpu_milli=1000, memory_mib=1, num_gpu=1, gpu_milli=500)
    two_whole = Pod(cpu_milli=1000, memory_mib=1, num_gpu=2, gpu_milli=1000)
    assert feasible(state, one_shared).tolist() == [1, 2]
    assert feasible(state, two_whole).tolist() == []
    state.gpu_free_milli[2, 0] = 1000
    state.sync_gpu_free()
    assert feasible(state, two_whole).tolist() == [2]


def test_shared_pod_fits_a_partly_used_gpu_with_exactly_its_share_left() -> None:
    state = make_state(cpu=[8000], gpus=[1])
    state.gpu_free_milli[0, 0] = 250
    state.sync_gpu_free()
    assert feasible(state, Pod(1000, 1, num_gpu=1, gpu_milli=250)).tolist() == [0]
    assert feasible(state, Pod(1000, 1, num_gpu=1, gpu_milli=251)).tolist() == []


def test_gpu_model_constraint_empty_means_any() -> None:
    state = make_state(cpu=[8000] * 3, gpus=[1, 1, 1], models=["A", "B", "C"])
    assert feasible(state, Pod(1, 1, 1, 1000)).tolist() == [0, 1, 2]
    assert feasible(state, Pod(1, 1, 1, 1000, frozenset({"B", "C"}))).tolist() == [1, 2]
    assert feasible(state, Pod(1, 1, 1, 1000, frozenset({"Z"}))).tolist() == []
    reason = fits(state, 0, Pod(1, 1, 1, 1000, frozenset({"B"})))
    assert reason is not None and "gpu model" in reason


def test_cpu_only_pod_ignores_gpu_models_and_may_use_gpu_nodes() -> None:
    state = make_state(cpu=[8000, 8000], gpus=[0, 4], models=["", "A"])
    assert feasible(state, Pod(1000, 1, gpu_models=frozenset({"Z"}))).tolist() == [0, 1]


def test_extended_resources_must_fit_and_missing_ones_count_as_zero() -> None:
    state = make_state(cpu=[8000] * 3, extended={"rdma": [0, 1, 2]})
    assert feasible(state, Pod(1, 1, extended={"rdma": 2})).tolist() == [2]
    assert feasible(state, Pod(1, 1, extended={"rdma": 0})).tolist() == [0, 1, 2]
    assert feasible(state, Pod(1, 1, extended={"fpga": 1})).tolist() == []
    assert fits(state, 0, Pod(1, 1, extended={"fpga": 1})) == "fpga: needs 1, free 0"


def test_view_holds_the_feasible_nodes_arrays() -> None:
    state = make_state(cpu=[1000, 4000, 8000])
    nodes = view(state, Pod(cpu_milli=2000, memory_mib=1))
    assert nodes.index.tolist() == [1, 2]
    assert nodes.cpu_free.tolist() == [4000, 8000]


@pytest.mark.parametrize("width", [1, 2, 3, 4, 8, 16])
def test_row_counting_matches_numpy_for_every_width(width: int) -> None:
    flags = np.random.default_rng(width).random((257, width)) < 0.5
    assert count_per_row(flags).tolist() == flags.sum(axis=1).tolist()


def test_shared_pod_takes_the_fitting_gpu_with_least_free_share() -> None:
    state = make_state(cpu=[8000], gpus=[4])
    state.gpu_free_milli[0] = [1000, 600, 300, 600]
    state.sync_gpu_free()
    assert gpu_slots(state, 0, Pod(1, 1, 1, 500)).tolist() == [1]  # 600 beats 1000; tie -> slot 1
    assert gpu_slots(state, 0, Pod(1, 1, 1, 200)).tolist() == [2]


def test_whole_gpu_pod_takes_the_lowest_index_idle_gpus() -> None:
    state = make_state(cpu=[8000], gpus=[4])
    state.gpu_free_milli[0] = [500, 1000, 1000, 1000]
    state.sync_gpu_free()
    assert gpu_slots(state, 0, Pod(1, 1, 2, 1000)).tolist() == [1, 2]


def test_cpu_only_pod_takes_no_gpu_and_too_few_gpus_raise() -> None:
    state = make_state(cpu=[8000], gpus=[1])
    assert gpu_slots(state, 0, Pod(1, 1)).tolist() == []
    with pytest.raises(PlacementError, match="needs 2 GPU"):
        gpu_slots(state, 0, Pod(1, 1, 2, 1000))


def test_allocate_books_every_resource_and_release_restores_the_state() -> None:
    state = make_state(cpu=[8000], memory=[4096], gpus=[2], extended={"rdma": [2]})
    before = {
        "cpu": state.cpu_free.copy(),
        "memory": state.memory_free.copy(),
        "gpu": state.gpu_free_milli.copy(),
        "rdma": state.extended_free["rdma"].copy(),
    }
    pod = Pod(cpu_milli=3000, memory_mib=1024, num_gpu=1, gpu_milli=400, extended={"rdma": 1})
    allocation = allocate(state, 0, pod)
    assert allocation.gpu_slots == (0,)
    assert state.cpu_free.tolist() == [5000]
    assert state.memory_free.tolist() == [3072]
    assert state.gpu_free_milli[0].tolist() == [600, 1000]
    assert state.extended_free["rdma"].tolist() == [1]
    assert state.pods.tolist() == [1]
    release(state, allocation)
    assert state.cpu_free.tolist() == before["cpu"].tolist()
    assert state.memory_free.tolist() == before["memory"].tolist()
    assert state.gpu_free_milli.tolist() == before["gpu"].tolist()
    assert state.extended_free["rdma"].tolist() == before["rdma"].tolist()
    assert state.pods.tolist() == [0]
    assert state.nonzero_cpu_milli.tolist() == [0]


def test_allocate_counts_kube_default_requests_for_zero_requests() -> None:
    state = make_state(cpu=[8000], memory=[4096])
    allocation = allocate(state, 0, Pod(cpu_milli=0, memory_mib=0))
    assert state.nonzero_cpu_milli.tolist() == [DEFAULT_CPU_REQUEST_MILLI]
    assert state.nonzero_memory_mib.tolist() == [DEFAULT_MEMORY_REQUEST_MIB]
    assert state.cpu_free.tolist() == [8000]
    release(state, allocation)
    assert state.nonzero_cpu_milli.tolist() == [0]


def test_allocate_refuses_a_pod_that_does_not_fit_and_leaves_the_state_alone() -> None:
    state = make_state(cpu=[1000])
    with pytest.raises(PlacementError, match="allocate pod on node 0: cpu_milli: needs 2000"):
        allocate(state, 0, Pod(cpu_milli=2000, memory_mib=1))
    assert state.cpu_free.tolist() == [1000]
    assert state.pods.tolist() == [0]


def test_releasing_twice_is_an_error() -> None:
    state = make_state(cpu=[1000], gpus=[1])
    allocation = allocate(state, 0, Pod(cpu_milli=500, memory_mib=1, num_gpu=1, gpu_milli=1000))
    release(state, allocation)
    with pytest.raises(PlacementError, match="release allocation on node 0"):
        release(state, allocation)
    assert state.cpu_free.tolist() == [1000]


def test_feasible_agrees_with_fits_on_random_states() -> None:
    rng = np.random.default_rng(7)
    state = make_state(
        cpu=rng.integers(0, 8, 60).tolist(),
        memory=rng.integers(0, 8, 60).tolist(),
        gpus=rng.choice([0, 1, 2, 4, 8], 60).tolist(),
        models=rng.choice(["A", "B"], 60).tolist(),
        extended={"x": rng.integers(0, 3, 60).tolist()},
    )
    state.gpu_free_milli[:] = np.where(
        state.gpu_slot_exists, rng.choice([0, 250, 500, 1000], state.gpu_free_milli.shape), 0
    )
    state.sync_gpu_free()
    state.active[rng.random(60) < 0.1] = False
    for _ in range(200):
        num_gpu = int(rng.choice([0, 1, 2, 4]))
        pod = Pod(
            cpu_milli=int(rng.integers(0, 8)),
            memory_mib=int(rng.integers(0, 8)),
            num_gpu=num_gpu,
            gpu_milli=0
            if num_gpu == 0
            else (1000 if num_gpu > 1 else int(rng.choice([250, 500, 1000]))),
            gpu_models=frozenset(rng.choice(["A", "B"], int(rng.integers(0, 2))).tolist()),
            extended={"x": int(rng.integers(0, 3))},
        )
        expected = [i for i in range(len(state)) if fits(state, i, pod) is None]
        assert feasible(state, pod).tolist() == expected


@pytest.mark.traces
def test_on_the_real_gpu_cluster_feasible_agrees_with_fits_for_real_pods(trace_dir: Path) -> None:
    # alibaba-gpu-v2023: 1,523 nodes of seven GPU models. Its pods carry no GPU model
    # list, so every other GPU pod here is restricted to two of the cluster's models.
    folder = trace_dir / "alibaba-gpu-v2023"
    cluster = load_alibaba_gpu_nodes(folder)
    workload = load_alibaba_gpu_pods(folder)
    state = NodeState(cluster)
    models = frozenset(cluster.gpu_models[:2])
    picks = np.random.default_rng(1).choice(len(workload), 40, replace=False)
    for k, i in enumerate(picks.tolist()):
        pod = Pod(
            cpu_milli=int(workload.cpu_milli[i]),
            memory_mib=int(workload.memory_mib[i]),
            num_gpu=int(workload.num_gpu[i]),
            gpu_milli=int(workload.gpu_milli[i]),
            gpu_models=models if k % 2 else frozenset(),
        )
        expected = [n for n in range(len(state)) if fits(state, n, pod) is None]
        found = feasible(state, pod)
        assert found.tolist() == expected
        if pod.num_gpu and pod.gpu_models:
            assert set(np.asarray(cluster.gpu_model)[found].tolist()) <= models
        if expected:
            allocate(state, expected[len(expected) // 2], pod)
    assert int(state.pods.sum()) > 30


def test_booking_and_releasing_keep_the_per_node_gpu_total_in_step() -> None:
    rng = np.random.default_rng(7)
    state = make_state(cpu=[64000] * 6, memory=[65536] * 6, gpus=[0, 1, 2, 4, 8, 8])
    shapes = [
        Pod(500, 512),
        Pod(1000, 1024, 1, 300),
        Pod(1000, 1024, 1, 1000),
        Pod(2000, 2048, 2, 1000),
    ]
    held = []
    for _ in range(200):
        if held and rng.random() < 0.4:
            release(state, held.pop(int(rng.integers(len(held)))))
        else:
            pod = shapes[int(rng.integers(len(shapes)))]
            nodes = feasible(state, pod)
            if len(nodes):
                held.append(book(state, int(nodes[int(rng.integers(len(nodes)))]), pod))
        assert state.gpu_free.tolist() == state.gpu_free_milli.sum(axis=1).tolist()
    assert held, "the walk must have placed pods"


def test_an_overcommitting_pod_fills_the_node_without_driving_anything_negative() -> None:
    state = make_state(cpu=[4000], memory=[2048], gpus=[2], extended={"rdma": [1]})
    state.gpu_free_milli[0] = [300, 800]
    state.sync_gpu_free()
    pod = Pod(cpu_milli=6000, memory_mib=1024, num_gpu=1, gpu_milli=1000, extended={"rdma": 2})
    assert fits(state, 0, pod) is not None
    overcommit(state, 0, pod)
    assert state.cpu_free[0] == 0 and state.memory_free[0] == 1024
    assert state.extended_free["rdma"][0] == 0
    assert state.gpu_free_milli[0].tolist() == [300, 0]  # the freest GPU took it
    assert state.gpu_free[0] == 300 and state.pods[0] == 1
    assert feasible(state, Pod(cpu_milli=1, memory_mib=1)).tolist() == []
