"""Specification of heuristics.fragmentation: FGD's reference shapes and its fragmentation
measure, generalised to every resource, on hand-computed examples."""

from __future__ import annotations

import numpy as np
import pytest

from cluster_traces.model import Cluster, Workload
from heuristics.contract import Context, NodeState, Pod
from heuristics.feasibility import allocate, feasible, release, view
from heuristics.fragmentation import (
    fragmentation_increase,
    make_context,
    node_fragmentation,
    reference_shapes,
    stranded_increase,
)


def make_cluster(cpu: list[int], gpus: list[int], memory: list[int] | None = None) -> Cluster:
    n = len(cpu)
    return Cluster(
        names=np.array([f"n{i}" for i in range(n)]),
        cpu_milli=np.array(cpu),
        memory_mib=np.array(memory if memory is not None else [4096] * n),
        gpu_count=np.array(gpus),
        gpu_model=np.array(["A" if g else "" for g in gpus]),
        extended={"rdma": np.array([2] * n)},
    )


def make_workload(rows: list[tuple[int, int, int, int]]) -> Workload:
    n = len(rows)
    cpu, memory, num_gpu, gpu_milli = (np.array(c) for c in zip(*rows, strict=True))
    return Workload(
        names=np.array([str(i) for i in range(n)]),
        cpu_milli=cpu,
        memory_mib=memory,
        num_gpu=num_gpu,
        gpu_milli=gpu_milli,
        gpu_spec=np.array([""] * n),
        qos=np.array([""] * n),
        priority=np.zeros(n, dtype=np.int64),
        arrival_s=np.full(n, np.nan),
        departure_s=np.full(n, np.nan),
    )


def shapes(*rows: tuple[int, int, int, int, float]) -> Context:
    cpu, memory, num_gpu, gpu_milli, probability = zip(*rows, strict=True)
    return Context(
        shape_cpu_milli=np.array(cpu),
        shape_memory_mib=np.array(memory),
        shape_num_gpu=np.array(num_gpu),
        shape_gpu_milli=np.array(gpu_milli),
        shape_probability=np.array(probability, dtype=np.float64),
    )


X, Y, Z = (1000, 512, 1, 500), (2000, 1024, 0, 0), (4000, 2048, 2, 1000)


def test_reference_shapes_are_the_most_frequent_covering_the_coverage() -> None:
    workload = make_workload([X] * 6 + [Y] * 3 + [Z])
    all_three = reference_shapes(workload, coverage=0.95)
    assert all_three.shape_cpu_milli.tolist() == [1000, 2000, 4000]
    assert all_three.shape_probability.tolist() == pytest.approx([0.6, 0.3, 0.1])
    two = reference_shapes(workload, coverage=0.9)
    assert two.shape_num_gpu.tolist() == [1, 0]
    assert two.shape_probability.tolist() == pytest.approx([6 / 9, 3 / 9])
    assert reference_shapes(workload, coverage=0.5).shape_gpu_milli.tolist() == [500]


def test_reference_shapes_reject_a_coverage_outside_zero_to_one() -> None:
    with pytest.raises(ValueError, match="coverage: expected a value in"):
        reference_shapes(make_workload([X]), coverage=0.0)


def test_make_context_fills_cluster_totals_models_and_largest_node() -> None:
    cluster = make_cluster(cpu=[8000, 16000], gpus=[0, 4])
    ctx = make_context(cluster, make_workload([X, Y]))
    assert (ctx.cluster_cpu_milli, ctx.cluster_gpu, ctx.gpu_models) == (24000, 4, ("A",))
    assert (ctx.max_node_cpu_milli, ctx.max_node_gpu, ctx.max_node_memory_mib) == (16000, 4, 4096)
    state = NodeState(cluster)
    state.active[1] = False
    assert make_context(state, make_workload([X])).cluster_cpu_milli == 8000


