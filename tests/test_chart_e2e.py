"""The chart against the end-to-end tier's real kube-apiserver, kube-scheduler and
Prometheus (marked e2e and slow; the binaries come from ``make e2e-deps``).
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_render import (
    CI_VALUES,
    CRDS,
    NAMESPACE,
    Manifest,
    concrete,
    config_map_document,
    dashboards_module,
    one,
    render,
)
from conftest import require

from cluster_traces.recording import load_recording

# ----------------------------------------------------- end to end (real control plane)


@pytest.fixture
def api_server(tmp_path: Path) -> Iterator[Any]:
    """A real etcd + kube-apiserver of the e2e tier's release (no scheduler yet)."""
    from e2e.binaries import find_binaries
    from e2e.controlplane import ControlPlane

    binaries = find_binaries()
    missing = [m for m in binaries.missing if m != "prometheus"]
    require(not missing, f"e2e binaries {missing} missing (make e2e-deps)")
    plane = ControlPlane.start(binaries, tmp_path / "control-plane")
    try:
        yield plane
    finally:
        plane.stop()


def _install_crds(plane: Any) -> None:
    from kubernetes import client

    extensions = client.ApiextensionsV1Api(plane.api_client)
    for path in CRDS:
        extensions.create_custom_resource_definition(yaml.safe_load(path.read_text()))
    deadline = time.monotonic() + 60
    for path in CRDS:
        name = yaml.safe_load(path.read_text())["metadata"]["name"]
        while True:
            status: Any = extensions.read_custom_resource_definition(name).status
            conditions = {c.type: c.status for c in ((status and status.conditions) or [])}
            if conditions.get("Established") == "True":
                break
            assert time.monotonic() < deadline, f"CRD {name} not established"
            time.sleep(0.2)


@pytest.mark.e2e
@pytest.mark.slow
def test_rendered_manifests_pass_a_strict_server_side_dry_run_on_the_e2e_apiserver(
    api_server: Any,
) -> None:
    from kubernetes import client
    from kubernetes.dynamic import DynamicClient

    _install_crds(api_server)
    api_server.core.create_namespace({"metadata": {"name": NAMESPACE}})
    dynamic = DynamicClient(api_server.api_client)
    checked = 0
    for values_file in [f"ci/{p.name}" for p in CI_VALUES]:
        for manifest in render(values_file):
            resource = dynamic.resources.get(
                api_version=manifest["apiVersion"], kind=manifest["kind"]
            )
            namespace = manifest["metadata"].get("namespace") if resource.namespaced else None
            try:
                resource.create(
                    body=manifest,
                    namespace=namespace,
                    dry_run="All",
                    query_params=[("fieldValidation", "Strict")],
                )
            except client.ApiException as error:
                pytest.fail(
                    f"{values_file}: {manifest['kind']}/{manifest['metadata']['name']}: "
                    f"{error.status} {error.body}"
                )
            checked += 1
    assert checked > 30


_REPLAY_PODS = 30


def _alibaba_replay(trace_dir: Path) -> tuple[Any, list[tuple[int, int, int]]]:
    """32 nodes of alibaba-gpu-v2023 (24 with GPUs, 8 without) and its first 30 pods, in
    arrival order, that ask for whole GPUs or none, as (cpu_milli, memory_mib, gpus)."""
    import numpy as np

    from cluster_traces.alibaba_gpu import load_alibaba_gpu_nodes, load_alibaba_gpu_pods

    folder = trace_dir / "alibaba-gpu-v2023"
    cluster = load_alibaba_gpu_nodes(folder)
    gpu_nodes = np.flatnonzero(cluster.gpu_count > 0)[:24]
    cpu_nodes = np.flatnonzero(cluster.gpu_count == 0)[:8]
    workload = load_alibaba_gpu_pods(folder)
    whole = np.flatnonzero((workload.num_gpu == 0) | (workload.gpu_milli == 1000))
    pods = [
        (int(workload.cpu_milli[i]), int(workload.memory_mib[i]), int(workload.num_gpu[i]))
        for i in whole[:_REPLAY_PODS]
    ]
    return cluster.take(np.concatenate([gpu_nodes, cpu_nodes])), pods


def _service_account_kubeconfig(plane: Any, manifests: list[Manifest], path: Path) -> Path:
    """Create the chart's ServiceAccount and RBAC for real and return a kubeconfig that
    authenticates as that service account (a TokenRequest token), as the pod would."""
    from kubernetes.dynamic import DynamicClient

    dynamic = DynamicClient(plane.api_client)
    rbac_kinds = ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
    for manifest in manifests:
        if manifest["kind"] in rbac_kinds:
            resource = dynamic.resources.get(
                api_version=manifest["apiVersion"], kind=manifest["kind"]
            )
            namespace = manifest["metadata"].get("namespace") if resource.namespaced else None
            resource.create(body=manifest, namespace=namespace)
    account = one(manifests, "ServiceAccount")["metadata"]["name"]
    request = {"spec": {"expirationSeconds": 3600}}
    core: Any = plane.core
    token = core.create_namespaced_service_account_token(account, NAMESPACE, request).status.token
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "e2e",
                "cluster": {
                    "server": plane.server,
                    "certificate-authority": str(plane.pki.ca_file),
                },
            }
        ],
        "users": [{"name": account, "user": {"token": token}}],
        "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": account}}],
        "current-context": "e2e",
    }
    path.write_text(yaml.safe_dump(kubeconfig))
    return path


