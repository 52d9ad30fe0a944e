"""The simulator on the real traces: FGD's saturate results and replays with departures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cluster_traces.derive import time_window
from cluster_traces.model import Scenario
from cluster_traces.scenarios import load_scenario
from heuristics.registry import get
from simulator import simulate

pytestmark = [pytest.mark.traces, pytest.mark.slow]  # seconds to minutes each

# FGD paper (Weng et al., ATC'23), GPU allocation at 130% arrived, 10 seeds.
PUBLISHED_ALLOCATION_AT_130 = {"fgd": 95.4, "best-fit": 93.1, "dot-product": 90.9, "random": 87.5}


def test_saturate_orders_policies_as_the_fgd_paper_and_lands_near_its_numbers(
    trace_dir: Path,
) -> None:
    scenario = load_scenario("alibaba-gpu-v2023:default", trace_dir)
    seeds = (0, 1)  # docs/simulator.md reports 10 seeds; two keep this test under 2 minutes
    allocation = {
        name: float(
            np.mean(
                [
                    simulate(scenario, get(name), seed=s, sample_step_percent=10.0).metrics[
                        "gpu_alloc_at_130"
                    ]
                    for s in seeds
                ]
            )
        )
        for name in PUBLISHED_ALLOCATION_AT_130
    }
    ranked = sorted(allocation, key=allocation.__getitem__, reverse=True)
    assert ranked == ["fgd", "best-fit", "dot-product", "random"], allocation
    for name, published in PUBLISHED_ALLOCATION_AT_130.items():
        assert allocation[name] == pytest.approx(published, abs=2.0), (name, allocation)


def test_saturate_on_the_alibaba_cluster_is_deterministic_per_seed(trace_dir: Path) -> None:
    scenario = load_scenario("alibaba-gpu-v2023:default", trace_dir)
    runs = [
        simulate(scenario, get("best-fit"), seed=seed, sample_step_percent=10.0) for seed in (7, 7)
    ]
    assert runs[0].metrics == runs[1].metrics
    assert np.array_equal(runs[0].placements, runs[1].placements)
    assert runs[0].metrics["arrived_gpu_percent"] >= 130.0


def test_replay_of_alibaba_gpu_default_places_pods_and_releases_them(trace_dir: Path) -> None:
    scenario = load_scenario("alibaba-gpu-v2023:default", trace_dir, protocol="replay")
    results = {name: simulate(scenario, get(name)) for name in ("kube-default", "best-fit")}
    for name, result in results.items():
        metrics = result.metrics
        assert metrics["pods_placed"] + metrics["pods_failed"] + metrics["pods_pending_end"] == len(
            scenario.workload or ()
        ), name
        curve = result.curves["stranded_gpu_share"]
        assert curve.x_name == "time_s" and len(curve.x) == 200
        assert np.all((curve.y >= 0) & (curve.y <= 1))
        # Pods leave: GPU allocation over the live window stays far below a full cluster.
        assert 0 < metrics["gpu_alloc_percent"] < 50
    # Spreading (kube-default) and packing (best-fit) choose different nodes.
    assert not np.array_equal(results["kube-default"].placements, results["best-fit"].placements)


def _v2017_window(trace_dir: Path) -> Scenario:
    scenario = load_scenario("alibaba-v2017", trace_dir)
    assert scenario.workload is not None
    start = float(np.nanmin(scenario.workload.arrival_s))
    workload = time_window(scenario.workload, start, start + 6 * 3600)
    return Scenario(f"{scenario.name} first 6 h", scenario.cluster, workload, scenario.replay)


def test_replay_of_alibaba_v2017_tasks_on_its_machines_reports_stranded_share(
    trace_dir: Path,
) -> None:
    scenario = _v2017_window(trace_dir)
    for name in ("kube-default", "best-fit"):
        result = simulate(scenario, get(name), sample_points=50)
        assert result.protocol == "replay"
        assert result.metrics["pods_placed"] > 0
        assert "stranded_cpu_share_mean" in result.metrics
        assert len(result.curves["stranded_cpu_share"].y) == 50


def test_a_loaded_gpu_replay_reports_the_pods_waiting_behind_fragmented_gpus(
    trace_dir: Path,
) -> None:
    """Part of the queue, never more than it; on a CPU-only trace, none (docs/results.md,
    campaign 3's eleventh attempt: about half of GPU window 0's queue under kube-default)."""
    gpu = simulate(
        load_scenario("alibaba-gpu-v2023:loaded-0", trace_dir), get("kube-default"), seed=0
    )
    behind = gpu.curves["pods_pending_fragmented"].y
    assert np.all(behind <= gpu.curves["pods_pending"].y)
    assert 0 < gpu.metrics["pods_pending_fragmented_mean"] < gpu.metrics["pods_pending_mean"]
    cpu = simulate(load_scenario("alibaba-v2017:loaded-10", trace_dir), get("kube-default"), seed=0)
    assert cpu.metrics["pods_pending_mean"] > 0
    assert cpu.metrics["pods_pending_fragmented_mean"] == 0
