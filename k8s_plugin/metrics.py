"""The extender's Prometheus metrics (prefix ``binforge_``), on an injectable registry.

Counters and histograms are updated on the request path; the cluster-wide gauges
(stranded capacity, cache sizes) are computed at scrape time by :class:`_ClusterCollector`
from the cache's current snapshot, with :func:`heuristics.fragmentation.node_fragmentation`,
the very function the simulator's metrics use.

Units of the ``resource`` label: ``gpu`` in GPUs, ``cpu`` in cores, ``memory`` in bytes,
extended resources in their own count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Histogram, Info
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from heuristics.fragmentation import node_fragmentation
from k8s_plugin.cache import Snapshot

__all__ = ["LATENCY_BUCKETS_S", "ExtenderMetrics", "to_metric_units"]

LATENCY_BUCKETS_S = (
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
)  # fmt: skip

_UNIT_SCALE = {
    "gpu_milli": ("gpu", 1e-3),
    "cpu_milli": ("cpu", 1e-3),
    "memory_mib": ("memory", 2.0**20),
}


def to_metric_units(per_resource: Mapping[str, float]) -> dict[str, float]:
    """Fragmentation keys (gpu_milli, cpu_milli, memory_mib, extended) -> metric units."""
    out = {}
    for key, value in per_resource.items():
        name, scale = _UNIT_SCALE.get(key, (key, 1.0))
        out[name] = float(value) * scale
    return out


def _capacity(snapshot: Snapshot, mask: np.ndarray) -> dict[str, float]:
    state = snapshot.state
    totals = {
        "gpu_milli": float(state.gpu_total[mask].sum()) * 1000,
        "cpu_milli": float(state.cpu_total[mask].sum()),
        "memory_mib": float(state.memory_total[mask].sum()),
    }
    for name, total in state.extended_total.items():
        totals[name] = float(total[mask].sum())
    return to_metric_units(totals)


def _stranded(
    per_node: Mapping[str, np.ndarray], snapshot: Snapshot, mask: np.ndarray
) -> Iterator[tuple[str, float, float]]:
    """(resource, stranded amount, share of capacity) over the nodes in ``mask``."""
    amounts = to_metric_units({k: float(v[mask].sum()) for k, v in per_node.items()})
    capacity = _capacity(snapshot, mask)
    for resource, amount in sorted(amounts.items()):
        total = capacity.get(resource, 0.0)
        yield resource, amount, amount / total if total else 0.0


class _ClusterCollector(Collector):
    """Stranded capacity and cache sizes, computed when Prometheus scrapes."""

    def __init__(
        self,
        snapshot: Callable[[], Snapshot | None],
        sizes: Callable[[], Mapping[str, int]],
    ) -> None:
        self._snapshot = snapshot
        self._sizes = sizes

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        cache = GaugeMetricFamily(
            "binforge_cache_objects", "Objects held by the watch cache, by kind.", labels=["kind"]
        )
        for kind, count in sorted(self._sizes().items()):
            cache.add_metric([kind], count)
        yield cache
        absolute = GaugeMetricFamily(
            "binforge_stranded_capacity",
            "Expected free capacity the reference workload cannot use (gpu: GPUs, cpu: cores, "
            "memory: bytes).",
            labels=["resource"],
        )
        share = GaugeMetricFamily(
            "binforge_stranded_capacity_share",
            "Stranded capacity as a share (0..1) of the cluster's capacity.",
            labels=["resource"],
        )
        pool_absolute = GaugeMetricFamily(
            "binforge_stranded_capacity_by_pool",
            "Stranded capacity per node pool, in the units of binforge_stranded_capacity.",
            labels=["resource", "pool"],
        )
        pool_share = GaugeMetricFamily(
            "binforge_stranded_capacity_share_by_pool",
            "Stranded capacity as a share (0..1) of the node pool's capacity.",
            labels=["resource", "pool"],
        )
        snapshot = self._snapshot()
        if snapshot is not None and len(snapshot.state):
            per_node = node_fragmentation(snapshot.state, snapshot.ctx)
            everything = np.ones(len(snapshot.state), dtype=bool)
            for resource, amount, fraction in _stranded(per_node, snapshot, everything):
                absolute.add_metric([resource], amount)
                share.add_metric([resource], fraction)
            for pool in sorted(set(snapshot.pools.tolist())):
                mask = snapshot.pools == pool
                for resource, amount, fraction in _stranded(per_node, snapshot, mask):
                    pool_absolute.add_metric([resource, pool], amount)
                    pool_share.add_metric([resource, pool], fraction)
        yield from (absolute, share, pool_absolute, pool_share)


class ExtenderMetrics:
    """Every metric of the extender, registered on ``registry``."""

    def __init__(
        self,
        registry: CollectorRegistry,
        snapshot: Callable[[], Snapshot | None] = lambda: None,
        sizes: Callable[[], Mapping[str, int]] = dict,
    ) -> None:
        self.registry = registry
        self.decisions = Counter(
            "binforge_decisions",
            "Scheduling decisions by mode and outcome (chosen, fallback, no_fit, error).",
            ["mode", "outcome"],
            registry=registry,
        )
        self.fallbacks = Counter(
            "binforge_heuristic_fallbacks",
            "Calls answered by the baseline instead of the heuristic, by reason "
            "(exception, timeout, nan, shape, baseline_failed).",
            ["reason"],
            registry=registry,
        )
        self.recovered = Counter(
            "binforge_counterfactual_recovered",
            "Stranded capacity avoided by the heuristic's choice versus the baseline's, "
            "summed over decisions where the heuristic did better (units as stranded).",
            ["resource"],
            registry=registry,
        )
        self.lost = Counter(
            "binforge_counterfactual_lost",
            "Extra stranded capacity of the heuristic's choice versus the baseline's, "
            "summed over decisions where the heuristic did worse.",
            ["resource"],
            registry=registry,
        )
        self.latency = Histogram(
            "binforge_request_duration_seconds",
            "Time to answer an extender request, by verb.",
            ["verb"],
            buckets=LATENCY_BUCKETS_S,
            registry=registry,
        )
        self.requests = Counter(
            "binforge_requests",
            "Extender requests by verb and HTTP status code.",
            ["verb", "code"],
            registry=registry,
        )
        self.watch_restarts = Counter(
            "binforge_watch_restarts",
            "Restarts of the node and pod watches, by resource and reason (gone, error).",
            ["resource", "reason"],
            registry=registry,
        )
        self.reloads = Counter(
            "binforge_heuristic_reloads",
            "Heuristic reloads (SIGHUP or file change), by outcome (loaded, failed).",
            ["outcome"],
            registry=registry,
        )
        self.heuristic = Info(
            "binforge_heuristic",
            "Identity and provenance of the heuristic being served.",
            registry=registry,
        )
        registry.register(_ClusterCollector(snapshot, sizes))

    def record_counterfactual(self, difference: Mapping[str, float]) -> None:
        """Count ``baseline stranded - heuristic stranded`` per resource (metric units)."""
        for resource, value in difference.items():
            if value > 0:
                self.recovered.labels(resource).inc(value)
            elif value < 0:
                self.lost.labels(resource).inc(-value)