@pytest.mark.e2e
@pytest.mark.slow
def test_chart_configs_place_a_trace_replay_and_every_dashboard_query_has_data(
    trace_dir: Path, api_server: Any, tmp_path: Path
) -> None:
    """The chart's two configuration documents, run as the pod would run them (kube-scheduler
    with the rendered KubeSchedulerConfiguration, leader election on the chart's own lease,
    `binforge serve` with the rendered ExtenderConfig, both as the chart's service account
    with only the chart's RBAC), place pods; a real Prometheus scrapes both, and every panel
    query of every dashboard returns data."""
    import urllib.request

    from e2e.binaries import find_binaries
    from e2e.manifests import pod_manifest
    from e2e.processes import ManagedProcess, free_port, wait_until
    from e2e.prometheus import PrometheusServer, ScrapeTarget
    from kubernetes import client

    prometheus_binary = find_binaries().prometheus
    require(prometheus_binary is not None, "prometheus not on PATH (make e2e-deps)")
    assert prometheus_binary is not None
    port = free_port()
    manifests = render(
        "", f"extender.port={port}", "replicaCount=2", "extender.recording.enabled=true"
    )
    extender_yaml = tmp_path / "extender.yaml"
    extender_yaml.write_text(one(manifests, "ConfigMap", "-config")["data"]["extender.yaml"])
    cluster, pods = _alibaba_replay(trace_dir)
    api_server.create_nodes(cluster)
    api_server.core.create_namespace({"metadata": {"name": NAMESPACE}})
    kubeconfig = _service_account_kubeconfig(api_server, manifests, tmp_path / "sa.kubeconfig")
    # In the pod the extender listens on 0.0.0.0, finds its service account in-cluster and
    # records onto its volume; here it listens on loopback with that account's token and
    # records under tmp_path, same placeholders (flags override the file).
    record_dir = one(manifests, "ConfigMap", "-config")["data"]["extender.yaml"]
    record_dir = yaml.safe_load(record_dir)["recordDir"].replace(
        "/var/lib/binforge/recordings", str(tmp_path / "recordings")
    )
    extender = ManagedProcess(
        "binforge-serve",
        [
            sys.executable,
            "-m",
            "binforge",
            "serve",
            f"--config={extender_yaml}",
            "--host=127.0.0.1",
            f"--kubeconfig={kubeconfig}",
            f"--record-dir={record_dir}",
        ],
        tmp_path / "extender.log",
    )
    prometheus = None
    try:

        def ready() -> bool | None:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as reply:
                return True if reply.status == 200 else None

        wait_until("binforge serve /readyz", ready, 60.0, alive=extender)
        config = config_map_document(manifests, "scheduler-config.yaml")
        assert config["leaderElection"]["leaderElect"] is True
        config["clientConnection"] = {"kubeconfig": str(kubeconfig)}
        api_server.start_scheduler(config)
        scheduler = api_server.scheduler_metrics_url.removeprefix("https://")
        prometheus = PrometheusServer(
            prometheus_binary,
            tmp_path / "prometheus",
            [
                ScrapeTarget("binforge", (f"127.0.0.1:{port}",)),
                ScrapeTarget(
                    "kube-scheduler",
                    (scheduler.removesuffix("/metrics"),),
                    scheme="https",
                    insecure_skip_verify=True,
                ),
            ],
        )
        for number, (cpu_milli, memory_mib, gpus) in enumerate(pods):
            name = api_server.create_pod(
                pod_manifest(
                    f"replay-{number}",
                    cpu_milli=cpu_milli,
                    memory_mib=memory_mib,
                    gpus=gpus,
                    scheduler_name=config["profiles"][0]["schedulerName"],
                )
            )
            assert api_server.wait_for_binding(name) in set(cluster.names.tolist())
            time.sleep(0.1)  # spread decisions over several scrapes
        lease: Any = client.CoordinationV1Api(api_server.api_client).read_namespaced_lease(
            config["leaderElection"]["resourceName"], NAMESPACE
        )
        assert lease.spec.holder_identity
        # Every pod was decided by the extender (the heuristic, or the baseline when the
        # heuristic overran its budget on these shared CPUs).
        decided = prometheus.wait_for_series(
            f'sum(binforge_decisions_total{{mode="filter"}}) >= {len(pods)}'
        )
        assert decided
        assert prometheus.wait_for_series(
            'binforge_decisions_total{mode="filter", outcome="chosen"} > 0'
        )
        module = dashboards_module()
        empty = []
        for dashboard in module.dashboards().values():
            for title, query in module.panel_queries(dashboard):
                try:
                    prometheus.wait_for_series(concrete(query), timeout_s=20.0)
                except TimeoutError:
                    empty.append(f"{dashboard['title']} / {title}: {concrete(query)}")
        assert empty == []
    finally:
        if prometheus is not None:
            prometheus.stop()
        extender.stop()
    # The extender recorded the replay with only the chart's RBAC, into a directory of its
    # own start (docs/recording.md).
    (recording,) = (tmp_path / "recordings").iterdir()
    assert recording.name.startswith(socket.gethostname() + "-")
    recorded = load_recording(recording)
    assert sorted(recorded.cluster.names.tolist()) == sorted(cluster.names.tolist())
    assert len(recorded.workload) == len(pods)
    assert set(recorded.bound_node) <= set(cluster.names.tolist())
