"""The embedded default: heterogeneous, multi-resource, realistic, small and seeded."""

from __future__ import annotations

import numpy as np

from cluster_traces.synthetic import synthetic_cluster, synthetic_scenario, synthetic_workload


def test_cluster_mixes_cpu_only_nodes_and_three_gpu_models() -> None:
    cluster = synthetic_cluster()
    assert int((cluster.gpu_count == 0).sum()) > 0
    assert len(cluster.gpu_models) == 3
    assert len(set(cluster.cpu_milli.tolist())) >= 2


def test_workload_has_cpu_shared_whole_and_multi_gpu_pods() -> None:
    pods = synthetic_workload(seed=0)
    cpu_only = pods.num_gpu == 0
    shared = (pods.num_gpu == 1) & (pods.gpu_milli < 1000)
    whole = (pods.num_gpu == 1) & (pods.gpu_milli == 1000)
    multi = pods.num_gpu > 1
    for kind in (cpu_only, shared, whole, multi):
        assert 0.05 < kind.mean() < 0.5
    assert np.any(pods.gpu_spec != "")
    assert np.all(pods.gpu_spec[cpu_only] == "")


def test_every_pod_fits_on_some_node() -> None:
    cluster, pods = synthetic_cluster(), synthetic_workload(seed=1)
    for i in range(len(pods)):
        allowed = pods.gpu_spec[i].split("|") if pods.gpu_spec[i] else None
        fits = (
            (cluster.cpu_milli >= pods.cpu_milli[i])
            & (cluster.memory_mib >= pods.memory_mib[i])
            & (cluster.gpu_count >= pods.num_gpu[i])
        )
        if allowed and pods.num_gpu[i] > 0:
            fits &= np.isin(cluster.gpu_model, allowed)
        assert fits.any(), f"pod {i} fits nowhere"


def test_same_seed_same_workload_and_different_seed_different_workload() -> None:
    a, b, c = synthetic_workload(seed=4), synthetic_workload(seed=4), synthetic_workload(seed=5)
    assert np.array_equal(a.cpu_milli, b.cpu_milli) and np.array_equal(a.arrival_s, b.arrival_s)
    assert not np.array_equal(a.cpu_milli, c.cpu_milli)


def test_arrivals_rise_and_every_pod_departs_after_arriving() -> None:
    pods = synthetic_workload(seed=0)
    assert pods.has_times
    assert np.all(np.diff(pods.arrival_s) > 0)
    assert np.all(pods.departure_s > pods.arrival_s)


def test_workload_offers_enough_gpu_demand_to_saturate_to_130_percent() -> None:
    scenario = synthetic_scenario(seed=0)
    assert scenario.cluster is not None and scenario.workload is not None
    demand_gpus = scenario.workload.gpu_milli_total.sum() / 1000
    assert demand_gpus > 1.3 * scenario.cluster.totals()["gpu"]
    assert scenario.replay.protocol == "saturate"
