"""Cluster metrics: allocation, stranded capacity and pods waiting behind fragments, on
hand-built states."""

from __future__ import annotations

import numpy as np
import pytest

from cluster_traces.model import Cluster
from heuristics.contract import Context, NodeState, Pod
from heuristics.feasibility import allocate
from simulator.metrics import (
    allocated,
    behind_fragments,
    capacity,
    delay_percentiles,
    mean_allocation_percent,
    snapshot,
    stranded,
    stranded_share,
)


def _cluster() -> Cluster:
    # node a: 8 cores, 32 GiB, 2 GPUs; node b: 4 cores, 16 GiB, no GPU.
    return Cluster(
        names=["a", "b"],
        cpu_milli=[8000, 4000],
        memory_mib=[32768, 16384],
        gpu_count=[2, 0],
        gpu_model=["V100", ""],
    )


def _one_gpu_shape() -> Context:
    """The reference workload: always a pod of 2 cores, 4 GiB and one whole GPU."""
    one = np.array([1], dtype=np.int64)
    return Context(
        shape_cpu_milli=np.array([2000]),
        shape_memory_mib=np.array([4096]),
        shape_num_gpu=one,
        shape_gpu_milli=np.array([1000]),
        shape_probability=np.array([1.0]),
    )


def test_capacity_and_allocation_count_only_active_nodes_in_resource_units() -> None:
    state = NodeState(_cluster())
    allocate(state, 0, Pod(cpu_milli=1000, memory_mib=1024, num_gpu=1, gpu_milli=500))
    assert capacity(state) == {"gpu": 2000, "cpu": 12000, "memory": 49152}
    assert allocated(state) == {"gpu": 500, "cpu": 1000, "memory": 1024}
    state.active[1] = False
    assert capacity(state)["cpu"] == 8000


def test_a_gpu_less_node_strands_its_cpu_for_a_gpu_workload() -> None:
    state = NodeState(_cluster())
    amounts = stranded(state, _one_gpu_shape())
    # Node b can never host the only shape (it needs a GPU): all its free cpu and memory
    # are stranded; node a can host it: nothing stranded there.
    assert amounts == {"gpu": 0.0, "cpu": 4000.0, "memory": 16384.0}
    shares = stranded_share(state, _one_gpu_shape())
    assert shares["cpu"] == pytest.approx(4000 / 12000)
    assert shares["gpu"] == 0.0


def test_a_half_used_gpu_is_stranded_for_whole_gpu_pods() -> None:
    state = NodeState(_cluster())
    allocate(state, 0, Pod(cpu_milli=1000, memory_mib=1024, num_gpu=1, gpu_milli=500))
    # GPU 0 has 500 free: below the shape's 1000 per GPU, so it is a fragment.
    assert stranded(state, _one_gpu_shape())["gpu"] == pytest.approx(500.0)


def test_snapshot_reports_percent_and_shares_under_the_metric_keys() -> None:
    state = NodeState(_cluster())
    allocate(state, 0, Pod(cpu_milli=6000, memory_mib=8192, num_gpu=2, gpu_milli=1000))
    row = snapshot(state, _one_gpu_shape())
    assert row["gpu_alloc_percent"] == pytest.approx(100.0)
    assert row["cpu_alloc_percent"] == pytest.approx(50.0)
    assert row["unallocated_gpu_share"] == pytest.approx(0.0)
    # Node a has 2 cores and no GPU left: it cannot host the shape, so its 2 cores strand.
    assert row["stranded_cpu_share"] == pytest.approx((2000 + 4000) / 12000)


def test_the_multi_resource_objective_is_the_mean_allocation_over_gpu_cpu_and_memory() -> None:
    state = NodeState(_cluster())
    allocate(state, 0, Pod(cpu_milli=6000, memory_mib=8192, num_gpu=2, gpu_milli=1000))
    row = snapshot(state, _one_gpu_shape())
    # GPU 100 %, CPU 6 of 12 cores = 50 %, memory 8 of 48 GiB = 16.7 %.
    assert row["alloc_mean_percent"] == pytest.approx((100.0 + 50.0 + 100.0 * 8 / 48) / 3)


def test_the_multi_resource_objective_leaves_gpu_out_on_a_cpu_only_cluster() -> None:
    cpu_only = Cluster(
        names=["a"], cpu_milli=[8000], memory_mib=[32768], gpu_count=[0], gpu_model=[""]
    )
    state = NodeState(cpu_only)
    allocate(state, 0, Pod(cpu_milli=6000, memory_mib=8192, num_gpu=0, gpu_milli=0))
    row = snapshot(state, _one_gpu_shape())
    assert row["gpu_alloc_percent"] == 0.0
    assert row["alloc_mean_percent"] == pytest.approx((75.0 + 25.0) / 2)


