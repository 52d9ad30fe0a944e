"""Kubernetes objects built from binforge's trace model: nodes from a Cluster, test pods.

Nodes are plain API objects, as in envtest and kwok: no kubelet runs, so a node is
whatever its ``status`` says. Units map one to one: ``cpu_milli`` -> ``"<n>m"``,
``memory_mib`` -> ``"<n>Mi"``, ``gpu_count`` -> ``nvidia.com/gpu``. GPU sharing
(``gpu_milli``) has no Kubernetes resource; the extender accounts for it.
"""

from __future__ import annotations

import re
from typing import Any

from cluster_traces.model import Cluster, MiB, Millicores

__all__ = [
    "GPU_MODEL_LABEL",
    "GPU_RESOURCE",
    "ManifestError",
    "node_manifests",
    "pod_manifest",
]

GPU_RESOURCE = "nvidia.com/gpu"
GPU_MODEL_LABEL = "binforge.io/gpu-model"
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_LABEL_KEY = re.compile(r"^([a-z0-9.-]{1,253}/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


class ManifestError(ValueError):
    """A model value cannot be expressed as a Kubernetes object; names node and field."""


def _quantities(cpu_milli: int, memory_mib: int, gpus: int, pods: int | None) -> dict[str, str]:
    quantities = {"cpu": f"{cpu_milli}m", "memory": f"{memory_mib}Mi", GPU_RESOURCE: str(gpus)}
    if pods is not None:
        quantities["pods"] = str(pods)
    return quantities


def node_manifests(cluster: Cluster, *, max_pods: int = 1000) -> list[dict[str, Any]]:
    """One Ready ``v1.Node`` per cluster node, capacity equal to allocatable.

    Labels: ``kubernetes.io/hostname``, ``binforge.io/gpu-model`` on GPU nodes, and every
    non-empty ``cluster.labels`` entry. ``max_pods`` is high by default because the
    simulator has no pod-count limit. Raises ManifestError naming the node and the field
    for a name or label Kubernetes would reject.
    """
    nodes = []
    for index in range(len(cluster)):
        name = str(cluster.names[index])
        where = f"cluster {cluster.source or '?'} node {index} ({name!r})"
        if not _DNS_SUBDOMAIN.match(name):
            raise ManifestError(f"{where}: names: expected a lowercase DNS subdomain")
        labels = {"kubernetes.io/hostname": name}
        model = str(cluster.gpu_model[index])
        if model:
            labels[GPU_MODEL_LABEL] = model
        for key, values in cluster.labels.items():
            value = str(values[index])
            if value:
                labels[key] = value
        for key, value in labels.items():
            if not _LABEL_KEY.match(key):
                raise ManifestError(f"{where}: labels: key {key!r} is not a valid label key")
            if not _LABEL_VALUE.match(value):
                raise ManifestError(f"{where}: labels[{key}]: {value!r} is not a valid label value")
        resources = _quantities(
            int(cluster.cpu_milli[index]),
            int(cluster.memory_mib[index]),
            int(cluster.gpu_count[index]),
            max_pods,
        )
        for resource, counts in cluster.extended.items():
            resources[resource] = str(int(counts[index]))
        nodes.append(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": name, "labels": labels},
                "spec": {},
                "status": {
                    "capacity": dict(resources),
                    "allocatable": dict(resources),
                    "conditions": [
                        {
                            "type": "Ready",
                            "status": "True",
                            "reason": "KubeletReady",
                            "message": "binforge e2e: a node without a kubelet",
                        }
                    ],
                },
            }
        )
    return nodes


def pod_manifest(
    name: str,
    *,
    cpu_milli: Millicores,
    memory_mib: MiB,
    gpus: int = 0,
    scheduler_name: str | None = None,
    namespace: str = "default",
    labels: dict[str, str] | None = None,
    node_selector: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A one-container ``v1.Pod`` requesting (and limited to) the given resources.

    ``scheduler_name`` None leaves the field out, so the default scheduler takes the pod.
    """
    requests = _quantities(cpu_milli, memory_mib, gpus, None)
    if not gpus:
        del requests[GPU_RESOURCE]
    spec: dict[str, Any] = {
        "containers": [
            {
                "name": "main",
                "image": "registry.k8s.io/pause:3.10",
                "resources": {"requests": requests, "limits": dict(requests)},
            }
        ],
        "terminationGracePeriodSeconds": 0,
    }
    if scheduler_name is not None:
        spec["schedulerName"] = scheduler_name
    if node_selector:
        spec["nodeSelector"] = dict(node_selector)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": spec,
    }
