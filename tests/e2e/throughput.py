"""End-to-end timings through ``binforge serve`` on the full alibaba-gpu-v2023 cluster
(docs/performance.md, "End-to-end").

Run from the repository root (binaries built by ``make e2e-deps``)::

    .venv/bin/python -m tests.e2e.throughput /work/shared/traces/alibaba-gpu-v2023 \\
        [--pods 300] [--latency-pods 40] [--heuristic fgd]

On the 1,523 nodes, twice (the binforge profile without an extender, then with
``binforge serve`` in filter mode as its extender): ``--latency-pods`` pods one at a time
(creation to ``spec.nodeName`` seen, polled every 5 ms), then ``--pods`` pods created back
to back (throughput: pods / time from the first creation to the last binding), then the p99
of kube-scheduler's own histograms (scheduling attempt, scheduling algorithm: the extender
call is part of the algorithm) and of binforge's ``binforge_request_duration_seconds``.
Pods are the trace's first whole-GPU pods (requests as in the trace).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

from cluster_traces.alibaba_gpu import load_alibaba_gpu_nodes
from cluster_traces.model import Workload

from .binaries import find_binaries
from .controlplane import ControlPlane
from .parity import Serve, clear_pods, parity_instance, pod_of
from .processes import wait_until
from .scheduler_config import BINFORGE_SCHEDULER_NAME, ExtenderSettings, render_scheduler_config

__all__ = ["histogram_quantile", "main"]


def histogram_quantile(metrics_text: str, family: str, q: float, **labels: str) -> float:
    """The ``q`` quantile of a Prometheus histogram in text format, summed over the series
    whose labels include ``labels``, interpolated within buckets as PromQL's
    ``histogram_quantile`` does. NaN when it has no observations."""
    buckets: dict[float, float] = {}
    for line in metrics_text.splitlines():
        if not line.startswith(family + "_bucket{"):
            continue
        head, value = line.rsplit(" ", 1)
        if not all(f'{k}="{v}"' in head for k, v in labels.items()):
            continue
        match = re.search(r'[{,]le="([^"]*)"', head)
        if match is None:
            continue
        bound = match.group(1)
        upper = math.inf if bound == "+Inf" else float(bound)
        buckets[upper] = buckets.get(upper, 0.0) + float(value)
    if not buckets or buckets.get(math.inf, 0.0) == 0:
        return math.nan
    bounds = sorted(buckets)
    total = buckets[math.inf]
    rank = q * total
    lower, below = 0.0, 0.0
    for upper in bounds:
        count = buckets[upper]
        if count >= rank:
            if math.isinf(upper):
                return lower
            return lower + (upper - lower) * (rank - below) / max(count - below, 1e-12)
        lower, below = upper, count
    return lower


def _phase(
    plane: ControlPlane, workload: Workload, label: str, latency_pods: int, pods: int
) -> str:
    latencies = []
    prefix = "".join(c if c.isalnum() else "-" for c in label.lower())
    for i in range(latency_pods):
        name = plane.create_pod(
            pod_of(workload, i, f"{prefix}-lat-{i:04d}", BINFORGE_SCHEDULER_NAME)
        )
        started = time.perf_counter()
        wait_until(f"binding of {name}", partial(plane.node_of, name), 30.0, interval_s=0.005)
        latencies.append(time.perf_counter() - started)
    clear_pods(plane)
    started = time.perf_counter()
    names = [
        plane.create_pod(pod_of(workload, i, f"{prefix}-burst-{i:04d}", BINFORGE_SCHEDULER_NAME))
        for i in range(pods)
    ]
    created = time.perf_counter() - started
    plane.wait_for_bindings(names, timeout_s=600.0)
    elapsed = time.perf_counter() - started
    metrics = plane.scheduler_metrics()
    attempt = histogram_quantile(metrics, "scheduler_scheduling_attempt_duration_seconds", 0.99,
                                 result="scheduled")  # fmt: skip
    algorithm = histogram_quantile(metrics, "scheduler_scheduling_algorithm_duration_seconds", 0.99)
    clear_pods(plane)
    lat = np.array(latencies) * 1000
    return (
        f"{label}: creation to binding p50 {np.percentile(lat, 50):.1f} ms, p99 "
        f"{np.percentile(lat, 99):.1f} ms ({latency_pods} pods one at a time); {pods} pods in "
        f"{elapsed:.2f} s = {pods / elapsed:.0f} pods/s (creating them took {created:.2f} s); "
        f"kube-scheduler p99 attempt {attempt * 1000:.1f} ms, algorithm {algorithm * 1000:.1f} ms"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.throughput")
    parser.add_argument("trace", type=Path, help="the alibaba-gpu-v2023 folder")
    parser.add_argument("--pods", type=int, default=300)
    parser.add_argument("--latency-pods", type=int, default=40)
    parser.add_argument("--heuristic", default="fgd")
    args = parser.parse_args(argv)
    binaries = find_binaries()
    if binaries.missing:
        print(f"missing binaries {binaries.missing}: run make e2e-deps", file=sys.stderr)
        return 1
    cluster = load_alibaba_gpu_nodes(args.trace)
    _, workload = parity_instance(args.trace.parent, gpu_nodes=1, cpu_nodes=0, pods=args.pods)
    with (
        tempfile.TemporaryDirectory() as workdir,
        ControlPlane.start(binaries, Path(workdir) / "control-plane") as plane,
    ):
        plane.create_nodes(cluster)
        print(f"{len(cluster)} nodes, {len(workload)} pods", flush=True)
        plane.start_scheduler(render_scheduler_config(kubeconfig=str(plane.scheduler_kubeconfig)))
        print(_phase(plane, workload, "without extender", args.latency_pods, args.pods), flush=True)
        serve = Serve.start(plane, Path(workdir), mode="filter", heuristic=args.heuristic,
                            baseline="kube-default")  # fmt: skip
        try:
            plane.start_scheduler(
                render_scheduler_config(
                    kubeconfig=str(plane.scheduler_kubeconfig),
                    extender=ExtenderSettings(url_prefix=f"{serve.url}/", ignorable=True),
                )
            )
            line = _phase(plane, workload, f"with {args.heuristic} extender", args.latency_pods,
                          args.pods)  # fmt: skip
            text = serve.get("/metrics")
            own = histogram_quantile(text, "binforge_request_duration_seconds", 0.99, verb="filter")
            fallbacks = serve.metric("binforge_heuristic_fallbacks_total")
            print(f"{line}; binforge filter p99 {own * 1000:.1f} ms, fallbacks {fallbacks:.0f}")
        finally:
            serve.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