def test_the_multi_resource_objective_of_a_cluster_without_capacity_is_zero() -> None:
    empty = {"gpu": 0, "cpu": 0, "memory": 0}
    zeros = {f"{r}_alloc_percent": 0.0 for r in empty}
    assert mean_allocation_percent(zeros, empty) == 0.0


def test_delay_percentiles_are_empty_without_delays() -> None:
    assert delay_percentiles([]) == {}
    out = delay_percentiles(np.arange(101, dtype=float))
    assert out["queue_delay_p50_s"] == pytest.approx(50.0)
    assert out["queue_delay_p99_s"] == pytest.approx(99.0)


def _half_used_gpus() -> NodeState:
    """Node a with 600 and 500 thousandths free on its 2 GPUs: more than a whole GPU in
    total, in pieces (as departures leave them)."""
    state = NodeState(_cluster())
    state.gpu_free_milli[0, :2] = [600, 500]
    state.sync_gpu_free()
    return state


WHOLE_GPU = Pod(cpu_milli=1000, memory_mib=1024, num_gpu=1, gpu_milli=1000)


def test_a_whole_gpu_pod_waits_behind_fragments_when_its_gpu_is_free_only_in_halves() -> None:
    state = _half_used_gpus()
    assert behind_fragments(state, [WHOLE_GPU]) == 1
    # a half-GPU pod fits as it is, and a pod asking more than the node has free in total
    # is short of GPU share, not behind fragments
    half = Pod(cpu_milli=1000, memory_mib=1024, num_gpu=1, gpu_milli=500)
    two = Pod(cpu_milli=1000, memory_mib=1024, num_gpu=2, gpu_milli=1000)
    assert behind_fragments(state, [half, two]) == 0
    # on an idle cluster nothing waits behind fragments
    assert behind_fragments(NodeState(_cluster()), [WHOLE_GPU, two]) == 0


def test_a_shared_gpu_pod_waits_behind_fragments_too() -> None:
    state = NodeState(_cluster())
    state.gpu_free_milli[0, :2] = [600, 300]  # 900 in total: no whole GPU, no 700 piece
    state.sync_gpu_free()
    seven_tenths = Pod(cpu_milli=1000, memory_mib=1024, num_gpu=1, gpu_milli=700)
    assert behind_fragments(state, [seven_tenths]) == 1
    assert behind_fragments(state, [WHOLE_GPU]) == 0  # short of share in total


def test_a_node_with_whole_gpus_but_no_cpu_for_the_pod_does_not_host_it() -> None:
    # node c has both GPUs idle but 2 cores; node a has the cores and the GPU in pieces
    state = NodeState(
        Cluster(names=["a", "c"], cpu_milli=[8000, 2000], memory_mib=[32768, 32768],
                gpu_count=[2, 2], gpu_model=["V100", "V100"])
    )  # fmt: skip
    state.gpu_free_milli[0, :2] = [600, 500]
    state.sync_gpu_free()
    four_cores = Pod(cpu_milli=4000, memory_mib=1024, num_gpu=1, gpu_milli=1000)
    assert behind_fragments(state, [four_cores]) == 1
    assert behind_fragments(state, [WHOLE_GPU]) == 0  # one core: node c hosts it


def test_only_gpu_pods_that_the_nodes_cpu_memory_model_and_extras_allow_count() -> None:
    state = _half_used_gpus()
    too_much_cpu = Pod(cpu_milli=9000, memory_mib=1024, num_gpu=1, gpu_milli=1000)
    other_model = Pod(cpu_milli=1000, memory_mib=1024, num_gpu=1, gpu_milli=1000,
                      gpu_models=frozenset({"A100"}))  # fmt: skip
    extra = Pod(cpu_milli=1000, memory_mib=1024, num_gpu=1, gpu_milli=1000,
                extended={"rdma/hca": 1})  # fmt: skip
    cpu_only = Pod(cpu_milli=9000, memory_mib=1024)  # fits nowhere, but does not split
    assert behind_fragments(state, [too_much_cpu, other_model, extra, cpu_only]) == 0
    v100 = Pod(cpu_milli=1000, memory_mib=1024, num_gpu=1, gpu_milli=1000,
               gpu_models=frozenset({"V100"}))  # fmt: skip
    assert behind_fragments(state, [v100, WHOLE_GPU]) == 2
    state.active[0] = False
    assert behind_fragments(state, [v100, WHOLE_GPU]) == 0
