"""The simulator's protocols on tiny hand-built clusters, with hand-computed outcomes."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pytest

from cluster_traces.model import (
    BinPackingInstance,
    Cluster,
    NodeEvents,
    Replay,
    Scenario,
    Workload,
)
from heuristics.contract import Context, HeuristicError, NodeView, Pod
from simulator import METRICS, SimulationResult, simulate


def first_fit(pod: Pod, nodes: NodeView, ctx: Context) -> np.ndarray:
    return np.zeros(len(nodes))


def most_free_cpu(pod: Pod, nodes: NodeView, ctx: Context) -> np.ndarray:
    return nodes.cpu_free.astype(float)


def least_free_cpu(pod: Pod, nodes: NodeView, ctx: Context) -> np.ndarray:
    return -nodes.cpu_free.astype(float)


def cluster(
    cpu_milli: Sequence[int], gpus: Sequence[int] | None = None, **extra: object
) -> Cluster:
    count = len(cpu_milli)
    gpu = list(gpus) if gpus is not None else [0] * count
    return Cluster(
        names=[f"n{i}" for i in range(count)],
        cpu_milli=list(cpu_milli),
        memory_mib=[65536] * count,
        gpu_count=gpu,
        gpu_model=["V100" if g else "" for g in gpu],
        **extra,  # type: ignore[arg-type]
    )


def workload(
    cpu_milli: Sequence[int],
    *,
    num_gpu: Sequence[int] | None = None,
    arrival_s: Sequence[float] | None = None,
    departure_s: Sequence[float] | None = None,
) -> Workload:
    count = len(cpu_milli)
    gpus = list(num_gpu) if num_gpu is not None else [0] * count
    nan = [float("nan")] * count
    return Workload(
        names=[f"p{i}" for i in range(count)],
        cpu_milli=list(cpu_milli),
        memory_mib=[1024] * count,
        num_gpu=gpus,
        gpu_milli=[1000 if g else 0 for g in gpus],
        gpu_spec=[""] * count,
        qos=[""] * count,
        priority=[0] * count,
        arrival_s=list(arrival_s) if arrival_s is not None else nan,
        departure_s=list(departure_s) if departure_s is not None else nan,
    )


# --- saturate --------------------------------------------------------------------------


def gpu_scenario() -> Scenario:
    # 4 nodes of 2 GPUs; pods of 1 GPU and 2 GPUs; arrivals stop at 130% of 8 GPUs.
    return Scenario(
        "tiny-gpu",
        cluster([8000] * 4, gpus=[2, 2, 2, 2]),
        workload([1000, 2000, 1000], num_gpu=[1, 2, 1]),
        Replay("saturate"),
    )


def test_saturate_fills_until_arrivals_reach_130_percent_and_never_removes() -> None:
    result = simulate(gpu_scenario(), first_fit, seed=3)
    metrics = result.metrics
    assert 130.0 <= metrics["arrived_gpu_percent"] < 130.0 + 2 * 100 / 8
    assert metrics["gpu_alloc_at_130"] == pytest.approx(100.0)  # 8 GPUs, over-asked: all used
    assert metrics["pods_placed"] + metrics["pods_failed"] == metrics["pods_arrived"]
    curve = result.curves["gpu_alloc_percent"]
    assert curve.x[0] == 0.0 and curve.x[-1] == metrics["arrived_gpu_percent"]
    assert np.all(np.diff(curve.y) >= 0)  # nothing ever departs
    assert set(metrics) <= set(METRICS)


def test_saturate_is_deterministic_for_a_seed_and_varies_across_seeds() -> None:
    runs = [simulate(gpu_scenario(), most_free_cpu, seed=s) for s in (1, 1, 2)]
    assert runs[0].metrics == runs[1].metrics
    assert np.array_equal(runs[0].placements, runs[1].placements)
    assert not np.array_equal(runs[0].placements, runs[2].placements)


def test_a_pod_that_fits_no_node_is_counted_unschedulable_not_an_error() -> None:
    scenario = Scenario(
        "too-big",
        cluster([8000], gpus=[2]),
        workload([1000, 64000], num_gpu=[1, 1]),
        Replay("saturate"),
    )
    metrics = simulate(scenario, first_fit, seed=0).metrics
    assert metrics["pods_unschedulable"] > 0
    assert metrics["pods_failed"] >= metrics["pods_unschedulable"]


# --- heuristic errors --------------------------------------------------------------------


def wrong_shape(pod: Pod, nodes: NodeView, ctx: Context) -> np.ndarray:
    return np.zeros(len(nodes) + 1)


def nan_scores(pod: Pod, nodes: NodeView, ctx: Context) -> np.ndarray:
    return np.full(len(nodes), np.nan)


def raises(pod: Pod, nodes: NodeView, ctx: Context) -> np.ndarray:
    raise ZeroDivisionError("boom")


@pytest.mark.parametrize(
    ("heuristic", "message"),
    [(wrong_shape, "expected shape"), (nan_scores, "finite"), (raises, "ZeroDivisionError")],
)
def test_a_misbehaving_heuristic_raises_heuristic_error_naming_the_pod(
    heuristic: object, message: str
) -> None:
    with pytest.raises(HeuristicError, match=message) as caught:
        simulate(gpu_scenario(), heuristic, seed=0)  # type: ignore[arg-type]
    assert "saturate tiny-gpu pod 0" in str(caught.value)


def test_counted_heuristic_errors_leave_pods_unplaced_and_are_reported() -> None:
    result = simulate(gpu_scenario(), nan_scores, seed=0, on_heuristic_error="count")
    metrics = result.metrics
    assert metrics["heuristic_errors"] == metrics["decisions"] > 0
    assert metrics["pods_placed"] == 0
    assert metrics["pods_failed"] == metrics["pods_arrived"]
    assert result.errors and "finite" in result.errors[0]
    assert np.all(result.placements == -1)


def guarded_division(pod: Pod, nodes: NodeView, ctx: Context) -> np.ndarray:
    # an evolved program's habit: divide by zero, let nan_to_num rank the node last
    return np.nan_to_num(1.0 / (nodes.cpu_free - nodes.cpu_free), posinf=1e12)


def test_a_guarded_division_by_zero_prints_no_numpy_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        result = simulate(gpu_scenario(), guarded_division, seed=0)
    assert result.metrics["pods_placed"] > 0
    with pytest.raises(HeuristicError, match="finite"):  # a non-finite score still fails
        simulate(gpu_scenario(), nan_scores, seed=0)


def test_unknown_options_are_refused_with_the_known_ones_listed() -> None:
    with pytest.raises(ValueError, match=r"unknown \['sample_step'\].*sample_step_percent"):
        simulate(gpu_scenario(), first_fit, sample_step=5)


# --- elastic: online bin packing ------------------------------------------------------


def packing(items: Sequence[float], capacity: float = 10) -> Scenario:
    instance = BinPackingInstance("tiny", capacity, np.array(items, dtype=float))
    return Scenario("tiny-bins", None, None, Replay("elastic"), (instance,))


def test_best_fit_packs_items_into_the_tightest_open_bin() -> None:
    # Items 6, 5, 4, 3: bins [6] [5] -> 4 goes with 6 (tightest: 6+4=10) -> 3 goes with 5.
    result = simulate(packing([6, 5, 4, 3]), least_free_cpu)
    assert result.placements.tolist() == [0, 1, 0, 1]
    assert result.metrics["bins_used_mean"] == 2
    assert result.metrics["excess_percent"] == 0.0


def test_first_fit_takes_the_first_open_bin_that_fits() -> None:
    result = simulate(packing([6, 5, 4, 3]), first_fit)
    assert result.placements.tolist() == [0, 1, 0, 1]
    result = simulate(packing([5, 6, 3, 4]), first_fit)
    assert result.placements.tolist() == [0, 1, 0, 1]


def test_the_fresh_bin_is_the_last_candidate_and_choosing_it_opens_a_bin() -> None:
    # Preferring the most free capacity always picks the fresh (empty) bin.
    result = simulate(packing([1, 1, 1]), most_free_cpu)
    assert result.placements.tolist() == [0, 1, 2]
    assert result.metrics["bins_used_mean"] == 3
    assert result.metrics["l1_bound_mean"] == 1
    assert result.metrics["excess_percent"] == pytest.approx(200.0)


def test_counted_heuristic_errors_withhold_the_packing_score() -> None:
    result = simulate(packing([6, 5, 4, 3]), nan_scores, on_heuristic_error="count")
    assert result.metrics["heuristic_errors"] == 4
    assert result.metrics["pods_failed"] == 4
    assert "excess_percent" not in result.metrics  # 0 bins would look like a perfect score


def test_decimal_item_sizes_are_scaled_to_integers_exactly() -> None:
    # 3 x 3.3 = 9.9 fits one bin of 10; floating-point sums must not open a second bin.
    result = simulate(packing([3.3, 3.3, 3.3, 0.1]), first_fit)
    assert result.placements.tolist() == [0, 0, 0, 0]


# --- elastic on a cluster ----------------------------------------------------------------


def test_elastic_cluster_opens_template_nodes_on_demand_and_counts_misfits() -> None:
    scenario = Scenario(
        "elastic-cpu",
        cluster([4000, 4000, 16000]),  # the most common shape (4 cores) is the template
        workload([3000, 1000, 2000, 2000, 8000]),
        Replay("elastic"),
    )
    result = simulate(scenario, first_fit)
    assert result.placements.tolist() == [0, 0, 1, 1, -1]
    metrics = result.metrics
    assert metrics["bins_used_mean"] == 2
    assert metrics["l1_bound_mean"] == 2  # ceil(8000 / 4000) over the hostable pods
    assert metrics["pods_unschedulable"] == 1


def test_elastic_in_time_scales_up_for_waiting_pods_and_down_after_idling() -> None:
    # Template: 4 cores. Two 3-core pods at t=0 (for 100 s) need two nodes by the L1
    # estimate; the nodes join at once and the pods, still backing off, are popped at once.
    # A 1-core pod at t=200 reuses node 0. Node 1 idles from t=100 and goes at t=700; node
    # 0 idles from t=300 and goes at 900.
    scenario = Scenario(
        "elastic-in-time",
        cluster([4000]),
        workload([3000, 3000, 1000], arrival_s=[0, 0, 200], departure_s=[100, 100, 300]),
        Replay("elastic"),
    )
    result = simulate(scenario, first_fit, scale_down_idle_s=600)
    assert result.protocol == "elastic"
    assert result.placements.tolist() == [0, 1, 0]
    metrics = result.metrics
    assert metrics["nodes_opened"] == 2 and metrics["nodes_used_max"] == 2
    assert metrics["node_hours"] == pytest.approx((900 + 700) / 3600)
    assert metrics["queue_delay_p99_s"] == 0


# --- replay ------------------------------------------------------------------------------


def replay_scenario(
    cpus: Sequence[int],
    arrival: Sequence[float],
    departure: Sequence[float],
    nodes: Sequence[int] = (4000,),
    events: NodeEvents | None = None,
) -> Scenario:
    extra = {"events": events} if events is not None else {}
    return Scenario(
        "tiny-replay",
        cluster(list(nodes), **extra),
        workload(cpus, arrival_s=arrival, departure_s=departure),
        Replay("replay"),
    )


def test_a_waiting_pod_is_placed_when_a_departure_frees_capacity() -> None:
    # Pod 0 holds the only node from t=0 to t=100; pod 1 arrives at t=10 and must wait.
    scenario = replay_scenario([4000, 4000], [0, 10], [100, 300])
    result = simulate(scenario, first_fit)
    assert result.placements.tolist() == [0, 0]
    metrics = result.metrics
    assert metrics["pods_placed"] == 2 and metrics["pods_failed"] == 0
    assert metrics["queue_delay_p99_s"] == pytest.approx(0.99 * 90.0)  # delays 0 and 90 s


def test_a_pod_waiting_longer_than_the_timeout_fails() -> None:
    scenario = replay_scenario([4000, 4000], [0, 10], [10_000, 20_000])
    result = simulate(scenario, first_fit, pending_timeout_s=600)
    assert result.placements.tolist() == [0, -1]
    assert result.metrics["pods_failed"] == 1
    assert result.metrics["pods_pending_end"] == 0


def test_a_pod_backing_off_is_retried_as_soon_as_capacity_frees() -> None:
    # Pod 1 is tried at t=10 and fails: backoff 50 s. Pod 0 leaves at t=20 and nothing else
    # is due, so pod 1 is popped from backoff then (kube-scheduler's SchedulerPopFromBackoffQ).
    scenario = replay_scenario([4000, 4000], [0, 10], [20, 1000])
    result = simulate(scenario, first_fit, backoff_initial_s=50, backoff_max_s=100)
    assert result.metrics["queue_delay_p99_s"] == pytest.approx(0.99 * 10.0)


def test_without_pop_from_backoff_the_retry_waits_for_the_backoff_to_end() -> None:
    # As above, but pod 1 waits for its backoff: although pod 0 leaves at t=20 the retry
    # waits until t=60.
    scenario = replay_scenario([4000, 4000], [0, 10], [20, 1000])
    result = simulate(
        scenario, first_fit, backoff_initial_s=50, backoff_max_s=100, pop_from_backoff=False
    )
    assert result.metrics["queue_delay_p99_s"] == pytest.approx(0.99 * 50.0)


def test_pods_due_go_before_pods_popped_from_backoff() -> None:
    # Pod 0 holds the only node until t=11. Pod 1 fails at t=10; its 1 s backoff ends at
    # t=11, in the 1 s window kube-scheduler still counts as backing off. Pod 2 arrives at
    # t=11, as pod 0 leaves: it is due and goes first; pod 1, popped from backoff after
    # it, no longer fits and fails at its 500 s timeout. (Without popping from backoff pod
    # 1 is due at t=11 and, queued first, goes first.)
    scenario = replay_scenario([4000, 4000, 4000], [0, 10, 11], [11, 2000, 2000])
    for pop, placements in ((True, [0, -1, 0]), (False, [0, 0, -1])):
        result = simulate(scenario, first_fit, pending_timeout_s=500, pop_from_backoff=pop)
        assert result.placements.tolist() == placements, pop


def test_pods_popped_from_backoff_go_by_backoff_expiry_first() -> None:
    # Pod 0 (3.8 cores) holds the node until t=4; pods 1 and 2 (0.1 core) free too little
    # at t=2.5 and t=3. Pod 3 (4 cores, t=1) fails at 1, 2.5 and 3 and backs off until
    # t=7; pod 4 (4 cores) fails at t=3.5 and backs off until t=4.5. At t=4 both are
    # backing off and the node fits one: kube-scheduler pops the sooner expiry first (pod
    # 4), although pod 3 joined the queue first. The other fails at its 500 s timeout.
    scenario = replay_scenario(
        [3800, 100, 100, 4000, 4000], [0, 0, 0, 1, 3.5], [4, 2.5, 3, 2000, 2000]
    )
    result = simulate(scenario, first_fit, pending_timeout_s=500)
    assert result.placements.tolist() == [0, 0, 0, -1, 0]


@pytest.mark.parametrize(("queue_order", "placed"), [("last_attempt", 5), ("arrival", 4)])
def test_queue_order_within_a_priority(queue_order: str, placed: int) -> None:
    # Pod 0 (3 cores) leaves at t=30; pods 1-3 (0.1 core) leave at t=12, 15 and 18, each
    # freeing too little for pods 4 (arrives t=10) and 5 (t=16), 4 cores each. Pod 4 backs
    # off 1, 2, 4 s; at t=18 pod 5 is due and tried before pod 4 is popped from backoff, so
    # pod 5 last joined the queue first. At t=30 the node fits one of them: kube-scheduler's
    # order (last attempt) picks pod 5, arrival order pod 4. The other fails at 500 s.
    scenario = replay_scenario(
        [3000, 100, 100, 100, 4000, 4000],
        [0, 0, 0, 0, 10, 16],
        [30, 12, 15, 18, 2000, 2000],
    )
    result = simulate(scenario, first_fit, pending_timeout_s=500, queue_order=queue_order)
    assert result.placements[4:].tolist() == [0 if i == placed else -1 for i in (4, 5)]


def test_nodes_join_and_leave_at_their_event_times() -> None:
    # n1 joins at t=50 (absent before); n0 leaves at t=200, evicting its pod to n1.
    events = NodeEvents(np.array([50.0, 200.0]), np.array([1, 0]), np.array(["add", "remove"]))
    scenario = replay_scenario(
        [3000, 3000], [0, 10], [1000, 1000], nodes=(4000, 4000), events=events
    )
    result = simulate(scenario, first_fit, pending_timeout_s=5000)
    metrics = result.metrics
    assert metrics["pods_evicted"] == 1
    # Pod 1 waited for n1 (t=50); pod 0, evicted at t=200, waits until pod 1 leaves n1
    # (t=1000) and is placed there: placements hold the last node.
    assert result.placements.tolist() == [1, 1]
    assert metrics["pods_failed"] == 0
    assert metrics["queue_delay_p99_s"] == pytest.approx(0.99 * 40.0)  # first placements


def test_an_evicted_pod_without_room_stays_pending_not_failed() -> None:
    # n0 leaves at t=50 evicting pod 0; n1 is full with pod 1 forever: pod 0 waits to the end.
    events = NodeEvents(np.array([50.0]), np.array([0]), np.array(["remove"]))
    nan = float("nan")
    scenario = replay_scenario([4000, 4000], [0, 0], [nan, nan], nodes=(4000, 4000), events=events)
    metrics = simulate(scenario, first_fit, pending_timeout_s=100).metrics
    assert metrics["pods_evicted"] == 1
    assert metrics["pods_pending_end"] == 1
    assert metrics["pods_failed"] == 0 and metrics["pods_placed"] == 2


def test_replay_needs_arrival_times() -> None:
    scenario = Scenario("no-times", cluster([4000]), workload([1000]), Replay("replay"))
    with pytest.raises(ValueError, match="arrival time"):
        simulate(scenario, first_fit)


def test_replay_is_deterministic() -> None:
    scenario = replay_scenario(
        [1000, 2000, 3000, 1000, 2500], [0, 5, 7, 9, 30], [50, 40, 100, 200, 90], nodes=(4000,) * 2
    )
    first: SimulationResult = simulate(scenario, least_free_cpu)
    second = simulate(scenario, least_free_cpu)
    assert first.metrics == second.metrics
    assert np.array_equal(first.placements, second.placements)
    for name, curve in first.curves.items():
        assert np.array_equal(curve.y, second.curves[name].y), name


# --- the metric vocabulary ---------------------------------------------------------------


def test_every_metric_key_is_defined_in_the_docs() -> None:
    from pathlib import Path

    text = (Path(__file__).parents[1] / "docs" / "simulator.md").read_text()
    missing = [key for key in METRICS if f"`{key}`" not in text]
    assert not missing


def test_a_result_refuses_metric_keys_outside_the_vocabulary() -> None:
    with pytest.raises(ValueError, match="unknown keys \\['made_up'\\]"):
        SimulationResult("s", "p", "saturate", 0, {"made_up": 1.0})


# --- recovered compute ---------------------------------------------------------------------


def test_recovered_compute_is_stated_in_resource_units_against_the_baseline() -> None:
    from simulator.compare import PolicyRuns, recovered_compute

    scenario = gpu_scenario()  # 8 GPUs, 32 cores

    def runs(name: str, gpu: float, cpu: float) -> PolicyRuns:
        metrics = {"gpu_alloc_at_130": gpu, "cpu_alloc_percent": cpu}
        return PolicyRuns(name, (SimulationResult("s", name, "saturate", 0, metrics),))

    amounts = recovered_compute(scenario, runs("new", 75.0, 50.0), runs("base", 50.0, 25.0))
    assert amounts == {"gpus": pytest.approx(2.0), "cpu_cores": pytest.approx(8.0)}
