"""Specification of the baseline heuristics: each formula on tiny hand-built states, with
hand-computed scores and winners (ties go to the lowest index)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cluster_traces.model import Cluster
from heuristics import registry
from heuristics.baselines import (
    alphaevolve_borg,
    balanced_allocation,
    best_fit,
    dot_product,
    first_fit,
    gpu_packing,
    kube_default,
    least_allocated,
    most_allocated,
    random_fit,
    requested_to_capacity_ratio,
    tetris,
    volcano_binpack,
    worst_fit,
)
from heuristics.contract import Context, Heuristic, NodeState, Pod, choose
from heuristics.feasibility import allocate, view

EMPTY_CTX = Context(
    shape_cpu_milli=np.array([1000]),
    shape_memory_mib=np.array([1024]),
    shape_num_gpu=np.array([1]),
    shape_gpu_milli=np.array([500]),
    shape_probability=np.array([1.0]),
)


def make_state(
    cpu: list[int], memory: list[int] | None = None, gpus: list[int] | None = None
) -> NodeState:
    n = len(cpu)
    gpus = gpus if gpus is not None else [0] * n
    return NodeState(
        Cluster(
            names=np.array([f"n{i}" for i in range(n)]),
            cpu_milli=np.array(cpu),
            memory_mib=np.array(memory if memory is not None else [8192] * n),
            gpu_count=np.array(gpus),
            gpu_model=np.array(["A" if g else "" for g in gpus]),
        )
    )


def scores(
    heuristic: Heuristic, state: NodeState, pod: Pod, ctx: Context = EMPTY_CTX
) -> list[float]:
    return np.asarray(heuristic(pod, view(state, pod), ctx)).tolist()


def winner(heuristic: Heuristic, state: NodeState, pod: Pod, ctx: Context = EMPTY_CTX) -> int:
    nodes = view(state, pod)
    return choose(heuristic(pod, nodes, ctx), nodes)


def test_first_fit_takes_the_lowest_index_feasible_node() -> None:
    state = make_state(cpu=[500, 4000, 8000])
    assert winner(first_fit, state, Pod(1000, 1)) == 1


def test_best_fit_follows_fgd_formula_over_cpu_and_gpu() -> None:
    # maxSpec: 10000 millicores, 2 GPUs. Node 0 leaves 3000 m and 0 GPU share,
    # node 1 leaves 1000 m and 1000 share: 0.5*0.3 + 0 = 0.15 < 0.05 + 0.25 = 0.30.
    state = make_state(cpu=[10000, 10000], gpus=[1, 2])
    state.cpu_free[:] = [4000, 2000]
    ctx = Context(**{**EMPTY_CTX.__dict__, "max_node_cpu_milli": 10000, "max_node_gpu": 2})
    pod = Pod(cpu_milli=1000, memory_mib=1, num_gpu=1, gpu_milli=1000)
    assert scores(best_fit, state, pod, ctx) == pytest.approx([-0.15, -0.30])
    assert winner(best_fit, state, pod, ctx) == 0
    assert winner(worst_fit, state, pod, ctx) == 1


def test_best_fit_on_a_cpu_only_cluster_is_funsearch_best_fit() -> None:
    # FunSearch: bins hold remaining capacity, priority -(bins - item), first maximum wins.
    rng = np.random.default_rng(11)
    for _ in range(300):
        remaining = rng.integers(0, 101, 40)
        item = int(rng.integers(1, 60))
        state = make_state(cpu=[100] * 40)
        state.cpu_free[:] = remaining
        fits = np.flatnonzero(remaining >= item)
        if len(fits) == 0:
            continue
        expected = int(fits[np.argmax(-(remaining[fits] - item))])
        assert winner(best_fit, state, Pod(cpu_milli=item, memory_mib=0)) == expected


def test_ties_go_to_the_lowest_index() -> None:
    state = make_state(cpu=[4000, 2000, 2000])
    assert winner(best_fit, state, Pod(1000, 1)) == 1


def test_random_is_deterministic_in_range_and_depends_on_pod_and_state() -> None:
    state = make_state(cpu=[8000] * 50)
    pod = Pod(1000, 1)
    first = scores(random_fit, state, pod)
    assert first == scores(random_fit, state, pod)
    assert all(0.0 <= s < 1.0 for s in first)
    assert scores(random_fit, state, Pod(1001, 1)) != first
    allocate(state, 0, pod)
    assert scores(random_fit, state, pod) != first


def test_random_does_not_depend_on_the_process() -> None:
    code = (
        "import numpy as np; from cluster_traces.model import Cluster;"
        "from heuristics.contract import NodeState, Pod; from heuristics.feasibility import view;"
        "from heuristics.baselines import random_fit;"
        "s = NodeState(Cluster(names=np.array(['a','b','c']), cpu_milli=np.array([4000]*3),"
        " memory_mib=np.array([10]*3), gpu_count=np.array([0]*3), gpu_model=np.array(['']*3)));"
        "p = Pod(1000, 1); print(random_fit(p, view(s, p), None).tolist())"
    )
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env=env,
            cwd=Path(__file__).resolve().parents[1],
            check=True,
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1


def test_kube_least_allocated_and_balanced_use_integer_arithmetic() -> None:
    # Node: 4000 m, 8192 MiB, already holding 1000 m / 1024 MiB. Pod: 1000 m / 2048 MiB.
    # Least: cpu (4000-2000)*100//4000 = 50, memory (8192-3072)*100//8192 = 62 -> 112//2 = 56.
    # Balanced (Kubernetes 1.36): with the pod f = 0.5 and 0.375, std 0.0625 -> 93; without
    # it f = 0.25 and 0.125 -> 93; 50 + (50 + 93 - 93) // 2 = 75. Total 131.
    state = make_state(cpu=[4000], memory=[8192])
    allocate(state, 0, Pod(1000, 1024))
    pod = Pod(1000, 2048)
    assert scores(least_allocated, state, pod) == [56.0]
    assert scores(balanced_allocation, state, pod) == [75.0]
    assert scores(kube_default, state, pod) == [131.0]


def test_kube_least_allocated_truncates_each_resource_then_the_average() -> None:
    # cpu (3000-1000)*100//3000 = 66, memory (3000-2000)*100//3000 = 33, (66+33)//2 = 49.
    state = make_state(cpu=[3000], memory=[3000])
    assert scores(least_allocated, state, Pod(1000, 2000)) == [49.0]


def test_kube_default_counts_zero_requests_as_100m_and_200mib() -> None:
    # Pod without requests: cpu (1000-100)*100//1000 = 90, memory (1000-200)*100//1000 = 80
    # -> 85; BalancedAllocation skips a pod requesting nothing.
    state = make_state(cpu=[1000], memory=[1000])
    assert scores(kube_default, state, Pod(0, 0)) == [85.0]
    # A placed pod without requests counts 100 m / 200 MiB for NodeResourcesFit, but 0 for
    # BalancedAllocation (actual requests): cpu 200 -> 80, memory 300 -> 70; balanced 100
    # with and without the pod, so 50 + 50 // 2 = 75.
    allocate(state, 0, Pod(0, 0))
    assert scores(least_allocated, state, Pod(100, 100)) == [75.0]
    assert scores(balanced_allocation, state, Pod(100, 100)) == [75.0]


def test_kube_balanced_allocation_rewards_the_balance_a_pod_brings() -> None:
    # Node 4000 m / 4000 MiB holding 2000 m / 0 MiB (f 0.5, 0: balance 75). A memory pod
    # of 2000 MiB balances it (100): 50 + (50 + 25) // 2 = 87; a CPU pod of 1000 m
    # unbalances it (f 0.75, 0: 62): 50 + (50 - 13) // 2 = 68.
    state = make_state(cpu=[4000], memory=[4000])
    allocate(state, 0, Pod(2000, 0))
    assert scores(balanced_allocation, state, Pod(1, 2000)) == [87.0]
    assert scores(balanced_allocation, state, Pod(1000, 0)) == [68.0]


def test_kube_default_prefers_the_emptier_node() -> None:
    state = make_state(cpu=[4000, 4000], memory=[4096, 4096])
    allocate(state, 0, Pod(2000, 2048))
    assert winner(kube_default, state, Pod(500, 512)) == 1


def test_most_allocated_and_requested_to_capacity_ratio() -> None:
    # Requested after placing: cpu 3000/4000 (75%), memory 4096/8192 (50%).
    state = make_state(cpu=[4000], memory=[8192])
    allocate(state, 0, Pod(2000, 2048))
    pod = Pod(1000, 2048)
    assert scores(most_allocated, state, pod) == [62.0]  # (75 + 50) // 2
    rising = requested_to_capacity_ratio(((0, 0), (100, 10)))
    assert scores(rising, state, pod) == [63.0]  # round(62.5), half away from zero


def test_requested_to_capacity_ratio_interpolates_with_truncating_division() -> None:
    # Shape (0,10)-(30,0): at 10% utilisation 100 + (-100 * 10) / 30 = 100 - 33 = 67 in Go
    # (floor division would give 66). Both resources at 10%.
    state = make_state(cpu=[10000], memory=[10000])
    falling = requested_to_capacity_ratio(((0, 10), (30, 0)))
    assert scores(falling, state, Pod(1000, 1000)) == [67.0]


def test_requested_to_capacity_ratio_rejects_bad_shapes_listing_every_problem() -> None:
    with pytest.raises(ValueError) as error:
        requested_to_capacity_ratio(((50, 11), (40, 5), (120, 0)))
    message = str(error.value)
    assert "shape[0].score: expected 0..10, got 11" in message
    assert "shape[1].utilization: expected more than the previous point" in message
    assert "shape[2].utilization: expected 0..100, got 120" in message


def test_volcano_binpack_scores_used_plus_request_over_capacity() -> None:
    # cpu (1000 + 1000) / 4000 = 0.5, memory 2000 / 8000 = 0.25 -> 0.375 * 100.
    state = make_state(cpu=[4000], memory=[8000])
    allocate(state, 0, Pod(1000, 0))
    assert scores(volcano_binpack, state, Pod(1000, 2000)) == pytest.approx([37.5])


def test_tetris_prefers_aligned_free_capacity_and_fgd_dot_product_the_reverse() -> None:
    # Pod is CPU-heavy. Node 0 has free CPU, node 1 free memory (same capacities).
    state = make_state(cpu=[8000, 8000], memory=[8000, 8000])
    state.cpu_free[:] = [8000, 2000]
    state.memory_free[:] = [2000, 8000]
    pod = Pod(2000, 500)
    # Tetris: (2000/8000)(8000/8000) + (500/8000)(2000/8000) = 0.25 + 0.015625
    assert scores(tetris, state, pod)[0] == pytest.approx(0.265625)
    assert winner(tetris, state, pod) == 0
    assert scores(dot_product, state, pod)[0] == pytest.approx(1 - 0.25 / 2)
    assert winner(dot_product, state, pod) == 1


def test_alphaevolve_borg_formula_and_zero_guards() -> None:
    state = make_state(cpu=[4000, 8000], memory=[8000, 8000])
    # Node 0: c = 0.25, m = 0.25 -> -(0.5 + 1 + 1) = -2.5.
    assert scores(alphaevolve_borg, state, Pod(1000, 2000))[0] == pytest.approx(-2.5)
    # No CPU request: c = 0, m/c and c/m count 0 -> -m.
    assert scores(alphaevolve_borg, state, Pod(0, 2000)) == pytest.approx([-0.25, -0.25])
    state.cpu_free[0] = 0
    assert np.isfinite(scores(alphaevolve_borg, state, Pod(0, 0))).all()


def test_gpu_packing_prefers_shared_gpus_then_used_nodes_then_idle_nodes() -> None:
    # Node 0: both GPUs idle -> max(33 - 2, 2) = 31.
    # Node 1: takes the GPU with 400 free -> 100 - (400*100//1000)//10 = 96.
    # Node 2: only an idle GPU fits on a used node -> max(50 - 1, 33) = 49.
    state = make_state(cpu=[8000] * 3, gpus=[2, 2, 2])
    state.gpu_free_milli[1] = [1000, 400]
    state.gpu_free_milli[2] = [1000, 200]
    state.sync_gpu_free()
    pod = Pod(1000, 1, num_gpu=1, gpu_milli=300)
    assert scores(gpu_packing, state, pod) == [31.0, 96.0, 49.0]
    assert scores(gpu_packing, state, Pod(1000, 1)) == [0.0, 0.0, 0.0]


def test_fgd_prefers_the_placement_that_fragments_less() -> None:
    state = make_state(cpu=[8000, 8000], gpus=[1, 1])
    state.gpu_free_milli[1, 0] = 500
    state.sync_gpu_free()
    ctx = Context(
        shape_cpu_milli=np.array([1000]),
        shape_memory_mib=np.array([1]),
        shape_num_gpu=np.array([1]),
        shape_gpu_milli=np.array([600]),
        shape_probability=np.array([1.0]),
    )
    fgd = registry.get("fgd")
    pod = Pod(1000, 1, num_gpu=1, gpu_milli=500)
    assert scores(fgd, state, pod, ctx) == pytest.approx([-500.0, 500.0])
    assert winner(fgd, state, pod, ctx) == 1


@pytest.mark.parametrize("name", registry.names())
def test_every_baseline_returns_one_finite_score_per_feasible_node(name: str) -> None:
    rng = np.random.default_rng(2)
    state = make_state(
        cpu=rng.choice([0, 4000, 32000], 30).tolist(),
        memory=rng.choice([0, 8192, 65536], 30).tolist(),
        gpus=rng.choice([0, 1, 2, 8], 30).tolist(),
    )
    state.gpu_free_milli[:] = np.where(
        state.gpu_slot_exists, rng.choice([0, 300, 1000], state.gpu_free_milli.shape), 0
    )
    state.sync_gpu_free()
    heuristic = registry.get(name)
    for pod in (Pod(0, 0), Pod(1000, 1024), Pod(500, 0, 1, 300), Pod(2000, 4096, 2, 1000)):
        nodes = view(state, pod)
        result = np.asarray(heuristic(pod, nodes, EMPTY_CTX), dtype=np.float64)
        assert result.shape == (len(nodes),)
        assert np.isfinite(result).all()


def test_a_peaked_requested_to_capacity_shape_prefers_half_full_nodes() -> None:
    # Node 0 would be 12% used (score 100 * 12 // 50 = 24), node 1 50% (score 100).
    state = make_state(cpu=[4000, 4000], memory=[4000, 4000])
    allocate(state, 1, Pod(1500, 1500))
    peaked = requested_to_capacity_ratio(((0, 0), (50, 10), (100, 0)))
    assert scores(peaked, state, Pod(500, 500)) == [24.0, 100.0]


def test_the_readme_examples_run() -> None:
    readme = Path(__file__).resolve().parents[1] / "heuristics" / "baselines" / "README.md"
    blocks = readme.read_text(encoding="utf-8").split("```python\n")[1:]
    assert len(blocks) == 2
    for block in blocks:
        namespace: dict[str, object] = {}
        exec(block.split("```")[0], namespace)
        assert callable(namespace["score"])
