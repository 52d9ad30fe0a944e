"""Summaries of loaded traces for ``binforge traces info``: counts, totals, spans, top shapes."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from cluster_traces.model import Cluster, Workload
from cluster_traces.scenarios import Trace

__all__ = ["describe", "describe_cluster", "describe_workload"]


def describe_cluster(cluster: Cluster) -> dict[str, Any]:
    """Node count, GPU nodes, GPU count, models, capacity totals, node events."""
    return {
        "nodes": len(cluster),
        "gpu_nodes": int((cluster.gpu_count > 0).sum()),
        "gpus": int(cluster.gpu_count.sum()),
        "gpu_models": list(cluster.gpu_models),
        "capacity": cluster.totals(),
        "node_events": len(cluster.events),
    }


def describe_workload(workload: Workload, top: int = 5) -> dict[str, Any]:
    """Pod count, request totals, arrival span (s), pods with departures, frequent shapes."""
    arrival = workload.arrival_s[~np.isnan(workload.arrival_s)]
    shapes = Counter(
        zip(
            workload.cpu_milli.tolist(),
            workload.memory_mib.tolist(),
            workload.num_gpu.tolist(),
            workload.gpu_milli.tolist(),
            strict=True,
        )
    )
    return {
        "pods": len(workload),
        "gpu_pods": int((workload.num_gpu > 0).sum()),
        "requests": workload.totals(),
        "arrival_span_s": [float(arrival.min()), float(arrival.max())] if len(arrival) else None,
        "pods_with_departure": int((~np.isnan(workload.departure_s)).sum()),
        "top_shapes": [
            {"cpu_milli": c, "memory_mib": m, "num_gpu": g, "gpu_milli": s, "pods": n}
            for (c, m, g, s), n in shapes.most_common(top)
        ],
    }


def describe(trace: Trace) -> dict[str, Any]:
    """A JSON-ready summary of a loaded trace."""
    out: dict[str, Any] = {
        "name": trace.name,
        "set": trace.entry.name,
        "licence": trace.entry.licence,
        "citation": trace.entry.citation,
    }
    if trace.cluster is not None:
        out["cluster"] = describe_cluster(trace.cluster)
    if trace.workload is not None:
        out["workload"] = describe_workload(trace.workload)
    if trace.instances:
        out["instances"] = {
            "count": len(trace.instances),
            "capacity": sorted({i.capacity for i in trace.instances}),
            "items": sorted({len(i.items) for i in trace.instances}),
            "l1_bound_total": sum(i.l1_bound for i in trace.instances),
        }
    return out
