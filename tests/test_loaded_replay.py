"""Loaded replays (``SET:loaded-K``): deterministic by scenario seed, busy enough that
pods queue under kube-default, built from the trace's own arrivals; time compression,
node subsets and the v2017 instance counts behave as documented; the guarded replay
objective charges failed and pending pods."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from cluster_traces.alibaba_v2017 import (
    load_alibaba_v2017_batch_task_instances,
    load_alibaba_v2017_batch_tasks,
)
from cluster_traces.derive import compress_time, subsample_nodes
from cluster_traces.errors import ScenarioError
from cluster_traces.loaded import LOADED_REPLAYS, is_loaded_variant, live_demand
from cluster_traces.model import Workload
from cluster_traces.scenarios import check_scenario_name, load_scenario, load_trace
from cluster_traces.synthetic import synthetic_cluster, synthetic_workload
from heuristics.evolve.evaluator import signed_objective
from heuristics.evolve.objectives import FAILED_WEIGHT, PENDING_WEIGHT, objective_value
from heuristics.registry import get
from simulator import simulate


def _timed(arrival: list[float], departure: list[float]) -> Workload:
    workload = synthetic_workload(seed=0).take(np.arange(len(arrival)))
    return dataclasses.replace(
        workload, arrival_s=np.array(arrival), departure_s=np.array(departure)
    )


def test_compress_time_divides_arrival_gaps_and_keeps_lifetimes() -> None:
    workload = _timed([100.0, 110.0, 160.0], [150.0, 111.0, np.nan])
    compressed = compress_time(workload, 10.0)
    assert compressed.arrival_s.tolist() == [100.0, 101.0, 106.0]
    assert compressed.departure_s[:2].tolist() == [150.0, 102.0]
    assert np.isnan(compressed.departure_s[2])
    with pytest.raises(ValueError, match=r"compress_time: expected a factor >= 1, got 0.5"):
        compress_time(workload, 0.5)


def test_subsample_nodes_is_a_seeded_prefix_of_one_permutation() -> None:
    cluster = synthetic_cluster()
    small, large = subsample_nodes(cluster, 3, seed=4), subsample_nodes(cluster, 6, seed=4)
    assert len(small) == 3 and set(small.names) <= set(large.names)
    assert list(small.names) == list(subsample_nodes(cluster, 3, seed=4).names)
    with pytest.raises(ValueError, match=r"subsample_nodes: expected 1 <= count"):
        subsample_nodes(cluster, 0)


def test_live_demand_is_the_time_average_of_the_requests_alive() -> None:
    workload = _timed([0.0, 0.0, 100.0], [50.0, np.nan, 200.0])
    cpu = workload.cpu_milli.astype(float)
    # pod 0 lives half the span, pod 1 all of it, pod 2 arrives at the end
    assert live_demand(workload, "cpu_milli") == pytest.approx(0.5 * cpu[0] + cpu[1])


def test_only_loaded_k_of_a_listed_set_is_a_loaded_variant() -> None:
    assert is_loaded_variant("alibaba-gpu-v2023", "loaded-3")
    assert is_loaded_variant("alibaba-v2017", "loaded-0")
    assert is_loaded_variant("alibaba-gpu-v2023", "loaded-3-gpushare40")
    assert not is_loaded_variant("alibaba-gpu-v2023", "loaded")
    assert not is_loaded_variant("philly-subset", "loaded-1")
    assert set(LOADED_REPLAYS) == {"alibaba-gpu-v2023", "alibaba-v2017"}


def test_the_v2017_instance_counts_line_up_with_the_tasks(trace_dir: Path) -> None:
    folder = trace_dir / "alibaba-v2017"
    tasks, instances = load_alibaba_v2017_batch_task_instances(folder)
    assert len(tasks) == len(instances) == len(load_alibaba_v2017_batch_tasks(folder))
    assert np.all(np.diff(tasks.arrival_s) >= 0)
    # batch_task.csv's first row: job 3, task 4, 15,740 instances
    assert int(instances[list(tasks.names).index("3/4")]) == 15_740


@pytest.mark.parametrize("name", ["alibaba-gpu-v2023:loaded-4", "alibaba-v2017:loaded-20"])
def test_a_loaded_replay_is_deterministic_by_seed_and_replays_by_default(
    trace_dir: Path, name: str
) -> None:
    one, again = load_scenario(name, seed=1), load_scenario(name, seed=1)
    other = load_scenario(name, seed=2)
    assert one.replay.protocol == "replay"
    assert list(one.cluster.names) == list(again.cluster.names)
    assert np.array_equal(one.workload.arrival_s, again.workload.arrival_s)
    assert list(one.cluster.names) != list(other.cluster.names)
    assert len(one.cluster) < len(load_trace(name.split(":")[0]).cluster)


def test_a_loaded_gpu_window_keeps_the_trace_s_pods_in_the_window(trace_dir: Path) -> None:
    spec = LOADED_REPLAYS["alibaba-gpu-v2023"]
    scenario = load_scenario("alibaba-gpu-v2023:loaded-4")
    start = spec.first_s + 4 * spec.window_s
    pods = load_trace("alibaba-gpu-v2023:default").workload
    inside = (pods.arrival_s >= start) & (pods.arrival_s < start + spec.window_s)
    assert len(scenario.workload) == int(inside.sum())
    span = scenario.workload.arrival_s.max() - scenario.workload.arrival_s.min()
    assert span <= spec.window_s / spec.compress
    lifetimes = scenario.workload.departure_s - scenario.workload.arrival_s
    assert np.allclose(np.sort(lifetimes), np.sort((pods.departure_s - pods.arrival_s)[inside]))


@pytest.mark.parametrize("name", ["alibaba-gpu-v2023:loaded-4", "alibaba-v2017:loaded-20"])
def test_kube_default_keeps_a_loaded_replay_busy_with_pods_queueing(
    trace_dir: Path, name: str
) -> None:
    metrics = simulate(load_scenario(name), get("kube-default"), seed=0).metrics
    busiest = max(metrics["gpu_alloc_percent"], metrics["memory_alloc_percent"])
    assert busiest > 60.0, metrics
    assert metrics["pods_pending_mean"] > 1.0, metrics  # pods queue: some wait at any time
    assert metrics["pods_failed"] < 0.1 * metrics["pods_arrived"], metrics


def test_a_gpu_window_of_another_pod_list_keeps_that_list_s_pods_over_the_same_days(
    trace_dir: Path,
) -> None:
    spec = LOADED_REPLAYS["alibaba-gpu-v2023"]
    scenario = load_scenario("alibaba-gpu-v2023:loaded-2-gpushare40")
    start = spec.first_s + 2 * spec.window_s
    pods = load_trace("alibaba-gpu-v2023:gpushare40").workload
    inside = (pods.arrival_s >= start) & (pods.arrival_s < start + spec.window_s)
    assert sorted(scenario.workload.names) == sorted(pods.names[inside])
    assert np.array_equal(np.sort(scenario.workload.gpu_milli), np.sort(pods.gpu_milli[inside]))
    default = load_scenario("alibaba-gpu-v2023:loaded-2").workload
    assert not np.array_equal(np.sort(default.gpu_milli), np.sort(scenario.workload.gpu_milli))
    assert "gpushare40" in scenario.workload.source


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("alibaba-gpu-v2023:loaded-0-gpushare33", "unknown pod list 'gpushare33'"),
        ("alibaba-gpu-v2023:loaded-0-default", "unknown pod list 'default'; loaded-K is the"),
        ("alibaba-v2017:loaded-0-cloudsimpy", "alibaba-v2017 has one pod list"),
    ],
)
def test_a_pod_list_a_loaded_replay_cannot_take_is_refused_by_its_spelling(
    name: str, message: str
) -> None:
    with pytest.raises(ScenarioError, match=message):
        check_scenario_name(name)


def test_a_window_past_the_trace_names_the_fix(trace_dir: Path) -> None:
    with pytest.raises(ScenarioError, match=r"loaded-99: no pods arrive .* try a smaller K"):
        load_scenario("alibaba-gpu-v2023:loaded-99")


def test_the_guarded_objective_charges_failed_and_pending_pods() -> None:
    metrics = {
        "stranded_share_mean": 0.1,
        "pods_arrived": 1000.0,
        "pods_failed": 10.0,
        "pods_pending_mean": 20.0,
    }
    expected = 0.1 + FAILED_WEIGHT * 0.01 + PENDING_WEIGHT * 0.02
    assert objective_value(metrics, "stranded_share_guarded") == pytest.approx(expected)
    signed = signed_objective(metrics, "replay", "stranded_share_guarded", "auto")
    assert signed == pytest.approx(-expected)  # minimised by default
    assert objective_value(metrics, "pods_failed") == 10.0


def test_the_guarded_objective_names_a_missing_metric() -> None:
    with pytest.raises(KeyError, match=r"stranded_share_guarded.*'pods_pending_mean'"):
        objective_value({"stranded_share_mean": 0.1, "pods_arrived": 5, "pods_failed": 0},
                        "stranded_share_guarded")  # fmt: skip


def test_the_headline_stranded_share_is_gpu_with_gpus_and_cpu_without(trace_dir: Path) -> None:
    gpu = simulate(load_scenario("alibaba-gpu-v2023:loaded-4"), get("kube-default")).metrics
    cpu = simulate(load_scenario("alibaba-v2017:loaded-20"), get("kube-default")).metrics
    assert gpu["stranded_share_mean"] == gpu["stranded_gpu_share_mean"]
    assert cpu["stranded_share_mean"] == cpu["stranded_cpu_share_mean"]
