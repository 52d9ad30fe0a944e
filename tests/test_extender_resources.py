"""Pod requests are computed as kube-scheduler computes them (containers summed, init
containers and sidecars, pod-level requests, overhead), with upstream's non-zero defaults
for scoring only; node capacity is allocatable; a pod that fits a node in bytes fits it
in MiB."""

from __future__ import annotations

from typing import Any

import pytest

from k8s_plugin.config import ExtenderConfig
from k8s_plugin.resources import ResourceError, node_capacity, pod_requests

CONFIG = ExtenderConfig(extended_resources=("example.com/fpga",))


def _container(cpu: str | None = None, memory: str | None = None, **extra: Any) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    requests.update(extra)
    return {"name": "c", "resources": {"requests": requests}}


def _pod(spec: dict[str, Any], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": "p", "annotations": annotations or {}}, "spec": spec}


def test_containers_are_summed_and_overhead_added() -> None:
    pod = _pod(
        {
            "containers": [_container("500m", "1Gi"), _container("1", "512Mi")],
            "overhead": {"cpu": "100m", "memory": "64Mi"},
        }
    )
    fit = pod_requests(pod, CONFIG).fit
    assert (fit.cpu_milli, fit.memory_mib) == (1600, 1600)


def test_an_init_container_larger_than_the_containers_sets_the_request() -> None:
    pod = _pod(
        {"containers": [_container("1", "1Gi")], "initContainers": [_container("3", "256Mi")]}
    )
    fit = pod_requests(pod, CONFIG).fit
    assert (fit.cpu_milli, fit.memory_mib) == (3000, 1024)


def test_sidecars_run_beside_the_containers_and_the_later_init_containers() -> None:
    sidecar = {**_container("1", "100Mi"), "restartPolicy": "Always"}
    pod = _pod(
        {
            "containers": [_container("2", "1Gi")],
            # the sidecar starts first, so the second init container runs beside it
            "initContainers": [sidecar, _container("2500m", "100Mi")],
        }
    )
    fit = pod_requests(pod, CONFIG).fit
    # containers + sidecar = 3000m, 1124Mi; init phase peak = 2500m + 1000m = 3500m
    assert (fit.cpu_milli, fit.memory_mib) == (3500, 1124)


def test_pod_level_requests_replace_the_containers_cpu_and_memory_before_overhead() -> None:
    pod = _pod(
        {
            "containers": [_container("1", "1Gi", **{"nvidia.com/gpu": "1"}), _container()],
            "initContainers": [_container("8", "16Gi")],
            "resources": {"requests": {"cpu": "6", "example.com/fpga": "3"}},
            "overhead": {"cpu": "250m", "memory": "64Mi"},
        }
    )
    requests = pod_requests(pod, CONFIG)
    # cpu is the pod's own 6 (not the init container's 8); memory, the GPU and the
    # extended resource (not a pod-level resource) still come from the containers.
    assert (requests.fit.cpu_milli, requests.fit.memory_mib) == (6250, 16448)
    assert (requests.fit.num_gpu, dict(requests.fit.extended)) == (1, {"example.com/fpga": 0})
    # Scoring too: no default fills in for a container when the pod states the total.
    assert requests.score.cpu_milli == 6250


def test_pod_level_memory_alone_leaves_the_containers_cpu() -> None:
    pod = _pod({"containers": [_container("2")], "resources": {"requests": {"memory": "8Gi"}}})
    requests = pod_requests(pod, CONFIG)
    assert (requests.fit.cpu_milli, requests.fit.memory_mib) == (2000, 8192)
    assert (requests.score.cpu_milli, requests.score.memory_mib) == (2000, 8192)


def test_pod_level_hugepages_replace_the_containers_too() -> None:
    config = ExtenderConfig(extended_resources=("hugepages-2Mi",))
    pod = _pod(
        {
            "containers": [_container("1", **{"hugepages-2Mi": "64Mi"})],
            "resources": {"requests": {"hugepages-2Mi": "256Mi"}},
        }
    )
    assert dict(pod_requests(pod, config).fit.extended) == {"hugepages-2Mi": 256 * 2**20}


def test_pod_without_requests_fits_anywhere_but_scores_with_upstream_defaults() -> None:
    pod = _pod({"containers": [_container(), _container(cpu="250m")]})
    requests = pod_requests(pod, CONFIG)
    assert (requests.fit.cpu_milli, requests.fit.memory_mib) == (250, 0)
    assert (requests.score.cpu_milli, requests.score.memory_mib) == (350, 400)


def test_gpus_shares_models_and_extended_resources_are_read() -> None:
    pod = _pod(
        {
            "containers": [
                _container("1", "1Gi", **{"nvidia.com/gpu": "1", "example.com/fpga": "2"})
            ]
        },
        {"binforge.dev/gpu-milli": "250", "binforge.dev/gpu-models": "A100|H100"},
    )
    fit = pod_requests(pod, CONFIG).fit
    assert (fit.num_gpu, fit.gpu_milli) == (1, 250)
    assert fit.gpu_models == frozenset({"A100", "H100"})
    assert dict(fit.extended) == {"example.com/fpga": 2}


def test_whole_gpu_pods_take_a_thousand_thousandths_of_each_gpu() -> None:
    pod = _pod({"containers": [_container("1", "1Gi", **{"nvidia.com/gpu": "2"})]})
    fit = pod_requests(pod, CONFIG).fit
    assert (fit.num_gpu, fit.gpu_milli) == (2, 1000)


@pytest.mark.parametrize(
    ("pod", "field"),
    [
        (_pod({"containers": [_container("lots")]}), "spec.containers[0].resources.requests.cpu"),
        (_pod({"containers": "nope"}), "spec.containers"),
        (_pod({"containers": [_container("1")]}, {"binforge.dev/gpu-milli": "2000"}), "gpu-milli"),
        (
            _pod(
                {"containers": [_container("1", **{"nvidia.com/gpu": "2"})]},
                {"binforge.dev/gpu-milli": "500"},
            ),
            "exactly 1 GPU",
        ),
        (_pod({"containers": [], "priority": "high"}), "spec.priority"),
    ],
)
def test_malformed_pods_are_rejected_naming_the_field(pod: dict[str, Any], field: str) -> None:
    with pytest.raises(ResourceError, match=field.replace("[", r"\[").replace("]", r"\]")):
        pod_requests(pod, CONFIG)


def test_node_capacity_is_allocatable_with_model_and_pool() -> None:
    node = {
        "metadata": {
            "name": "gpu-1",
            "labels": {"nvidia.com/gpu.product": "A100", "binforge.dev/node-pool": "train"},
        },
        "status": {
            "capacity": {"cpu": "96", "memory": "512Gi"},
            "allocatable": {"cpu": "95500m", "memory": "1G", "nvidia.com/gpu": "8"},
        },
    }
    capacity = node_capacity(node, CONFIG)
    assert (capacity.cpu_milli, capacity.memory_mib, capacity.gpu_count) == (95500, 953, 8)
    assert (capacity.gpu_model, capacity.pool) == ("A100", "train")
    assert dict(capacity.extended) == {"example.com/fpga": 0}


@pytest.mark.parametrize(
    ("allocatable", "requests"),
    [
        ("1G", ["1G"]),
        ("1500Ki", ["1200Ki"]),
        ("10G", ["10G"]),
        ("65843340Ki", ["65843340Ki"]),
        ("1000000000", ["1e9"]),
        ("10G", ["1G"] * 10),  # bound pods add up without rounding error
        ("4G", ["1G", "1500M", "500M", "999999999"]),
    ],
)
def test_pods_that_fit_a_node_in_bytes_fit_it_here(allocatable: str, requests: list[str]) -> None:
    # kube-scheduler compares bytes: these pods all fit together.
    node = {"metadata": {"name": "n"}, "status": {"allocatable": {"memory": allocatable}}}
    free = node_capacity(node, CONFIG).memory_mib
    pods = [_pod({"containers": [_container("1", memory)]}) for memory in requests]
    assert sum(pod_requests(pod, CONFIG).fit.memory_mib for pod in pods) <= free


def test_a_pods_memory_is_totalled_in_bytes_before_it_becomes_mib() -> None:
    pod = _pod({"containers": [_container(memory="1536Ki"), _container(memory="1536Ki")]})
    assert pod_requests(pod, CONFIG).fit.memory_mib == 3  # 1.5 MiB twice, not 1 + 1 or 2 + 2