def test_gpu_fragmentation_on_a_hand_computed_node() -> None:
    # Shape A (1 GPU x 500, p=0.5) is hostable: only the GPU with 300 free is a fragment.
    # Shape B (no GPU, p=0.5): all 1300 free thousandths are a fragment.
    state = NodeState(make_cluster(cpu=[8000], gpus=[2]))
    state.gpu_free_milli[0] = [1000, 300]
    state.sync_gpu_free()
    ctx = shapes((1000, 1, 1, 500, 0.5), (1000, 1, 0, 0, 0.5))
    frag = node_fragmentation(state, ctx)
    assert frag["gpu_milli"].tolist() == pytest.approx([0.5 * 300 + 0.5 * 1300])
    assert frag["cpu_milli"].tolist() == [0.0]


def test_a_node_that_cannot_host_a_shape_strands_all_its_free_capacity_for_it() -> None:
    # 500 millicores free: neither shape fits, so everything free is stranded (p sums to 1);
    # with 1500 free, the CPU-only shape fits (p=0.25) and 75% of the free capacity strands.
    state = NodeState(make_cluster(cpu=[500, 1500], gpus=[1, 1]))
    ctx = shapes((1000, 1, 1, 500, 0.75), (1000, 1, 0, 0, 0.25))
    state.gpu_free_milli[1] = 0
    state.sync_gpu_free()
    frag = node_fragmentation(state, ctx)
    assert frag["gpu_milli"].tolist() == pytest.approx([1000.0, 0.0])
    assert frag["cpu_milli"].tolist() == pytest.approx([500.0, 0.75 * 1500])
    assert frag["memory_mib"].tolist() == pytest.approx([4096.0, 0.75 * 4096])
    assert frag["rdma"].tolist() == pytest.approx([2.0, 0.75 * 2])


def test_memory_shortage_makes_a_shape_unhostable() -> None:
    state = NodeState(make_cluster(cpu=[8000], gpus=[1], memory=[100]))
    frag = node_fragmentation(state, shapes((1000, 200, 1, 1000, 1.0)))
    assert frag["gpu_milli"].tolist() == [1000.0]


def test_inactive_nodes_strand_nothing_and_nodes_select_a_subset() -> None:
    state = NodeState(make_cluster(cpu=[500, 500, 500], gpus=[1, 1, 1]))
    state.active[1] = False
    ctx = shapes((1000, 1, 1, 500, 1.0))
    assert node_fragmentation(state, ctx)["gpu_milli"].tolist() == [1000.0, 0.0, 1000.0]
    assert node_fragmentation(state, ctx, nodes=np.array([2]))["cpu_milli"].tolist() == [500.0]


def _reference_gpu_fragmentation(state: NodeState, ctx: Context, node: int) -> float:
    """FGD's definition, one node and one shape at a time (the specification)."""
    free = state.gpu_free_milli[node][: state.gpu_total[node]]
    total = 0.0
    for i, p in enumerate(ctx.shape_probability):
        gpus, share = int(ctx.shape_num_gpu[i]), int(ctx.shape_gpu_milli[i])
        hostable = (
            state.cpu_free[node] >= ctx.shape_cpu_milli[i]
            and state.memory_free[node] >= ctx.shape_memory_mib[i]
            and int((free >= share).sum()) >= gpus
        )
        if gpus == 0 or not hostable:
            total += p * free.sum()
        else:
            total += p * free[free < share].sum()
    return total


def test_vectorised_fragmentation_matches_the_definition_on_random_states() -> None:
    rng = np.random.default_rng(3)
    n = 80
    state = NodeState(
        make_cluster(
            cpu=rng.choice([4000, 8000, 16000], n).tolist(),
            gpus=rng.choice([0, 1, 2, 4, 8], n).tolist(),
            memory=rng.choice([2048, 8192], n).tolist(),
        )
    )
    state.cpu_free[:] = rng.integers(0, state.cpu_total + 1)
    state.memory_free[:] = rng.integers(0, state.memory_total + 1)
    state.gpu_free_milli[:] = np.where(
        state.gpu_slot_exists,
        rng.choice([0, 100, 250, 500, 750, 1000], state.gpu_free_milli.shape),
        0,
    )
    state.sync_gpu_free()
    ctx = shapes(
        (1000, 1024, 1, 250, 0.2),
        (2000, 2048, 1, 500, 0.2),
        (4000, 4096, 1, 1000, 0.2),
        (8000, 4096, 2, 1000, 0.1),
        (6000, 1024, 8, 1000, 0.1),
        (3000, 1024, 0, 0, 0.2),
    )
    frag = node_fragmentation(state, ctx)["gpu_milli"]
    expected = [_reference_gpu_fragmentation(state, ctx, i) for i in range(n)]
    assert frag.tolist() == pytest.approx(expected)


