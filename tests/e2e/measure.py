"""Timings of the control plane on the full alibaba-gpu-v2023 cluster (docs/e2e.md).

Run from the repository root (binaries built by ``make e2e-deps``)::

    .venv/bin/python -m tests.e2e.measure /work/shared/traces/alibaba-gpu-v2023 [pods]

Prints one line per phase: control plane ready, nodes created, scheduler ready, and
``pods`` one-GPU pods created back to back and all bound by the default profile.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from cluster_traces.alibaba_gpu import load_alibaba_gpu_nodes

from .binaries import find_binaries
from .controlplane import ControlPlane
from .manifests import pod_manifest
from .scheduler_config import render_scheduler_config


def main(argv: list[str]) -> int:
    if not 1 <= len(argv) <= 2:
        print(__doc__, file=sys.stderr)
        return 2
    cluster = load_alibaba_gpu_nodes(Path(argv[0]))
    pods = int(argv[1]) if len(argv) == 2 else 100
    binaries = find_binaries()
    if binaries.missing:
        print(f"missing binaries {binaries.missing}: run make e2e-deps", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as workdir:
        started = time.monotonic()

        def phase(what: str) -> None:
            nonlocal started
            now = time.monotonic()
            print(f"{what}: {now - started:.1f} s", flush=True)
            started = now

        with ControlPlane.start(binaries, Path(workdir)) as plane:
            phase("etcd + kube-apiserver ready")
            plane.create_nodes(cluster)
            phase(f"{len(cluster)} nodes created")
            plane.start_scheduler(
                render_scheduler_config(kubeconfig=str(plane.scheduler_kubeconfig))
            )
            phase("kube-scheduler ready")
            names = [f"measure-{i}" for i in range(pods)]
            for name in names:
                plane.create_pod(pod_manifest(name, cpu_milli=1000, memory_mib=1024, gpus=1))
            plane.wait_for_bindings(names, timeout_s=300.0)
            phase(f"{pods} one-GPU pods created and bound")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
