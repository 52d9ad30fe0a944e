"""Fixtures of the end-to-end tier: a real control plane and a real Prometheus.

Every test that needs the binaries (through ``e2e_binaries``, so also ``control_plane``)
gets the ``e2e`` marker; the fast tests of the helpers here do not. When a binary is missing the
session first runs ``scripts/e2e-deps.sh`` (so a bare ``pytest`` builds them too), then
``require()`` skips locally or fails under CI=true.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import require  # tests/conftest.py: skip locally, fail under CI

from cluster_traces.model import Cluster

from .binaries import Binaries, build_binaries, find_binaries
from .controlplane import ControlPlane
from .scheduler_config import render_scheduler_config

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        in_tier = Path(str(item.fspath)).parent == _HERE
        if in_tier and "e2e_binaries" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def e2e_binaries() -> Binaries:
    """The binaries, built on first use; skip/fail (per require()) if still missing."""
    binaries = find_binaries()
    if binaries.missing:
        result = build_binaries()
        binaries = find_binaries()
        require(
            not binaries.missing,
            f"e2e binaries {binaries.missing} missing after scripts/e2e-deps.sh "
            f"(exit {result.returncode}): {result.stderr[-2000:]}",
        )
    return binaries


@pytest.fixture(scope="session")
def small_cluster() -> Cluster:
    """Four nodes: two with 8 V100 GPUs, one with 2 T4s, one CPU-only."""
    return Cluster(
        names=np.array(["gpu-v100-a", "gpu-v100-b", "gpu-t4-a", "cpu-a"]),
        cpu_milli=np.array([64_000, 64_000, 32_000, 96_000]),
        memory_mib=np.array([262_144, 262_144, 131_072, 393_216]),
        gpu_count=np.array([8, 8, 2, 0]),
        gpu_model=np.array(["V100", "V100", "T4", ""]),
        source="e2e-small",
    )


@pytest.fixture(scope="session")
def control_plane(
    e2e_binaries: Binaries, small_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ControlPlane]:
    """etcd + kube-apiserver with ``small_cluster``'s nodes and a kube-scheduler running
    the binforge and default profiles (no extender). Stopped at session end."""
    plane = ControlPlane.start(e2e_binaries, tmp_path_factory.mktemp("control-plane"))
    try:
        plane.create_nodes(small_cluster)
        plane.start_scheduler(render_scheduler_config(kubeconfig=str(plane.scheduler_kubeconfig)))
        yield plane
    finally:
        plane.stop()