def test_fragmentation_increase_is_after_minus_before_of_the_real_placement() -> None:
    rng = np.random.default_rng(5)
    cluster = make_cluster(cpu=[16000] * 12, gpus=[1, 2, 4, 8] * 3)
    state = NodeState(cluster)
    state.gpu_free_milli[:] = np.where(
        state.gpu_slot_exists, rng.choice([0, 250, 500, 1000], state.gpu_free_milli.shape), 0
    )
    state.sync_gpu_free()
    ctx = shapes((1000, 1, 1, 500, 0.5), (2000, 1, 1, 1000, 0.3), (1000, 1, 0, 0, 0.2))
    for pod in (Pod(2000, 1), Pod(1000, 1, 1, 250), Pod(1000, 1, 1, 500), Pod(1000, 1, 2, 1000)):
        nodes = view(state, pod)
        increase = fragmentation_increase(pod, nodes, ctx)
        before = node_fragmentation(state, ctx)["gpu_milli"]
        for k, node in enumerate(feasible(state, pod).tolist()):
            trial = NodeState(cluster)
            trial.gpu_free_milli[:] = state.gpu_free_milli
            trial.sync_gpu_free()
            allocate(trial, node, pod)
            after = node_fragmentation(trial, ctx)["gpu_milli"][node]
            assert increase[k] == pytest.approx(after - before[node])


def test_placing_on_the_partly_used_gpu_fragments_less() -> None:
    # Typical pods want 600 thousandths. Node 0's GPU has 500 free (already a fragment);
    # node 1's is idle. A 500-pod on node 0 removes a fragment; on node 1 it creates one.
    state = NodeState(make_cluster(cpu=[8000, 8000], gpus=[1, 1]))
    state.gpu_free_milli[0, 0] = 500
    state.sync_gpu_free()
    ctx = shapes((1000, 1, 1, 600, 1.0))
    pod = Pod(cpu_milli=1000, memory_mib=1, num_gpu=1, gpu_milli=500)
    increase = fragmentation_increase(pod, view(state, pod), ctx)
    assert increase.tolist() == pytest.approx([-500.0, 500.0])


def _copy(state: NodeState, cluster: Cluster) -> NodeState:
    fresh = NodeState(cluster)
    fresh.cpu_free[:] = state.cpu_free
    fresh.memory_free[:] = state.memory_free
    fresh.gpu_free_milli[:] = state.gpu_free_milli
    fresh.sync_gpu_free()
    fresh.active[:] = state.active
    return fresh


def test_results_follow_every_change_of_the_state_between_calls() -> None:
    # The measure is memoised per state; it must still see allocations, releases and
    # direct edits made between calls, exactly as a fresh state would.
    rng = np.random.default_rng(9)
    cluster = make_cluster(cpu=[16000] * 10, gpus=[1, 2, 4, 8, 8] * 2)
    state = NodeState(cluster)
    ctx = shapes((1000, 1, 1, 500, 0.4), (2000, 1, 1, 1000, 0.3), (4000, 1, 0, 0, 0.3))
    pods = [Pod(3000, 1), Pod(1000, 1, 1, 250), Pod(2000, 1, 1, 700), Pod(1000, 1, 2, 1000)]
    held = []
    for step in range(60):
        pod = pods[step % len(pods)]
        nodes = view(state, pod)
        if len(nodes):
            increase = fragmentation_increase(pod, nodes, ctx)
            fresh = _copy(state, cluster)
            assert increase.tolist() == pytest.approx(
                fragmentation_increase(pod, view(fresh, pod), ctx).tolist()
            )
            held.append(allocate(state, int(rng.choice(nodes.index)), pod))
        if step % 7 == 6:
            release(state, held.pop(int(rng.integers(len(held)))))
        if step % 11 == 10:
            state.cpu_free[int(rng.integers(10))] -= 500
        expected = node_fragmentation(_copy(state, cluster), ctx)
        got = node_fragmentation(state, ctx)
        for key in ("gpu_milli", "cpu_milli", "memory_mib"):
            assert got[key].tolist() == pytest.approx(expected[key].tolist())


