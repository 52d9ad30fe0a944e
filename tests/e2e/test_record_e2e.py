"""Recording a real control plane reproduces the trace that was played into it.

Specification: while ``binforge traces record`` (its ``record`` function, on a thread)
watches a real kube-apiserver, pods with the requests of the embedded synthetic trace are
created 0.4 s apart, bound by the real kube-scheduler and deleted after known lifetimes. The
recording then holds exactly those pods, in creation order, with the same requests; every
arrival (relative to the first) and every lifetime is within ``TOLERANCE_S`` of the plan;
every pod is bound after it arrived; the nodes carry their capacities and GPU models; the
recorder ran as a service account that may only get, list and watch nodes and pods; and
``binforge whatif`` replays the recording. And ``binforge serve --mode shadow
--record-dir`` as the real scheduler's extender records the pods it sees, and the shadow
counterfactual computed offline from that recording matches the extender's counters.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from binforge.cli import main
from cluster_traces.model import Cluster
from cluster_traces.recording import load_recording
from cluster_traces.synthetic import synthetic_workload
from heuristics.registry import resolve
from k8s_plugin.config import ExtenderConfig
from k8s_plugin.recorder import RecordStats, record
from k8s_plugin.recorder_shadow import shadow_replay

from .controlplane import ControlPlane
from .manifests import GPU_MODEL_LABEL, pod_manifest
from .processes import ManagedProcess, free_port, wait_until
from .scheduler_config import BINFORGE_SCHEDULER_NAME, ExtenderSettings, render_scheduler_config

TOLERANCE_S = 1.0
"""How far a recorded arrival or lifetime may be from the plan: the watch's delivery delay
plus the test's own scheduling jitter on a loaded machine (typically well under 0.2 s)."""

NAMESPACE = "recorded"
SHADOW_NAMESPACE = "shadowed"
SHADOW_TOLERANCE = {"gpu": 0.1, "cpu": 0.5, "memory": 2.0**30}
"""How far whatif's shadow counterfactual (net stranded capacity: GPUs, CPU cores, memory
bytes) may be from the extender's counters. Both make the same calls on the same pods and
relearn the reference shapes on the same 5 s period; they can differ only when a refresh
falls between a filter call and the binding the recording saw (measured: identical)."""
GAP_S = 0.4
PODS = 12


def _plan() -> list[dict[str, Any]]:
    """The first pods of the synthetic trace that take at most 2 GPUs, with compressed times."""
    workload = synthetic_workload(seed=0)
    chosen = [i for i in range(len(workload)) if workload.num_gpu[i] <= 2][:PODS]
    return [
        {
            "name": f"trace-pod-{k}",
            "cpu_milli": int(workload.cpu_milli[i]),
            "memory_mib": int(workload.memory_mib[i]),
            "num_gpu": int(workload.num_gpu[i]),
            "gpu_milli": int(workload.gpu_milli[i]),
            "arrival_s": k * GAP_S,
            "lifetime_s": 1.0 + (k % 4) * 0.5,
        }
        for k, i in enumerate(chosen)
    ]


def _http(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def _manifest(pod: dict[str, Any], namespace: str) -> dict[str, Any]:
    manifest = pod_manifest(
        pod["name"],
        cpu_milli=pod["cpu_milli"],
        memory_mib=pod["memory_mib"],
        gpus=pod["num_gpu"],
        namespace=namespace,
        scheduler_name=pod.get("scheduler"),
    )
    if 0 < pod["gpu_milli"] < 1000:
        manifest["metadata"]["annotations"] = {"binforge.dev/gpu-milli": str(pod["gpu_milli"])}
    return manifest


def _lines(path: Path, containing: str = "") -> int:
    if not path.is_file():
        return 0
    return sum(1 for line in path.read_text().splitlines() if containing in line)


def _read_only_kubeconfig(plane: ControlPlane, directory: Path) -> Path:
    """A kubeconfig for a service account allowed only get, list and watch on nodes and pods."""
    rbac: Any = k8s.RbacAuthorizationV1Api(plane.api_client)
    core: Any = plane.core
    rules = [{"apiGroups": [""], "resources": ["nodes", "pods"], "verbs": ["get", "list", "watch"]}]
    rbac.create_cluster_role(body={"metadata": {"name": "binforge-recorder"}, "rules": rules})
    rbac.create_cluster_role_binding(
        body={
            "metadata": {"name": "binforge-recorder"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": "binforge-recorder"},
            "subjects": [{"kind": "ServiceAccount", "name": "recorder", "namespace": "default"}],
        }
    )  # fmt: skip
    core.create_namespaced_service_account("default", {"metadata": {"name": "recorder"}})
    token = core.create_namespaced_service_account_token(
        "recorder", "default", {"spec": {"expirationSeconds": 3600}}
    ).status.token
    path = directory / "recorder.kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "e2e", "cluster": {
                    "server": plane.server, "certificate-authority": str(plane.pki.ca_file)}}],
                "users": [{"name": "recorder", "user": {"token": token}}],
                "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "recorder"}}],
                "current-context": "e2e",
            }
        )
    )  # fmt: skip
    return path


