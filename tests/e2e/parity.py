"""Helpers of the sim-to-real parity tests: one trace instance, replayed twice.

The same pods, in the same order, go through the simulator (``simulator.simulate`` under the
``replay`` protocol, one arrival per second, no departures) and through the real
kube-scheduler (with or without ``binforge serve`` as its extender); the two lists of node
names are then compared pod for pod.

Only whole-GPU and CPU-only pods without a GPU-model constraint are replayed: kube-scheduler
counts ``nvidia.com/gpu`` in whole GPUs, so GPU-sharing pods (``gpu_milli < 1000``) would be
rejected by its own fit check once their GPUs are counted, whatever the extender says.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cluster_traces.model import Cluster, Replay, Scenario, Workload
from heuristics.contract import NodeState, Pod
from heuristics.feasibility import allocate
from heuristics.registry import resolve
from simulator import simulate

from .binaries import Binaries
from .controlplane import ControlPlane
from .manifests import GPU_MODEL_LABEL, pod_manifest
from .processes import ManagedProcess, free_port, wait_until

__all__ = [
    "METRIC_SCALE",
    "PlaneInstance",
    "Serve",
    "booked_state",
    "clear_pods",
    "counterfactual_net",
    "create_pods",
    "distinct_cluster",
    "heuristic_choice",
    "parity_instance",
    "pod_of",
    "replay_through_scheduler",
    "simulated_nodes",
    "started_instance",
    "untied_pods",
]


METRIC_SCALE = {"gpu": 1e-3, "cpu": 1e-3, "memory": float(2**20)}
"""simulator.metrics units (thousandths of a GPU, millicores, MiB) -> binforge's metric
units (GPUs, cores, bytes)."""


def parity_instance(
    trace_dir: Path, *, gpu_nodes: int, cpu_nodes: int, pods: int
) -> tuple[Cluster, Workload]:
    """A subset of alibaba-gpu-v2023: ``gpu_nodes`` GPU nodes evenly spread over its GPU
    nodes (every model and size) and its first ``cpu_nodes`` CPU nodes, **ordered by name** (the extender's node order, so index tie-breaks agree),
    and its first ``pods`` pods in arrival order that ask for whole GPUs or none and name
    no GPU model."""
    from cluster_traces.alibaba_gpu import load_alibaba_gpu_nodes, load_alibaba_gpu_pods

    folder = trace_dir / "alibaba-gpu-v2023"
    cluster = load_alibaba_gpu_nodes(folder)
    with_gpus = np.flatnonzero(cluster.gpu_count > 0)
    spread = with_gpus[np.linspace(0, len(with_gpus) - 1, gpu_nodes).astype(np.int64)]
    chosen = np.concatenate([spread, np.flatnonzero(cluster.gpu_count == 0)[:cpu_nodes]])
    chosen = chosen[np.argsort(cluster.names[chosen], kind="stable")]
    workload = load_alibaba_gpu_pods(folder)
    whole = (workload.num_gpu == 0) | (workload.gpu_milli == 1000)
    order = np.argsort(workload.arrival_s, kind="stable")
    keep = order[(whole & (workload.gpu_spec == ""))[order]][:pods]
    return cluster.take(chosen), workload.take(keep)


@dataclass
class PlaneInstance:
    """A control plane of its own holding ``cluster``'s nodes (no scheduler yet), the pods
    to replay and the node the simulator put each on (``expected``)."""

    plane: ControlPlane
    cluster: Cluster
    workload: Workload
    expected: list[str]
    workdir: Path


@contextmanager
def started_instance(
    binaries: Binaries, cluster: Cluster, workload: Workload, expected: list[str], workdir: Path
) -> Iterator[PlaneInstance]:
    """Start a control plane under ``workdir`` with ``cluster``'s nodes; stop it on exit."""
    plane = ControlPlane.start(binaries, workdir / "control-plane")
    try:
        plane.create_nodes(cluster)
        yield PlaneInstance(plane, cluster, workload, expected, workdir)
    finally:
        plane.stop()


def simulated_nodes(cluster: Cluster, workload: Workload, heuristic: str) -> list[str]:
    """The simulator's node name per pod ("" when never placed), the pods arriving one per
    second in the given order and never leaving."""
    count = len(workload)
    timed = _with_times(workload, np.arange(count, dtype=np.float64), np.full(count, np.nan))
    scenario = Scenario(
        name="e2e-parity", cluster=cluster, workload=timed, replay=Replay(protocol="replay")
    )
    result = simulate(scenario, resolve(heuristic).heuristic, seed=0)
    return [str(cluster.names[i]) if i >= 0 else "" for i in result.placements]


def _with_times(workload: Workload, arrival_s: np.ndarray, departure_s: np.ndarray) -> Workload:
    from dataclasses import replace

    return replace(workload, arrival_s=arrival_s, departure_s=departure_s)


def booked_state(cluster: Cluster, workload: Workload, nodes: list[str]) -> NodeState:
    """``cluster``'s state after booking pod ``i`` of ``workload`` on ``nodes[i]``
    (skipped when "")."""
    state = NodeState(cluster)
    index_of = {str(n): i for i, n in enumerate(cluster.names)}
    for i, node in enumerate(nodes):
        if node:
            allocate(state, index_of[node], _pod(workload, i))
    return state


def _pod(workload: Workload, i: int) -> Pod:
    from simulator.placement import pods_of

    return pods_of(workload.take(np.array([i])))[0]


def pod_of(workload: Workload, i: int, name: str, scheduler_name: str | None) -> dict[str, Any]:
    """Pod ``i`` of ``workload`` as a manifest named ``name``."""
    return pod_manifest(
        name,
        cpu_milli=int(workload.cpu_milli[i]),
        memory_mib=int(workload.memory_mib[i]),
        gpus=int(workload.num_gpu[i]),
        scheduler_name=scheduler_name,
    )


def create_pods(
    plane: ControlPlane, workload: Workload, *, scheduler_name: str | None, prefix: str
) -> list[str]:
    """Create every pod of ``workload`` in order, named ``<prefix>-<index:04d>`` (so that
    the API server's key order is the creation order); return the names."""
    return [
        plane.create_pod(pod_of(workload, i, f"{prefix}-{i:04d}", scheduler_name))
        for i in range(len(workload))
    ]


def replay_through_scheduler(
    plane: ControlPlane,
    workload: Workload,
    *,
    scheduler_name: str | None,
    prefix: str,
    burst: int = 1,
    first: int = 0,
    count: int | None = None,
) -> list[str]:
    """Create pods ``first .. first+count-1`` of ``workload`` in order, ``burst`` at a time
    (each group created back to back, then awaited until all are bound); return the node
    each was bound to."""
    end = len(workload) if count is None else first + count
    bound: list[str] = []
    for start in range(first, end, burst):
        names = [
            plane.create_pod(pod_of(workload, i, f"{prefix}-{i:04d}", scheduler_name))
            for i in range(start, min(start + burst, end))
        ]
        if len(names) == 1:
            bound.append(plane.wait_for_binding(names[0]))
        else:
            placed = plane.wait_for_bindings(names)
            bound.extend(placed[n] for n in names)
    return bound


@dataclass
class Serve:
    """``binforge serve`` on a free loopback port, watching ``plane`` as the admin user."""

    process: ManagedProcess
    port: int
    log_file: Path

    @classmethod
    def start(
        cls,
        plane: ControlPlane,
        log_dir: Path,
        *,
        mode: str,
        heuristic: str,
        baseline: str,
        port: int | None = None,
        extra_env: dict[str, str] | None = None,
        log_level: str = "warning",
    ) -> Serve:
        """Start it and wait for ``/readyz`` (both lists done). Raises TimeoutError."""
        port = port or free_port()
        env = {
            "BINFORGE_SERVE_GPU_MODEL_LABEL": GPU_MODEL_LABEL,
            # The shared 2-core machine: a budget overrun would answer with the baseline.
            "BINFORGE_SERVE_HEURISTIC_TIMEOUT_MS": "5000",
            "BINFORGE_SERVE_WATCH_BACKOFF_INITIAL_S": "0.1",
            "BINFORGE_SERVE_WATCH_BACKOFF_MAX_S": "1",
            **(extra_env or {}),
        }
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            process = ManagedProcess(
                f"binforge-serve-{port}",
                [sys.executable, "-m", "binforge", "serve", "--mode", mode,
                 "--heuristic", heuristic, "--baseline", baseline,
                 "--kubeconfig", str(plane.admin_kubeconfig), "--host", "127.0.0.1",
                 "--port", str(port), "--log-level", log_level],
                log_dir / f"serve-{port}.log",
            )  # fmt: skip
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        serve = cls(process, port, log_dir / f"serve-{port}.log")
        wait_until(
            "binforge serve /readyz",
            lambda: serve.get("/readyz") == "ok" or None,
            60.0,
            alive=process,
        )
        return serve

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> str:
        """The body of ``GET path``; "" when the server does not answer."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as reply:
                return str(reply.read().decode())
        except OSError:
            return ""

    def metric(self, family: str, **labels: str) -> float:
        """Sum of the samples of ``family`` whose labels include ``labels``."""
        total = 0.0
        for line in self.get("/metrics").splitlines():
            if not line.startswith(family + "{") and not line.startswith(family + " "):
                continue
            head, value = line.rsplit(" ", 1)
            if all(f'{k}="{v}"' in head for k, v in labels.items()):
                total += float(value)
        return total

    def decided_pods(self) -> list[str]:
        """``namespace/name`` of each decision, in order (logged at ``log_level="debug"``)."""
        decided = []
        for line in self.log_file.read_text().splitlines():
            if '"decision"' in line:
                decided.append(str(json.loads(line)["pod"]))
        return decided

    def stop(self) -> None:
        self.process.stop()


def clear_pods(plane: ControlPlane, namespace: str = "default") -> None:
    """Delete every pod of ``namespace`` at once and wait until none is listed."""
    listed: Any = plane.core.list_namespaced_pod(namespace)
    for pod in listed.items:
        plane.delete_pod(pod.metadata.name, namespace)
    wait_until(
        f"no pods left in {namespace}",
        lambda: True if not plane.core.list_namespaced_pod(namespace).items else None,
        60.0,
    )


def heuristic_choice(
    cluster: Cluster, workload: Workload, nodes: list[str], i: int, heuristic: str
) -> tuple[str, np.ndarray]:
    """What ``heuristic`` chooses for pod ``i`` after pods ``0..i-1`` were bound to
    ``nodes``, and its scores over the feasible nodes (cluster order)."""
    from heuristics.contract import choose
    from heuristics.feasibility import view
    from heuristics.fragmentation import make_context

    state = booked_state(cluster, workload, nodes[:i])
    pod = _pod(workload, i)
    candidates = view(state, pod)
    scores = np.asarray(
        resolve(heuristic).heuristic(pod, candidates, make_context(cluster, workload)), dtype=float
    )
    return str(cluster.names[choose(scores, candidates)]), scores


def counterfactual_net(
    cluster: Cluster,
    workload: Workload,
    nodes: list[str],
    baseline: str,
    reference: Workload | None = None,
) -> dict[str, float]:
    """Net stranded capacity the placements ``nodes`` recovered against ``baseline``, summed
    over decisions (baseline's choice minus the placement's, in the extender's metric units:
    GPUs, cores, bytes), computed with ``simulator.metrics.stranded``. The reference
    shapes are ``reference``'s, or at decision ``i`` those of pods ``0..i``."""
    from heuristics.contract import choose
    from heuristics.feasibility import view
    from heuristics.fragmentation import make_context
    from simulator.metrics import stranded

    scale = METRIC_SCALE
    net = dict.fromkeys(scale, 0.0)
    score = resolve(baseline).heuristic
    state = NodeState(cluster)
    index_of = {str(n): i for i, n in enumerate(cluster.names)}
    for i, node in enumerate(nodes):
        pod = _pod(workload, i)
        ctx = make_context(state, reference or workload.take(np.arange(i + 1)))
        candidates = view(state, pod)
        chosen, other = index_of[node], choose(score(pod, candidates, ctx), candidates)
        if other != chosen:
            after: dict[int, dict[str, float]] = {}
            for j in (chosen, other):
                trial = copy.deepcopy(state)
                allocate(trial, j, pod)
                after[j] = stranded(trial, ctx)
            for resource in net:
                net[resource] += (after[other][resource] - after[chosen][resource]) * scale[
                    resource
                ]
        allocate(state, chosen, pod)
    return net


def untied_pods(cluster: Cluster, workload: Workload, heuristic: str, count: int) -> Workload:
    """The first ``count`` pods of ``workload``, in order, for which ``heuristic``'s best
    score is held by one feasible node only, each booked where the heuristic puts it (pods
    that would tie, which kube-scheduler breaks at random, or fit nowhere are left out)."""
    from heuristics.contract import choose
    from heuristics.feasibility import view
    from heuristics.fragmentation import make_context

    score = resolve(heuristic).heuristic
    ctx = make_context(cluster, workload)
    state = NodeState(cluster)
    kept: list[int] = []
    for i in range(len(workload)):
        pod = _pod(workload, i)
        candidates = view(state, pod)
        if not len(candidates):
            continue
        scores = np.asarray(score(pod, candidates, ctx), dtype=float)
        if int((scores == scores.max()).sum()) == 1:
            allocate(state, choose(scores, candidates), pod)
            kept.append(i)
            if len(kept) == count:
                break
    return workload.take(np.array(kept, dtype=np.int64))


def distinct_cluster(count: int, seed: int) -> Cluster:
    """``count`` CPU nodes named ``node-00..`` with random, distinct CPU and memory
    capacities (so that kube-scheduler's integer scores tie less often)."""
    rng = np.random.default_rng(seed)
    return Cluster(
        names=np.array([f"node-{i:02d}" for i in range(count)]),
        cpu_milli=rng.choice(np.arange(32_000, 129_000, 250), count, replace=False),
        memory_mib=rng.choice(np.arange(131_072, 786_432, 1024), count, replace=False),
        gpu_count=np.zeros(count, dtype=np.int64),
        gpu_model=np.full(count, ""),
        source=f"e2e-distinct-{seed}",
    )
