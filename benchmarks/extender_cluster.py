"""The benchmark cluster for the extender: the Alibaba GPU cluster (1,523 nodes), or that
many node shapes repeated to any size, half filled with the trace's own pods, as the
Kubernetes Node and Pod objects a watch would deliver."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from cluster_traces.alibaba_gpu import load_alibaba_gpu_nodes, load_alibaba_gpu_pods
from cluster_traces.model import Cluster, Workload
from heuristics.contract import NodeState, Pod
from heuristics.feasibility import allocate, feasible

__all__ = ["cluster_objects", "node_names", "pending_pods", "request_bodies", "trace_dir"]

GPU_MODEL_LABEL = "nvidia.com/gpu.product"
SHARE_ANNOTATION = "binforge.dev/gpu-milli"


def trace_dir() -> Path:
    """The alibaba-gpu-v2023 folder under ``BINFORGE_TRACE_DIR`` (default: ../shared/traces)."""
    default = Path(__file__).resolve().parent.parent.parent / "shared" / "traces"
    return Path(os.environ.get("BINFORGE_TRACE_DIR") or default) / "alibaba-gpu-v2023"


def _cluster(nodes: int) -> Cluster:
    base = load_alibaba_gpu_nodes(trace_dir())
    if nodes == len(base):
        return base
    index = np.arange(nodes) % len(base)
    names = [f"{base.names[j]}-{i // len(base)}" for i, j in enumerate(index.tolist())]
    return Cluster(
        names=np.array(names),
        cpu_milli=base.cpu_milli[index],
        memory_mib=base.memory_mib[index],
        gpu_count=base.gpu_count[index],
        gpu_model=base.gpu_model[index],
        source=f"alibaba-gpu-v2023 shapes x{nodes / len(base):.2f}",
    )


def _pod_object(name: str, workload: Workload, i: int, node: str = "") -> dict[str, Any]:
    requests = {
        "cpu": f"{int(workload.cpu_milli[i])}m",
        "memory": f"{int(workload.memory_mib[i])}Mi",
    }
    annotations = {}
    if workload.num_gpu[i] > 0:
        requests["nvidia.com/gpu"] = str(int(workload.num_gpu[i]))
        if workload.gpu_milli[i] < 1000:
            annotations[SHARE_ANNOTATION] = str(int(workload.gpu_milli[i]))
    spec: dict[str, Any] = {"containers": [{"name": "main", "resources": {"requests": requests}}]}
    if node:
        spec["nodeName"] = node
    return {
        "metadata": {"name": name, "namespace": "bench", "annotations": annotations},
        "spec": spec,
        "status": {"phase": "Running" if node else "Pending"},
    }


def _pod(workload: Workload, i: int) -> Pod:
    return Pod(
        cpu_milli=int(workload.cpu_milli[i]),
        memory_mib=int(workload.memory_mib[i]),
        num_gpu=int(workload.num_gpu[i]),
        gpu_milli=int(workload.gpu_milli[i]),
    )


def cluster_objects(
    nodes: int, fill: float = 0.5, seed: int = 0
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(Node objects, bound Pod objects): trace pods placed at random feasible nodes until
    ``fill`` of the GPUs are requested."""
    cluster = _cluster(nodes)
    workload = load_alibaba_gpu_pods(trace_dir())
    rng = np.random.default_rng(seed)
    node_objects = []
    for i, name in enumerate(cluster.names.tolist()):
        allocatable = {
            "cpu": f"{int(cluster.cpu_milli[i])}m",
            "memory": f"{int(cluster.memory_mib[i])}Mi",
            "pods": "1000",
        }
        labels = {}
        if cluster.gpu_count[i] > 0:
            allocatable["nvidia.com/gpu"] = str(int(cluster.gpu_count[i]))
            labels[GPU_MODEL_LABEL] = str(cluster.gpu_model[i])
        node_objects.append(
            {"metadata": {"name": name, "labels": labels}, "status": {"allocatable": allocatable}}
        )
    state = NodeState(cluster)
    target = fill * float(cluster.gpu_count.sum()) * 1000
    placed = 0.0
    pods = []
    for attempt, i in enumerate(rng.integers(0, len(workload), size=len(workload) * 4)):
        if placed >= target:
            break
        pod = _pod(workload, int(i))
        candidates = feasible(state, pod)
        if len(candidates) == 0:
            continue
        node = int(candidates[rng.integers(0, len(candidates))])
        allocate(state, node, pod)
        placed += pod.gpu_milli_total
        pods.append(_pod_object(f"bound-{attempt}", workload, int(i), str(cluster.names[node])))
    return node_objects, pods


def node_names(nodes: int) -> list[str]:
    """The names of the benchmark cluster's nodes, as :func:`cluster_objects` names them."""
    return _cluster(nodes).names.tolist()


def pending_pods(count: int, seed: int = 1) -> list[dict[str, Any]]:
    """``count`` pending Pod objects with the trace's request shapes, uniquely named."""
    workload = load_alibaba_gpu_pods(trace_dir())
    rng = np.random.default_rng(seed)
    return [
        _pod_object(f"pending-{k}", workload, int(i))
        for k, i in enumerate(rng.integers(0, len(workload), size=count))
    ]


def request_bodies(nodes: int, count: int = 200) -> list[bytes]:
    """``ExtenderArgs`` bodies naming every node, one per pending pod, encoded as
    kube-scheduler's Go encoder writes them (compact, no spaces)."""
    names = node_names(nodes)
    return [
        json.dumps({"Pod": pod, "NodeNames": names}, separators=(",", ":")).encode()
        for pod in pending_pods(count)
    ]
