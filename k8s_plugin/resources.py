"""What a Kubernetes Pod requests and what a Node offers, in binforge's units.

Pod requests follow kube-scheduler's ``PodRequests``: the sum over ``containers``;
init containers run one at a time before them, so the pod needs the maximum of that sum
and each init container (plus the sidecars, ``restartPolicy: Always`` init containers,
started before it, which also keep running beside the regular containers); pod-level
requests (``spec.resources.requests``, PodLevelResources) replace that aggregate for the
resources they name among cpu, memory and hugepages (upstream's
``IsSupportedPodLevelResource``); then ``overhead`` is added. For scoring only, a
container that states no CPU or memory request counts as 100 millicores and 200 MiB
(``DefaultMilliCPURequest``, ``DefaultMemoryRequest``), as upstream's non-zero requests do.
Memory is totalled in bytes and converted to MiB once, by
:func:`~k8s_plugin.quantity.memory_mib`, for pods and nodes alike.

GPU sharing: a pod with ``nvidia.com/gpu: N`` takes N whole GPUs; with the share
annotation (``binforge.dev/gpu-milli: "500"``) it takes that share of each of its N GPUs
(a missing GPU count then means 1). Allowed GPU models come from the models annotation
(``"A100|H100"``). Node capacity is ``status.allocatable`` (``capacity`` when absent).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cluster_traces.model import GPU_MILLI_PER_GPU
from heuristics.contract import Pod
from heuristics.feasibility import DEFAULT_CPU_REQUEST_MILLI, DEFAULT_MEMORY_REQUEST_MIB
from k8s_plugin.config import ExtenderConfig
from k8s_plugin.quantity import (
    QuantityError,
    memory_mib,
    parse_count,
    parse_cpu_milli,
    parse_memory_bytes,
)

__all__ = [
    "DEFAULT_CPU_MILLI",
    "DEFAULT_MEMORY_MIB",
    "NodeCapacity",
    "PodRequests",
    "ResourceError",
    "node_capacity",
    "pod_requests",
]

DEFAULT_CPU_MILLI = DEFAULT_CPU_REQUEST_MILLI
"""Scoring-only CPU request of a container that states none (upstream's default)."""
DEFAULT_MEMORY_MIB = DEFAULT_MEMORY_REQUEST_MIB
"""Scoring-only memory request of a container that states none (200 MiB, upstream)."""

_CPU, _MEMORY = "cpu", "memory"
_DEFAULT_MEMORY_BYTES = DEFAULT_MEMORY_MIB * 2**20


def _pod_level(name: str) -> bool:
    """Whether pod-level requests may set resource ``name`` (IsSupportedPodLevelResource)."""
    return name in (_CPU, _MEMORY) or name.startswith("hugepages-")


class ResourceError(ValueError):
    """A Pod or Node object whose resources cannot be read; the message names the field."""


@dataclass(frozen=True)
class PodRequests:
    """A pod's requests: ``fit`` for feasibility, ``score`` with upstream's non-zero defaults."""

    fit: Pod
    score: Pod


@dataclass(frozen=True)
class NodeCapacity:
    """What a node offers: allocatable CPU (millicores), memory (MiB), GPUs and extended."""

    name: str
    cpu_milli: int
    memory_mib: int
    gpu_count: int
    gpu_model: str
    extended: Mapping[str, int]
    pool: str


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ResourceError(f"{path}: expected an object, got {type(value).__name__}")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ResourceError(f"{path}: expected a list, got {type(value).__name__}")
    return value


def _resource_list(raw: Mapping[str, Any], names: tuple[str, ...], path: str) -> dict[str, int]:
    """The named resources of a ``ResourceList``: millicores, bytes of memory, counts."""
    out: dict[str, int] = {}
    for name in names:
        if name not in raw:
            continue
        try:
            if name == _CPU:
                out[name] = parse_cpu_milli(raw[name])
            elif name == _MEMORY:
                out[name] = parse_memory_bytes(raw[name])
            else:
                out[name] = parse_count(raw[name])
        except QuantityError as exc:
            raise ResourceError(f"{path}.{name}: {exc}") from exc
    return out


def _add(into: dict[str, int], other: Mapping[str, int]) -> None:
    for name, value in other.items():
        into[name] = into.get(name, 0) + value


def _max(into: dict[str, int], other: Mapping[str, int]) -> None:
    for name, value in other.items():
        into[name] = max(into.get(name, 0), value)


def _container_requests(
    container: Any, path: str, names: tuple[str, ...], nonzero: bool
) -> dict[str, int]:
    container = _mapping(container, path)
    resources = _mapping(container.get("resources"), f"{path}.resources")
    requests = _mapping(resources.get("requests"), f"{path}.resources.requests")
    out = _resource_list(requests, names, f"{path}.resources.requests")
    if nonzero:
        out.setdefault(_CPU, DEFAULT_CPU_MILLI)
        out.setdefault(_MEMORY, _DEFAULT_MEMORY_BYTES)
    return out


def _aggregate(spec: Mapping[str, Any], names: tuple[str, ...], nonzero: bool) -> dict[str, int]:
    total: dict[str, int] = {}
    for i, container in enumerate(_list(spec.get("containers"), "spec.containers")):
        _add(total, _container_requests(container, f"spec.containers[{i}]", names, nonzero))
    sidecars: dict[str, int] = {}
    init_peak: dict[str, int] = {}
    for i, container in enumerate(_list(spec.get("initContainers"), "spec.initContainers")):
        path = f"spec.initContainers[{i}]"
        requests = _container_requests(container, path, names, nonzero)
        if _mapping(container, path).get("restartPolicy") == "Always":
            _add(total, requests)
            _add(sidecars, requests)
            _max(init_peak, sidecars)
        else:
            running = dict(requests)
            _add(running, sidecars)
            _max(init_peak, running)
    _max(total, init_peak)
    pod_resources = _mapping(spec.get("resources"), "spec.resources")
    pod_level = _mapping(pod_resources.get("requests"), "spec.resources.requests")
    supported = tuple(name for name in names if _pod_level(name))
    total.update(_resource_list(pod_level, supported, "spec.resources.requests"))
    overhead = _mapping(spec.get("overhead"), "spec.overhead")
    _add(total, _resource_list(overhead, names, "spec.overhead"))
    return total


def _annotation_int(annotations: Mapping[str, Any], key: str, low: int, high: int) -> int | None:
    if key not in annotations:
        return None
    raw = annotations[key]
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = -1
    if not low <= value <= high:
        raise ResourceError(
            f"metadata.annotations[{key!r}]: expected an integer {low}..{high}, got {raw!r}"
        )
    return value


def pod_requests(pod: Any, config: ExtenderConfig) -> PodRequests:
    """The requests of a Kubernetes Pod object (a decoded JSON mapping).

    Raises:
        ResourceError: naming the field, when a quantity or an annotation is malformed.
    """
    pod = _mapping(pod, "Pod")
    spec = _mapping(pod.get("spec"), "spec")
    metadata = _mapping(pod.get("metadata"), "metadata")
    annotations = _mapping(metadata.get("annotations"), "metadata.annotations")
    names = (_CPU, _MEMORY, config.gpu_resource, *config.extended_resources)
    share = _annotation_int(annotations, config.gpu_share_annotation, 1, GPU_MILLI_PER_GPU)
    models_raw = annotations.get(config.gpu_models_annotation, "")
    models = frozenset(m.strip() for m in str(models_raw).split("|") if m.strip())
    priority = spec.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise ResourceError(f"spec.priority: expected an integer, got {priority!r}")

    def build(nonzero: bool) -> Pod:
        total = _aggregate(spec, names, nonzero)
        num_gpu = total.get(config.gpu_resource, 0)
        if share is not None and share < GPU_MILLI_PER_GPU:
            num_gpu = max(num_gpu, 1)
            if num_gpu > 1:
                raise ResourceError(
                    f"metadata.annotations[{config.gpu_share_annotation!r}]: a shared GPU "
                    f"share needs exactly 1 GPU, the pod requests {num_gpu}"
                )
        gpu_milli = (share if share is not None else GPU_MILLI_PER_GPU) if num_gpu else 0
        return Pod(
            cpu_milli=total.get(_CPU, 0),
            memory_mib=memory_mib(total.get(_MEMORY, 0)),
            num_gpu=num_gpu,
            gpu_milli=gpu_milli,
            gpu_models=models,
            priority=int(priority),
            extended={k: total.get(k, 0) for k in config.extended_resources},
        )

    return PodRequests(fit=build(nonzero=False), score=build(nonzero=True))


def node_capacity(node: Any, config: ExtenderConfig) -> NodeCapacity:
    """The allocatable resources of a Kubernetes Node object.

    Raises:
        ResourceError: naming the field, when the name or a quantity is malformed.
    """
    node = _mapping(node, "Node")
    metadata = _mapping(node.get("metadata"), "metadata")
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        raise ResourceError("metadata.name: expected a non-empty string")
    status = _mapping(node.get("status"), "status")
    field_name = "allocatable" if "allocatable" in status else "capacity"
    raw = _mapping(status.get(field_name), f"status.{field_name}")
    path = f"node {name}: status.{field_name}"
    try:
        cpu = parse_cpu_milli(raw.get(_CPU, 0))
        memory = memory_mib(parse_memory_bytes(raw.get(_MEMORY, 0)))
        gpus = parse_count(raw.get(config.gpu_resource, 0))
        extended = {k: parse_count(raw.get(k, 0)) for k in config.extended_resources}
    except QuantityError as exc:
        raise ResourceError(f"{path}: {exc}") from exc
    labels = _mapping(metadata.get("labels"), "metadata.labels")
    model = str(labels.get(config.gpu_model_label, "")) if gpus else ""
    return NodeCapacity(
        name=name,
        cpu_milli=cpu,
        memory_mib=memory,
        gpu_count=gpus,
        gpu_model=model,
        extended=extended,
        pool=str(labels.get(config.node_pool_label, "")),
    )
