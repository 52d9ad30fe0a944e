"""A small cluster, a pending pod and an in-process HTTP harness for the extender tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from aiohttp.test_utils import TestClient, TestServer
from extender_apiserver import node, pod
from prometheus_client import CollectorRegistry

from k8s_plugin.cache import ClusterCache
from k8s_plugin.config import ExtenderConfig
from k8s_plugin.extender import Extender
from k8s_plugin.server import build_app, build_extender

GOLDEN = Path(__file__).parent / "golden" / "extender"
HEURISTIC = str(GOLDEN / "cpu_best_fit.py")
T = TypeVar("T")


def nodes() -> list[dict[str, Any]]:
    """Four nodes: two GPU nodes in pool train, two CPU nodes in pool cpu."""
    return [
        node(
            "a",
            cpu="8",
            memory="32Gi",
            gpus=2,
            **{"nvidia.com/gpu.product": "A100", "binforge.dev/node-pool": "train"},
        ),
        node(
            "b",
            cpu="16",
            memory="64Gi",
            gpus=4,
            **{"nvidia.com/gpu.product": "A100", "binforge.dev/node-pool": "train"},
        ),
        node("c", cpu="4", memory="16Gi", **{"binforge.dev/node-pool": "cpu"}),
        node("d", cpu="32", memory="128Gi", **{"binforge.dev/node-pool": "cpu"}),
    ]


def bound_pods() -> list[dict[str, Any]]:
    """Pods already running: they shape the free capacity and the reference workload."""
    return [
        pod("train-0", cpu="4", memory="8Gi", node_name="a", gpus=1),
        pod("web-0", cpu="1", memory="2Gi", node_name="c"),
        pod("web-1", cpu="1", memory="2Gi", node_name="d"),
        pod("web-2", cpu="1", memory="2Gi", node_name="d"),
        pod(
            "share-0",
            cpu="2",
            memory="4Gi",
            node_name="b",
            gpus=1,
            annotations={"binforge.dev/gpu-milli": "500"},
        ),
    ]


def pending_pod(cpu: str = "2", memory: str = "4Gi") -> dict[str, Any]:
    return pod("pending-0", cpu=cpu, memory=memory)


def cache_for(config: ExtenderConfig) -> ClusterCache:
    cache = ClusterCache(config)
    cache.replace("nodes", nodes())
    cache.replace("pods", bound_pods())
    return cache


def extender(config: ExtenderConfig, registry: CollectorRegistry | None = None) -> Extender:
    """An extender over the small cluster (watch cache filled) or over request nodes."""
    registry = registry or CollectorRegistry()
    cache = cache_for(config) if config.watch else None
    return build_extender(config, registry, cache)


def args(pod_object: dict[str, Any], names: list[str], full_nodes: bool = False) -> dict[str, Any]:
    """An ExtenderArgs document, with names (nodeCacheCapable) or full Node objects."""
    if full_nodes:
        by_name = {n["metadata"]["name"]: n for n in nodes()}
        items = [by_name.get(name, node(name)) for name in names]
        return {"Pod": pod_object, "Nodes": {"metadata": {}, "items": items}, "NodeNames": None}
    return {"Pod": pod_object, "Nodes": None, "NodeNames": names}


def over_http(
    ext: Extender, registry: CollectorRegistry, session: Callable[[TestClient], Awaitable[T]]
) -> T:
    """Run ``session`` against the real app served on 127.0.0.1."""

    async def main() -> T:
        async with TestClient(TestServer(build_app(ext, registry), host="127.0.0.1")) as client:
            return await session(client)

    return asyncio.run(main())


def dumps(document: Any) -> bytes:
    return json.dumps(document).encode()
