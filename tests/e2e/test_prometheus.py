"""A real Prometheus (Debian's package) scrapes what the tier will measure.

Specification: Prometheus started with a generated scrape config collects a series from a
prometheus-client exporter and kube-scheduler's own metrics (pending pods, and scheduling
attempts of the binforge profile), and its HTTP API returns them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from .binaries import Binaries
from .controlplane import ControlPlane
from .manifests import pod_manifest
from .processes import free_port
from .prometheus import PrometheusServer, ScrapeTarget
from .scheduler_config import BINFORGE_SCHEDULER_NAME


@pytest.fixture
def exporter_port() -> Iterator[int]:
    registry = CollectorRegistry()
    Gauge(
        "binforge_e2e_smoke_stranded_gpu_milli",
        "A fixed value the smoke test expects Prometheus to scrape.",
        ["resource"],
        registry=registry,
    ).labels(resource="gpu").set(1234)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        yield port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_prometheus_scrapes_an_exporter_and_kube_scheduler(
    e2e_binaries: Binaries, control_plane: ControlPlane, exporter_port: int, tmp_path: Path
) -> None:
    assert e2e_binaries.prometheus is not None
    scheduler_target = control_plane.scheduler_metrics_url.removeprefix("https://").removesuffix(
        "/metrics"
    )
    prometheus = PrometheusServer(
        e2e_binaries.prometheus,
        tmp_path / "prometheus",
        [
            ScrapeTarget("exporter", (f"127.0.0.1:{exporter_port}",)),
            ScrapeTarget(
                "kube-scheduler", (scheduler_target,), scheme="https", insecure_skip_verify=True
            ),
        ],
    )
    try:
        series = prometheus.wait_for_series('binforge_e2e_smoke_stranded_gpu_milli{job="exporter"}')
        assert [(s["metric"]["resource"], s["value"][1]) for s in series] == [("gpu", "1234")]
        up = prometheus.wait_for_series('up{job="kube-scheduler"} == 1')
        assert len(up) == 1
        pending = prometheus.wait_for_series('scheduler_pending_pods{job="kube-scheduler"}')
        assert {s["metric"]["queue"] for s in pending} >= {"active", "backoff", "unschedulable"}
        control_plane.create_pod(
            pod_manifest(
                "scraped", cpu_milli=100, memory_mib=64, scheduler_name=BINFORGE_SCHEDULER_NAME
            )
        )
        control_plane.wait_for_binding("scraped")
        attempts = prometheus.wait_for_series(
            'scheduler_schedule_attempts_total{profile="binforge",result="scheduled"} >= 1'
        )
        assert len(attempts) == 1
    finally:
        control_plane.delete_pod("scraped")
        prometheus.stop()
    assert not prometheus.process.running()