def _play(plane: ControlPlane, plan: list[dict[str, Any]], namespace: str = NAMESPACE) -> None:
    actions = sorted(
        [(p["arrival_s"], 0, "create", p) for p in plan]
        + [(p["arrival_s"] + p["lifetime_s"], 1, "delete", p) for p in plan],
        key=lambda a: (a[0], a[1]),
    )
    start = time.monotonic()
    for at_s, _, action, pod in actions:
        time.sleep(max(0.0, start + at_s - time.monotonic()))
        if action == "create":
            plane.create_pod(_manifest(pod, namespace))
        else:
            plane.delete_pod(pod["name"], namespace)


def test_a_recording_of_the_control_plane_reproduces_the_played_trace(
    control_plane: ControlPlane,
    small_cluster: Cluster,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plane = control_plane
    core: Any = plane.core
    core.create_namespace(body={"metadata": {"name": NAMESPACE}})
    plan = _plan()
    out = tmp_path / "recording"
    # Recording needs no write permission: the recorder's identity can only read.
    kubeconfig = _read_only_kubeconfig(plane, tmp_path)
    reader: Any = k8s.CoreV1Api(k8s_config.new_client_from_config(config_file=str(kubeconfig)))
    with pytest.raises(k8s.ApiException) as refused:
        reader.create_namespaced_pod(NAMESPACE, _manifest(plan[0], NAMESPACE))
    assert refused.value.status == 403
    config = ExtenderConfig(
        kubeconfig=str(kubeconfig),
        gpu_model_label=GPU_MODEL_LABEL,
        watch_backoff_initial_s=0.1,
    )
    stop = threading.Event()
    stats: list[RecordStats] = []
    recorder = threading.Thread(
        target=lambda: stats.append(
            record(config, out, namespace=NAMESPACE, cluster="e2e", stop=stop)
        ),
        daemon=True,
    )
    recorder.start()
    try:
        wait_until(
            "recorder listed the nodes",
            lambda: _lines(out / "nodes.jsonl") >= len(small_cluster) or None,
            30.0,
        )
        _play(plane, plan)
        wait_until(
            "recorder saw every deletion",
            lambda: _lines(out / "events.jsonl", '"event":"deleted"') >= len(plan) or None,
            30.0,
        )
    finally:
        stop.set()
        recorder.join(30.0)
    assert stats and stats[0].rejected_objects == 0

    recording = load_recording(out)
    workload = recording.workload
    assert list(workload.names) == [f"{NAMESPACE}/{p['name']}" for p in plan]
    for field in ("cpu_milli", "memory_mib", "num_gpu", "gpu_milli"):
        assert list(getattr(workload, field)) == [p[field] for p in plan], field
    arrival = workload.arrival_s - workload.arrival_s[0]
    planned = np.array([p["arrival_s"] for p in plan])
    lifetime = workload.departure_s - workload.arrival_s
    planned_lifetime = np.array([p["lifetime_s"] for p in plan])
    assert np.abs(arrival - planned).max() <= TOLERANCE_S, arrival - planned
    assert np.abs(lifetime - planned_lifetime).max() <= TOLERANCE_S, lifetime - planned_lifetime
    assert all(recording.bound_node), recording.bound_node
    assert set(recording.bound_node) <= set(small_cluster.names)
    assert all(b >= a for a, b in zip(workload.arrival_s, recording.bound_s, strict=True))
    assert set(recording.schedulers) == {"default-scheduler"}

    cluster = recording.cluster
    for i, name in enumerate(small_cluster.names):
        j = list(cluster.names).index(name)
        assert cluster.cpu_milli[j] == small_cluster.cpu_milli[i]
        assert cluster.memory_mib[j] == small_cluster.memory_mib[i]
        assert cluster.gpu_count[j] == small_cluster.gpu_count[i]
        assert cluster.gpu_model[j] == small_cluster.gpu_model[i]

    # whatif replays the recording; the cluster was never full, so no pod fails.
    assert main(["whatif", "--trace", str(out), "--policy", "kube-default,fgd", "--seeds",
                 "2", "--json", "-"]) == 0  # fmt: skip
    document = json.loads(capsys.readouterr().out)
    assert document["observed"]["pods"] == len(plan)
    assert document["observed"]["never_bound"] == 0
    for policy in ("kube-default", "fgd"):
        assert document["policies"][policy]["pods_failed"]["mean"] == 0
    print(f"max arrival error {np.abs(arrival - planned).max():.3f} s, max lifetime error "
          f"{np.abs(lifetime - planned_lifetime).max():.3f} s")  # fmt: skip


def _counters(metrics_text: str, family: str) -> dict[str, float]:
    """``{resource: value}`` of a counter family in Prometheus text format."""
    out = {}
    for line in metrics_text.splitlines():
        if line.startswith(family + "{"):
            labels, value = line.rsplit(" ", 1)
            out[labels.split('resource="', 1)[1].split('"', 1)[0]] = float(value)
    return out


def test_whatif_predicts_the_counterfactual_the_extender_reports_in_shadow_mode(
    control_plane: ControlPlane,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`binforge serve --mode shadow --record-dir` under the real kube-scheduler records the
    pods it sees; the shadow counterfactual `whatif` computes from that recording matches the
    extender's own counters within ``SHADOW_TOLERANCE``."""
    plane = control_plane
    core: Any = plane.core
    core.create_namespace(body={"metadata": {"name": SHADOW_NAMESPACE}})
    port = free_port()
    record_dir = tmp_path / "serve-recording"
    monkeypatch.setenv("BINFORGE_SERVE_GPU_MODEL_LABEL", GPU_MODEL_LABEL)
    serve = ManagedProcess(
        "binforge-serve",
        [sys.executable, "-m", "binforge", "serve", "--mode", "shadow", "--heuristic", "fgd",
         "--baseline", "kube-default", "--kubeconfig", str(plane.admin_kubeconfig),
         "--port", str(port), "--record-dir", str(record_dir), "--log-level", "warning"],
        tmp_path / "serve.log",
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until("extender /readyz", lambda: _http(f"{base}/readyz") == "ok" or None, 60.0)
        plane.start_scheduler(
            render_scheduler_config(
                kubeconfig=str(plane.scheduler_kubeconfig),
                extender=ExtenderSettings(url_prefix=f"{base}/", weight=1),
            )
        )
        plan = [p | {"scheduler": BINFORGE_SCHEDULER_NAME} for p in _plan()]
        _play(plane, plan, SHADOW_NAMESPACE)
        wait_until(
            "serve recorded every deletion",
            lambda: _lines(record_dir / "events.jsonl", '"event":"deleted"') >= len(plan) or None,
            30.0,
        )
        metrics = _http(f"{base}/metrics")
    finally:
        serve.stop()
        plane.start_scheduler(render_scheduler_config(kubeconfig=str(plane.scheduler_kubeconfig)))
    reported = {
        resource: value - _counters(metrics, "binforge_counterfactual_lost_total").get(resource, 0)
        for resource, value in _counters(metrics, "binforge_counterfactual_recovered_total").items()
    }
    recording = load_recording(record_dir)
    shadow = shadow_replay(recording, resolve("fgd").heuristic, resolve("kube-default").heuristic)
    print(f"shadow counterfactual: extender {reported}, whatif {shadow.net}, "
          f"{shadow.differing} of {shadow.decisions} decisions differ")  # fmt: skip
    assert shadow.decisions == len(plan)
    assert shadow.unbookable == 0
    decisions = [  # the extender's own account, for a failure message that says why
        line
        for line in metrics.splitlines()
        if line.startswith(("binforge_decisions_total{", "binforge_heuristic_fallbacks_total{"))
    ]
    for resource, tolerance in SHADOW_TOLERANCE.items():
        difference = reported.get(resource, 0.0) - shadow.net.get(resource, 0.0)
        assert abs(difference) <= tolerance, (resource, reported, shadow.net, decisions)
