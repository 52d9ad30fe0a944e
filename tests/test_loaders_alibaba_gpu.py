"""alibaba-gpu-v2023 nodes and every pod-list variant load with the published counts."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from cluster_traces.alibaba_gpu import (
    POD_VARIANTS,
    load_alibaba_gpu_nodes,
    load_alibaba_gpu_pods,
)

pytestmark = pytest.mark.traces


@pytest.fixture(scope="module")
def folder(trace_dir: Path) -> Path:
    return trace_dir / "alibaba-gpu-v2023"


def test_all_nodes_are_1523_with_1213_gpu_nodes_and_6212_gpus(folder: Path) -> None:
    cluster = load_alibaba_gpu_nodes(folder)
    assert len(cluster) == 1523
    assert int((cluster.gpu_count > 0).sum()) == 1213
    assert int(cluster.gpu_count.sum()) == 6212
    assert set(cluster.gpu_model[cluster.gpu_count == 0]) == {""}
    assert "V100M32" in cluster.gpu_models


def test_gpu_node_list_is_the_1213_gpu_nodes(folder: Path) -> None:
    cluster = load_alibaba_gpu_nodes(folder, "gpu_node")
    assert len(cluster) == 1213
    assert int(cluster.gpu_count.min()) > 0


def test_default_pod_list_has_8152_pods_sorted_by_creation(folder: Path) -> None:
    pods = load_alibaba_gpu_pods(folder)
    assert len(pods) == 8152
    assert pods.has_times
    assert np.all(np.diff(pods.arrival_s) >= 0)
    assert set(np.unique(pods.qos)) >= {"LS", "BE"}
    # multi-GPU pods always take whole GPUs; sharing pods take part of one
    assert np.all(pods.gpu_milli[pods.num_gpu > 1] == 1000)
    assert np.any((pods.num_gpu == 1) & (pods.gpu_milli < 1000))
    assert int(pods.memory_mib.min()) == 0  # the one pod that asks for 0 MiB


def test_deletion_time_becomes_departure_in_seconds(folder: Path) -> None:
    pods = load_alibaba_gpu_pods(folder)
    assert pods.arrival_s[1] == 427061
    assert pods.departure_s[1] == 12902960


@pytest.mark.parametrize("variant", POD_VARIANTS)
def test_every_pod_variant_loads(folder: Path, variant: str) -> None:
    pods = load_alibaba_gpu_pods(folder, variant)
    assert len(pods) > 7000
    assert pods.source == f"alibaba-gpu-v2023:{variant}"


def test_unsorted_cpu_variant_is_returned_in_arrival_order(folder: Path) -> None:
    pods = load_alibaba_gpu_pods(folder, "cpu050")
    assert np.all(np.diff(pods.arrival_s) >= 0)
    first_line = (folder / "openb_pod_list_cpu050.csv").read_text().splitlines()[1]
    assert first_line.split(",")[0] in pods.names  # nothing lost, only reordered
    assert len(pods) == 7439


def test_cpu_variants_differ_in_share_of_cpu_only_pods(folder: Path) -> None:
    low = load_alibaba_gpu_pods(folder, "cpu0")
    high = load_alibaba_gpu_pods(folder, "cpu300")
    assert np.mean(low.num_gpu == 0) < np.mean(high.num_gpu == 0)


def test_a_pod_list_without_time_columns_loads_with_nan_times(folder: Path, tmp_path: Path) -> None:
    lines = (folder / "openb_pod_list_default.csv").read_text().splitlines()
    trimmed = [",".join(line.split(",")[:8]) for line in lines]
    (tmp_path / "openb_pod_list_notime.csv").write_text("\n".join(trimmed) + "\n")
    shutil.copy(folder / "openb_node_list_all_node.csv", tmp_path)
    pods = load_alibaba_gpu_pods(tmp_path, "notime")
    assert len(pods) == 8152
    assert not pods.has_times
    assert np.isnan(pods.departure_s).all()