def test_small_and_large_batches_count_fitting_gpus_alike() -> None:
    from heuristics._fgd_math import SMALL_BATCH, level_stats

    rng = np.random.default_rng(4)
    gpu = rng.choice([0, 100, 250, 500, 1000], (SMALL_BATCH * 3, 8)).astype(np.int64)
    levels = np.array([100, 250, 500, 1000])
    small = [
        level_stats(gpu[i : i + 1], gpu[i : i + 1].astype(float), levels) for i in range(len(gpu))
    ]
    large = level_stats(gpu, gpu.astype(float), levels)
    assert np.vstack([c for c, _ in small]).tolist() == large[0].tolist()
    assert np.vstack([s for _, s in small]).tolist() == large[1].tolist()
    assert large[0][:, -1].tolist() == [8] * len(gpu)  # the last level, 0, counts every slot


def test_many_identical_nodes_get_the_same_values_as_the_definition() -> None:
    # 200 nodes of two types, a few of them used: rows repeat, and repeated rows are
    # computed once; each node must still get its own row's value.
    state = NodeState(make_cluster(cpu=[8000, 16000] * 100, gpus=[2, 8] * 100))
    state.gpu_free_milli[3, 1] = 250
    state.sync_gpu_free()
    state.cpu_free[10] = 1000
    ctx = shapes((1000, 1, 1, 500, 0.5), (2000, 1, 2, 1000, 0.3), (4000, 1, 0, 0, 0.2))
    frag = node_fragmentation(state, ctx)["gpu_milli"]
    expected = [_reference_gpu_fragmentation(state, ctx, i) for i in range(len(state))]
    assert frag.tolist() == pytest.approx(expected)
    pod = Pod(1000, 1, 1, 500)
    nodes = view(state, pod)
    fresh = NodeState(make_cluster(cpu=[8000, 16000] * 100, gpus=[2, 8] * 100))
    fresh.gpu_free_milli[:] = state.gpu_free_milli
    fresh.sync_gpu_free()
    fresh.cpu_free[:] = state.cpu_free
    before = np.array(expected)[nodes.index]
    for k in (0, 3, 10, 57):
        allocate(fresh, int(nodes.index[k]), pod)
    increase = fragmentation_increase(pod, nodes, ctx)
    for k in (0, 3, 10, 57):
        node = int(nodes.index[k])
        assert increase[k] == pytest.approx(
            _reference_gpu_fragmentation(fresh, ctx, node) - before[k]
        )


def test_stranded_increase_is_after_minus_before_of_the_real_placement_for_every_resource() -> None:
    rng = np.random.default_rng(11)
    cluster = make_cluster(cpu=[16000, 8000, 32000] * 4, gpus=[1, 2, 4, 8] * 3)
    state = NodeState(cluster)
    state.gpu_free_milli[:] = np.where(
        state.gpu_slot_exists, rng.choice([0, 250, 500, 1000], state.gpu_free_milli.shape), 0
    )
    state.sync_gpu_free()
    state.cpu_free -= rng.integers(0, 6000, len(state))
    state.active[5] = False
    ctx = shapes((1000, 1, 1, 500, 0.5), (6000, 1, 1, 1000, 0.3), (9000, 1, 0, 0, 0.2))
    pods = (Pod(2000, 1), Pod(1000, 1, 1, 250), Pod(3000, 1, 2, 1000), Pod(1000, 1, 1, 500))
    for pod in (*pods, Pod(1000, 1, extended={"rdma": 1})):
        nodes = view(state, pod)
        increase = stranded_increase(pod, nodes, ctx)
        before = node_fragmentation(state, ctx)
        assert set(increase) == set(before) == {"gpu_milli", "cpu_milli", "memory_mib", "rdma"}
        for k, node in enumerate(nodes.index.tolist()):
            trial = NodeState(cluster)
            for name in ("cpu_free", "memory_free", "gpu_free_milli", "active"):
                getattr(trial, name)[:] = getattr(state, name)
            trial.sync_gpu_free()
            allocate(trial, node, pod)
            after = node_fragmentation(trial, ctx)
            for resource, values in increase.items():
                expected = after[resource][node] - before[resource][node]
                assert values[k] == pytest.approx(expected), (pod, node, resource)


