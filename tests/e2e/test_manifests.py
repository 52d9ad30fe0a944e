"""Nodes and pods built from binforge's model for the real API server."""

from __future__ import annotations

import numpy as np
import pytest

from cluster_traces.model import Cluster

from .manifests import GPU_MODEL_LABEL, GPU_RESOURCE, ManifestError, node_manifests, pod_manifest


def _cluster(names: list[str], labels: dict[str, list[str]] | None = None) -> Cluster:
    n = len(names)
    return Cluster(
        names=np.array(names),
        cpu_milli=np.array([8000 + i for i in range(n)]),
        memory_mib=np.array([32768] * n),
        gpu_count=np.array([2] + [0] * (n - 1)),
        gpu_model=np.array(["A100"] + [""] * (n - 1)),
        labels={key: np.array(values) for key, values in (labels or {}).items()},
        source="unit",
    )


def test_node_capacity_and_allocatable_carry_the_model_units() -> None:
    gpu_node, cpu_node = node_manifests(_cluster(["g", "c"]), max_pods=50)
    assert gpu_node["status"]["capacity"] == {
        "cpu": "8000m",
        "memory": "32768Mi",
        GPU_RESOURCE: "2",
        "pods": "50",
    }
    assert gpu_node["status"]["allocatable"] == gpu_node["status"]["capacity"]
    assert cpu_node["status"]["capacity"]["cpu"] == "8001m"
    assert cpu_node["status"]["capacity"][GPU_RESOURCE] == "0"


def test_nodes_are_ready_and_labelled_with_hostname_gpu_model_and_cluster_labels() -> None:
    gpu_node, cpu_node = node_manifests(
        _cluster(["g", "c"], {"topology.kubernetes.io/zone": ["z1", ""]})
    )
    assert gpu_node["metadata"]["labels"] == {
        "kubernetes.io/hostname": "g",
        GPU_MODEL_LABEL: "A100",
        "topology.kubernetes.io/zone": "z1",
    }
    assert cpu_node["metadata"]["labels"] == {"kubernetes.io/hostname": "c"}
    assert gpu_node["status"]["conditions"][0]["type"] == "Ready"
    assert gpu_node["status"]["conditions"][0]["status"] == "True"


def test_a_node_name_kubernetes_rejects_is_reported_with_its_index() -> None:
    with pytest.raises(ManifestError, match=r"cluster unit node 1 \('Bad_Name'\): names"):
        node_manifests(_cluster(["ok", "Bad_Name"]))


def test_a_label_value_kubernetes_rejects_is_reported_with_its_key() -> None:
    with pytest.raises(ManifestError, match=r"labels\[rack\]"):
        node_manifests(_cluster(["a"], {"rack": ["has space"]}))


def test_pod_requests_equal_limits_and_gpus_only_when_asked() -> None:
    pod = pod_manifest("p", cpu_milli=250, memory_mib=64, scheduler_name="binforge")
    resources = pod["spec"]["containers"][0]["resources"]
    assert resources["requests"] == {"cpu": "250m", "memory": "64Mi"}
    assert resources["limits"] == resources["requests"]
    assert pod["spec"]["schedulerName"] == "binforge"
    gpu_pod = pod_manifest("q", cpu_milli=1, memory_mib=1, gpus=3)
    assert gpu_pod["spec"]["containers"][0]["resources"]["requests"][GPU_RESOURCE] == "3"
    assert "schedulerName" not in gpu_pod["spec"]
