"""Machine inventories and timed workloads of the other sets load with known facts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cluster_traces.alibaba_v2017 import (
    load_alibaba_v2017_batch_tasks,
    load_alibaba_v2017_cloudsimpy_jobs,
    load_alibaba_v2017_machines,
)
from cluster_traces.azure import duration_bins, load_azure_flavours, load_azure_vms
from cluster_traces.google import load_google_2019_machines
from cluster_traces.inventories import (
    load_alibaba_v2018_machines,
    load_pai_v2020_machines,
    load_spot_gpu_v2026_nodes,
)
from cluster_traces.philly import attempt_seconds, load_philly_jobs
from cluster_traces.units import ALIBABA_V2017_UNITS, GIB, NormalisedUnits

pytestmark = pytest.mark.traces


def test_alibaba_v2017_has_1313_machines_of_64_cores(trace_dir: Path) -> None:
    cluster = load_alibaba_v2017_machines(trace_dir / "alibaba-v2017")
    assert len(cluster) == 1313
    assert np.median(cluster.cpu_milli) == 64_000
    assert len(cluster.events) == 1352
    assert set(cluster.events.kind) == {"add", "remove"}


def test_alibaba_v2017_memory_follows_the_stated_assumption(trace_dir: Path) -> None:
    default = load_alibaba_v2017_machines(trace_dir / "alibaba-v2017")
    doubled = load_alibaba_v2017_machines(
        trace_dir / "alibaba-v2017",
        NormalisedUnits(
            cpu_milli_of_1=64_000, memory_mib_of_1=2 * ALIBABA_V2017_UNITS.memory_mib_of_1
        ),
    )
    assert abs(np.median(default.memory_mib) - 0.69 * 256 * GIB) < GIB
    assert np.allclose(doubled.memory_mib, 2 * default.memory_mib, atol=1)


def test_alibaba_v2017_batch_tasks_leave_out_the_9017_without_request(trace_dir: Path) -> None:
    tasks = load_alibaba_v2017_batch_tasks(trace_dir / "alibaba-v2017")
    assert len(tasks) == 80_553 - 9_017
    assert np.all(np.diff(tasks.arrival_s) >= 0)
    assert 50 * 10 in set(tasks.cpu_milli.tolist())  # plan_cpu 50 = half a core
    assert int((tasks.num_gpu > 0).sum()) == 0


def test_alibaba_v2017_cloudsimpy_departure_is_submit_plus_duration(trace_dir: Path) -> None:
    jobs = load_alibaba_v2017_cloudsimpy_jobs(trace_dir / "alibaba-v2017")
    assert len(jobs) == 31_756
    first = np.flatnonzero(jobs.names == "1/1")[0]
    assert jobs.arrival_s[first] == 539
    assert jobs.departure_s[first] == pytest.approx(539 + 116.38162544169612)
    assert jobs.cpu_milli[first] == 1000


def test_alibaba_v2018_has_4034_machines_of_96_cores(trace_dir: Path) -> None:
    cluster = load_alibaba_v2018_machines(trace_dir / "alibaba-v2018")
    assert len(cluster) == 4034
    assert set(cluster.cpu_milli.tolist()) == {96_000}
    assert set(cluster.memory_mib.tolist()) == {512 * GIB}


def test_pai_v2020_has_1897_machines_with_memory_in_mib(trace_dir: Path) -> None:
    cluster = load_pai_v2020_machines(trace_dir / "alibaba-pai-gpu-v2020")
    assert len(cluster) == 1897
    assert set(cluster.memory_mib.tolist()) <= {384 * GIB, 512 * GIB}
    assert "P100" in cluster.gpu_models
    assert set(cluster.gpu_model[cluster.gpu_count == 0]) == {""}


def test_spot_gpu_v2026_has_4278_nodes(trace_dir: Path) -> None:
    cluster = load_spot_gpu_v2026_nodes(trace_dir / "alibaba-v2026-spot-gpu")
    assert len(cluster) == 4278
    assert "H800" in cluster.gpu_models
    assert int(cluster.gpu_count.max()) == 8


def test_google_2019_cell_a_has_10001_machines_with_events(trace_dir: Path) -> None:
    cluster = load_google_2019_machines(trace_dir / "google-2019-cell-a")
    assert len(cluster) == 10_001
    assert int(cluster.cpu_milli.max()) == 128_000  # 1.0 normalised under the default units
    assert len(cluster.events) > 0
    assert 30 * 86_400 < cluster.events.time_s.max() < 32 * 86_400  # about 31 days


def test_google_inventory_at_a_time_holds_only_machines_present_then(trace_dir: Path) -> None:
    start = load_google_2019_machines(trace_dir / "google-2019-cell-a", at_s=0)
    later = load_google_2019_machines(trace_dir / "google-2019-cell-a", at_s=15 * 86_400)
    assert 9_000 < len(start) < 10_001
    assert len(later) != len(start)
    assert len(later.events) == 0


def test_azure_flavours_span_1_to_16_vcpu(trace_dir: Path) -> None:
    flavours = load_azure_flavours(trace_dir / "azure-v1-2017")
    cpus = {cpu for cpu, _ in flavours.values()}
    assert len(flavours) == 16
    assert min(cpus) == 1000 and max(cpus) == 16_000
    assert flavours["a"] == (1000, 768)  # 0.75 GB
    assert flavours["d"] == (16_000, 112 * GIB)


def test_azure_duration_bins_start_with_300_second_steps(trace_dir: Path) -> None:
    midpoints = duration_bins(trace_dir / "azure-v1-2017")
    assert midpoints[0] == 150
    assert midpoints[1] == 450
    assert np.all(np.diff(midpoints) > 0)


def test_azure_dev_split_has_lifetimes_for_ended_vms(trace_dir: Path) -> None:
    vms = load_azure_vms(trace_dir / "azure-v1-2017", "dev")
    assert vms.arrival_s[0] == 1_800_000
    ended = ~np.isnan(vms.departure_s)
    assert 0.9 < ended.mean() < 1.0  # a minority is censored
    assert np.all(vms.departure_s[ended] > vms.arrival_s[ended])


@pytest.mark.slow
def test_azure_train_split_has_about_1_2_million_vms(trace_dir: Path) -> None:
    vms = load_azure_vms(trace_dir / "azure-v1-2017", "train")
    assert 1_150_000 < len(vms) < 1_250_000
    assert np.isnan(vms.departure_s).all()  # the train split has no lifetimes


def test_philly_runtime_is_in_minutes_matching_the_attempt_times(trace_dir: Path) -> None:
    jobs = json.loads((trace_dir / "philly-subset" / "jobs.json").read_text())
    runtime_s = np.array([job["runtime"] * 60 for job in jobs])
    attempts_s = np.array([attempt_seconds(job) for job in jobs])
    assert np.median(np.abs(runtime_s - attempts_s)) < 60


def test_philly_jobs_are_3034_whole_gpu_pods(trace_dir: Path) -> None:
    pods = load_philly_jobs(trace_dir / "philly-subset")
    assert len(pods) == 3034
    assert np.all(pods.gpu_milli[pods.num_gpu > 0] == 1000)
    assert pods.arrival_s[0] == 0
    assert pods.arrival_s.max() < 120 * 86_400  # September to December 2017