def test_rows_deduplicated_by_hash_keep_each_nodes_own_value_even_on_collisions() -> None:
    from heuristics import _fgd_memo

    rows = np.array([[1, 2, 3], [4, 5, 6], [1, 2, 3], [7, 8, 9]])
    found = _fgd_memo._distinct_rows(rows)
    assert found is not None
    distinct, inverse = found
    assert np.array_equal(distinct[inverse], rows) and len(distinct) == 3
    # Two different rows with one hash: the check notices, and the caller computes all rows.
    weights = _fgd_memo._ROW_HASH[:2]
    colliding = np.array([[0, int(weights[0])], [int(weights[1]), 0]])
    assert colliding[0] @ weights == colliding[1] @ weights
    assert _fgd_memo._distinct_rows(colliding) is None


def test_rows_wider_than_the_hash_get_no_quick_answer_so_every_row_is_computed() -> None:
    # cpu, memory and one column per GPU: a node with 63 GPUs makes a row of 65
    from heuristics import _fgd_memo

    rows = np.zeros((3, len(_fgd_memo._ROW_HASH) + 1), dtype=np.int64)
    assert _fgd_memo._distinct_rows(rows) is None


def test_fragmentation_is_exact_so_equivalent_placements_tie_bit_for_bit() -> None:
    # With probabilities used as whole multiples of 1/SCALE, every value is the exact
    # rational of FGD's definition: no summation order (batch size, memo updates) can
    # change a bit, so an increase that is mathematically equal is equal in floats.
    from fractions import Fraction

    from heuristics._fgd_math import SCALE, fragment, shapes_of

    rng = np.random.default_rng(8)
    n = 300
    state = NodeState(make_cluster(cpu=[32000] * n, gpus=rng.choice([2, 4, 8], n).tolist()))
    state.cpu_free[:] = rng.integers(0, 32001, n)
    state.gpu_free_milli[:] = np.where(
        state.gpu_slot_exists, rng.choice([0, 100, 330, 500, 1000], state.gpu_free_milli.shape), 0
    )
    state.sync_gpu_free()
    probability = rng.dirichlet(np.ones(7))
    ctx = Context(
        shape_cpu_milli=rng.integers(0, 20000, 7),
        shape_memory_mib=np.ones(7, dtype=np.int64),
        shape_num_gpu=np.array([0, 1, 1, 2, 1, 4, 0]),
        shape_gpu_milli=np.array([0, 100, 330, 1000, 500, 1000, 0]),
        shape_probability=probability,
    )
    weights = shapes_of(ctx).weights[:, -1]
    assert weights.sum() == SCALE and np.all(weights == np.rint(weights))
    values, _ = fragment(state.cpu_free, state.memory_free, state.gpu_free_milli, ctx)
    for node in range(0, n, 7):
        free = state.gpu_free_milli[node][: state.gpu_total[node]]
        exact = Fraction(0)
        for i, weight in enumerate(weights):
            gpus, share = int(ctx.shape_num_gpu[i]), int(ctx.shape_gpu_milli[i])
            hostable = (
                state.cpu_free[node] >= ctx.shape_cpu_milli[i] and (free >= share).sum() >= gpus
            )
            stranded = free.sum() if gpus == 0 or not hostable else free[free < share].sum()
            exact += Fraction(int(weight), int(SCALE)) * int(stranded)
        assert Fraction(float(values[node])) == exact
        alone, _ = fragment(
            state.cpu_free[node : node + 1],
            state.memory_free[node : node + 1],
            state.gpu_free_milli[node : node + 1],
            ctx,
        )
        assert alone[0] == values[node]
    assert abs(values - _definition(state, ctx)).max() < 1e-3


def _definition(state: NodeState, ctx: Context) -> np.ndarray:
    return np.array([_reference_gpu_fragmentation(state, ctx, i) for i in range(len(state))])
