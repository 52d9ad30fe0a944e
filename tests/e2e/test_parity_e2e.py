"""Sim-to-real parity: the real kube-scheduler with ``binforge serve`` places pods where the
simulator does.

Specification: on 48 GPU nodes and 8 CPU nodes of alibaba-gpu-v2023, the first
``PODS`` whole-GPU pods of its trace are created in arrival order for the binforge profile,
whose extender serves ``best-fit`` in ``filter`` mode; the bindings equal the simulator's
placements for the same pods in the same order, pod for pod, both when each pod is awaited
before the next is created and when they come in bursts of ``BURST``. A real Prometheus
scrapes both servers meanwhile, and binforge's stranded capacity it reports equals
``simulator.metrics.stranded`` on the simulator's final state. In ``score`` mode every pod
lands on a node the heuristic ranks highest. Faults: an ``ignorable`` extender killed
mid-replay leaves scheduling running and decides again, correctly, once back; a heuristic
that raises is answered by the baseline, counted, and every pod is still placed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from cluster_traces.model import Workload
from heuristics.feasibility import view
from heuristics.fragmentation import make_context
from k8s_plugin.decision import to_priorities
from simulator.metrics import stranded
from simulator.placement import pods_of

from .binaries import Binaries, find_binaries
from .controlplane import ControlPlane
from .parity import (
    METRIC_SCALE,
    PlaneInstance,
    Serve,
    booked_state,
    clear_pods,
    counterfactual_net,
    create_pods,
    heuristic_choice,
    parity_instance,
    replay_through_scheduler,
    simulated_nodes,
    started_instance,
)
from .processes import wait_until
from .prometheus import PrometheusServer, ScrapeTarget
from .scheduler_config import BINFORGE_SCHEDULER_NAME, ExtenderSettings, render_scheduler_config

HEURISTIC = "best-fit"
BASELINE = "kube-default"
PODS = 200
BURST = 25
FGD_PODS = 120
RESOURCES = ("gpu", "cpu", "memory")
SHAPES_REFRESH_S = 5.0
"""How often the extender relearns its reference shapes at most (k8s_plugin.cache)."""


@pytest.fixture(scope="module")
def instance(
    e2e_binaries: Binaries, trace_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PlaneInstance]:
    """A control plane of its own holding only the parity nodes (no scheduler yet)."""
    cluster, workload = parity_instance(trace_dir, gpu_nodes=48, cpu_nodes=8, pods=PODS)
    expected = simulated_nodes(cluster, workload, HEURISTIC)
    assert all(expected), "the instance must let the simulator place every pod"
    workdir = tmp_path_factory.mktemp("parity")
    with started_instance(e2e_binaries, cluster, workload, expected, workdir) as instance:
        yield instance


def _schedule_with(instance: PlaneInstance, serve: Serve, weight: int = 1) -> None:
    instance.plane.start_scheduler(
        render_scheduler_config(
            kubeconfig=str(instance.plane.scheduler_kubeconfig),
            extender=ExtenderSettings(url_prefix=f"{serve.url}/", weight=weight, ignorable=True),
        )
    )


def _relearn_shapes(serve: Serve, observed: int) -> None:
    """Wait until the extender observes exactly ``observed`` pods, then until it has
    relearned its reference shapes from them (a scrape takes a snapshot, which relearns
    them once ``SHAPES_REFRESH_S`` has passed)."""
    wait_until(
        f"the extender observes {observed} pods",
        lambda: (
            True if serve.metric("binforge_cache_objects", kind="observed") == observed else None
        ),
        60.0,
    )
    time.sleep(SHAPES_REFRESH_S + 0.5)
    serve.get("/metrics")


def _pending_with_exact_shapes(
    plane: ControlPlane, serve: Serve, workload: Workload, prefix: str
) -> list[str]:
    """Create ``workload``'s pods while no scheduler runs, and leave the extender with
    their shapes as its reference workload, exactly as the simulator's.

    A relearned reference replaces the current one only when a shape appears or goes or a
    probability drifts by more than 0.01 (``k8s_plugin.cache``), so a reference learned
    from part of an earlier workload with the same shapes could stay. Relearning from no
    pods first makes every shape new: the next reference is taken whole."""
    _relearn_shapes(serve, 0)
    names = create_pods(plane, workload, scheduler_name=BINFORGE_SCHEDULER_NAME, prefix=prefix)
    _relearn_shapes(serve, len(names))
    return names


def _value(prometheus: PrometheusServer, expression: str) -> float:
    """The value of a one-series instant query (0 when it has no series)."""
    series = prometheus.query(expression)
    return float(series[0]["value"][1]) if series else 0.0


def _net_recovered(metric: Callable[..., float]) -> dict[str, float]:
    """Recovered minus lost stranded capacity per resource, read through ``metric``."""
    return {
        r: metric("binforge_counterfactual_recovered_total", resource=r)
        - metric("binforge_counterfactual_lost_total", resource=r)
        for r in RESOURCES
    }


def _mismatches(expected: list[str], actual: list[str]) -> list[tuple[int, str, str]]:
    return [(i, e, a) for i, (e, a) in enumerate(zip(expected, actual, strict=True)) if e != a]


def test_filter_mode_binds_every_pod_where_the_simulator_placed_it(instance: PlaneInstance) -> None:
    plane, workload = instance.plane, instance.workload
    clear_pods(plane)
    serve = Serve.start(plane, instance.workdir, mode="filter", heuristic=HEURISTIC,
                        baseline=BASELINE, log_level="debug")  # fmt: skip
    prometheus = None
    try:
        _schedule_with(instance, serve)
        one_by_one = replay_through_scheduler(
            plane, workload, scheduler_name=BINFORGE_SCHEDULER_NAME, prefix="seq"
        )
        clear_pods(plane)
        in_bursts = replay_through_scheduler(
            plane, workload, scheduler_name=BINFORGE_SCHEDULER_NAME, prefix="burst", burst=BURST
        )
        clear_pods(plane)
        # Every pod pending before kube-scheduler starts: one burst of PODS, and the
        # extender's reference shapes are those of the whole workload at every decision, as
        # in the simulator.
        plane.stop_scheduler()
        names = _pending_with_exact_shapes(plane, serve, workload, prefix="pending")
        net_before = _net_recovered(serve.metric)
        _schedule_with(instance, serve)
        scheduler = plane.scheduler_metrics_url.removeprefix("https://").removesuffix("/metrics")
        prometheus_binary = find_binaries().prometheus
        assert prometheus_binary is not None, "prometheus missing (make e2e-deps)"
        prometheus = PrometheusServer(
            prometheus_binary,
            instance.workdir / "prometheus",
            [
                ScrapeTarget("binforge", (f"127.0.0.1:{serve.port}",)),
                ScrapeTarget("kube-scheduler", (scheduler,), scheme="https",
                             insecure_skip_verify=True),
            ],
        )  # fmt: skip
        placed = plane.wait_for_bindings(names)
        fallbacks = serve.metric("binforge_heuristic_fallbacks_total")
        # binforge's metrics as Prometheus scraped them, once the extender's cache holds
        # every binding (no assumed decisions left) and has decided every pod.
        assert prometheus.wait_for_series(
            f'binforge_cache_objects{{kind="pods"}} == {PODS} '
            'and on() binforge_cache_objects{kind="assumed"} == 0 '
            f"and on() sum(binforge_decisions_total) >= {3 * PODS}"
        )
        scraped = {
            r: _value(prometheus, f'binforge_stranded_capacity{{resource="{r}"}}')
            for r in RESOURCES
        }
        net_after = _net_recovered(
            lambda family, resource: _value(prometheus, f'{family}{{resource="{resource}"}}')
        )
        # kube-scheduler's own count, scraped over HTTPS from the same run.
        prometheus.wait_for_series(f"sum(scheduler_schedule_attempts_total) >= {PODS}")
        attempts = _value(prometheus, "sum(scheduler_schedule_attempts_total)")
        decided = serve.decided_pods()[-PODS:]
    finally:
        if prometheus is not None:
            prometheus.stop()
        serve.stop()
        plane.stop_scheduler()
        clear_pods(plane)
    # A backlog present when kube-scheduler starts is not popped in creation order (its
    # queue orders by priority, then by the time each pod was added, and the initial list
    # adds them in an order of its own): the simulator replays the order the extender saw.
    assert sorted(decided) == sorted(f"default/{name}" for name in names)
    order = np.array([names.index(pod.split("/", 1)[1]) for pod in decided])
    popped = workload.take(order)
    expected_popped = simulated_nodes(instance.cluster, popped, HEURISTIC)
    all_pending = [placed[names[i]] for i in order]
    state = booked_state(instance.cluster, popped, expected_popped)
    amounts = stranded(state, make_context(state, workload))
    simulated = {r: amounts[r] * METRIC_SCALE[r] for r in RESOURCES}
    recovered = {r: net_after[r] - net_before[r] for r in RESOURCES}
    predicted = counterfactual_net(instance.cluster, popped, expected_popped, BASELINE,
                                   reference=workload)  # fmt: skip
    misses = {
        "one by one": _mismatches(instance.expected, one_by_one),
        f"bursts of {BURST}": _mismatches(instance.expected, in_bursts),
        "all pending, in the order popped": _mismatches(expected_popped, all_pending),
    }
    print(
        f"parity {HEURISTIC} filter, {PODS} pods: "
        + ", ".join(f"{k} {PODS - len(v)}/{PODS}" for k, v in misses.items())
        + f"; fallbacks {fallbacks}; stranded: simulator {simulated}, prometheus {scraped}; "
        f"net recovered vs {BASELINE}: simulator {predicted}, prometheus {recovered}; "
        f"scheduler attempts {attempts}; popped in creation order: "
        f"{int((order == np.arange(PODS)).sum())}/{PODS}"
    )
    assert fallbacks == 0
    assert misses == {k: [] for k in misses}
    assert attempts >= PODS
    for r in RESOURCES:
        assert scraped[r] == pytest.approx(simulated[r], rel=1e-9, abs=1e-9), r
        assert recovered[r] == pytest.approx(predicted[r], rel=1e-6, abs=1e-6), r


def test_score_mode_binds_every_pod_to_a_node_the_heuristic_ranks_highest(
    instance: PlaneInstance,
) -> None:
    plane = instance.plane
    clear_pods(plane)
    count = 40
    serve = Serve.start(plane, instance.workdir, mode="score", heuristic=HEURISTIC,
                        baseline=BASELINE)  # fmt: skip
    try:
        # weight 100: the extender's 1..10 (x weight x 10) outweighs the in-tree plugins'
        # 0..200, which only break ties between nodes in the heuristic's top bucket.
        _schedule_with(instance, serve, weight=100)
        bound = replay_through_scheduler(
            plane, instance.workload, scheduler_name=BINFORGE_SCHEDULER_NAME, prefix="score",
            count=count,
        )  # fmt: skip
    finally:
        serve.stop()
        plane.stop_scheduler()
        clear_pods(plane)
    for i, node in enumerate(bound):
        _, scores = heuristic_choice(instance.cluster, instance.workload, bound, i, HEURISTIC)
        state = booked_state(instance.cluster, instance.workload, bound[:i])
        candidates = view(state, pods_of(instance.workload.take(np.array([i])))[0])
        names = [str(instance.cluster.names[j]) for j in candidates.index]
        priorities = to_priorities(scores)
        assert node in names, (i, node)
        assert priorities[names.index(node)] == priorities.max(), (i, node)


def test_an_ignorable_extender_killed_mid_replay_is_skipped_then_obeyed_again(
    instance: PlaneInstance,
) -> None:
    plane = instance.plane
    clear_pods(plane)
    workload, cluster = instance.workload, instance.cluster
    serve = Serve.start(plane, instance.workdir, mode="filter", heuristic=HEURISTIC,
                        baseline=BASELINE)  # fmt: skip
    port = serve.port
    try:
        _schedule_with(instance, serve)
        before = replay_through_scheduler(
            plane, workload, scheduler_name=BINFORGE_SCHEDULER_NAME, prefix="fault", count=20
        )
        serve.stop()
        during = replay_through_scheduler(
            plane, workload, scheduler_name=BINFORGE_SCHEDULER_NAME, prefix="fault",
            first=20, count=10,
        )  # fmt: skip
        serve = Serve.start(plane, instance.workdir, mode="filter", heuristic=HEURISTIC,
                            baseline=BASELINE, port=port)  # fmt: skip
        after = replay_through_scheduler(
            plane, workload, scheduler_name=BINFORGE_SCHEDULER_NAME, prefix="fault",
            first=30, count=20,
        )  # fmt: skip
    finally:
        serve.stop()
        plane.stop_scheduler()
        clear_pods(plane)
    assert before == instance.expected[:20]
    assert len(during) == 10 and set(during) <= set(cluster.names.tolist())
    bound = before + during + after
    # Back, it rebuilt its cache from the API server (including the pods placed without
    # it) and chooses what the heuristic chooses on the real state.
    for i in range(30, 50):
        choice, _ = heuristic_choice(cluster, workload, bound, i, HEURISTIC)
        assert bound[i] == choice, (i, bound[i], choice)


def test_a_heuristic_that_raises_falls_back_to_the_baseline_and_every_pod_is_placed(
    instance: PlaneInstance, tmp_path: Path
) -> None:
    plane = instance.plane
    clear_pods(plane)
    broken = tmp_path / "broken.py"
    broken.write_text(
        '"""A heuristic that always raises."""\n\n\n'
        "def score(pod, nodes, ctx):\n"
        '    raise ValueError("broken on purpose")\n'
    )
    count = 15
    serve = Serve.start(plane, instance.workdir, mode="filter", heuristic=str(broken),
                        baseline=HEURISTIC)  # fmt: skip
    try:
        _schedule_with(instance, serve)
        bound = replay_through_scheduler(
            plane, instance.workload, scheduler_name=BINFORGE_SCHEDULER_NAME, prefix="raise",
            count=count,
        )  # fmt: skip
        fallbacks = serve.metric("binforge_heuristic_fallbacks_total", reason="exception")
        decided = serve.metric("binforge_decisions_total", outcome="fallback")
    finally:
        serve.stop()
        plane.stop_scheduler()
        clear_pods(plane)
    assert fallbacks >= count
    assert decided >= count
    # The baseline answered every pod: the simulator's placements under the baseline.
    assert bound == instance.expected[:count]


def test_after_the_apiserver_restarts_the_extenders_cache_recovers_and_stays_correct(
    instance: PlaneInstance,
) -> None:
    """kube-apiserver is stopped and started again mid-replay (every watch breaks), and
    pods are deleted right after it returns, before the watches have resumed; the next
    pods still go where the heuristic puts them on the real remaining state."""
    plane, workload, cluster = instance.plane, instance.workload, instance.cluster
    clear_pods(plane)
    serve = Serve.start(plane, instance.workdir, mode="filter", heuristic=HEURISTIC,
                        baseline=BASELINE)  # fmt: skip
    try:
        _schedule_with(instance, serve)
        bound = replay_through_scheduler(
            plane, workload, scheduler_name=BINFORGE_SCHEDULER_NAME, prefix="watch", count=30
        )
        restarts_before = serve.metric("binforge_watch_restarts_total")
        plane.restart_apiserver()
        deleted = range(0, 30, 3)
        for i in deleted:
            plane.delete_pod(f"watch-{i:04d}")
        bound += replay_through_scheduler(
            plane, workload, scheduler_name=BINFORGE_SCHEDULER_NAME, prefix="watch",
            first=30, count=30,
        )  # fmt: skip
        restarts = serve.metric("binforge_watch_restarts_total") - restarts_before
        fallbacks = serve.metric("binforge_heuristic_fallbacks_total")
    finally:
        serve.stop()
        plane.stop_scheduler()
        clear_pods(plane)
    assert bound[:30] == instance.expected[:30]
    remaining = ["" if i in deleted else node for i, node in enumerate(bound)]
    for i in range(30, 60):
        choice, _ = heuristic_choice(cluster, workload, remaining, i, HEURISTIC)
        assert bound[i] == choice, (i, bound[i], choice)
    assert restarts >= 1
    assert fallbacks == 0


def test_fgd_in_filter_mode_binds_every_pod_where_the_simulator_placed_it(
    instance: PlaneInstance,
) -> None:
    """FGD's choices depend on the reference workload, which the extender learns from the
    pods it observes: with all ``FGD_PODS`` pods observed (and relearned) before
    kube-scheduler starts, its reference equals the simulator's. In the order the pods
    were popped, every binding is the node FGD scores best on the real state
    (``heuristic_choice``, the simulator's code), and the simulator places every pod on
    the same node. Fragmentation is exact (``heuristics._fgd_math.SCALE``), so nodes in
    the same situation tie exactly in both, and both take the lowest index."""
    plane, cluster = instance.plane, instance.cluster
    workload = instance.workload.take(np.arange(FGD_PODS))
    clear_pods(plane)
    serve = Serve.start(plane, instance.workdir, mode="filter", heuristic="fgd",
                        baseline=BASELINE, log_level="debug")  # fmt: skip
    try:
        plane.stop_scheduler()
        names = _pending_with_exact_shapes(plane, serve, workload, prefix="fgd")
        _schedule_with(instance, serve)
        placed = plane.wait_for_bindings(names)
        decided = serve.decided_pods()
        fallbacks = serve.metric("binforge_heuristic_fallbacks_total")
    finally:
        serve.stop()
        plane.stop_scheduler()
        clear_pods(plane)
    assert sorted(decided) == sorted(f"default/{name}" for name in names)
    order = np.array([names.index(pod.split("/", 1)[1]) for pod in decided])
    popped = workload.take(order)
    actual = [placed[names[i]] for i in order]
    pod_for_pod = _mismatches(simulated_nodes(cluster, popped, "fgd"), actual)
    for i, node in enumerate(actual):
        choice, _ = heuristic_choice(cluster, popped, actual, i, "fgd")
        assert node == choice, (i, node, choice)
    print(
        f"parity fgd filter, {FGD_PODS} pods all pending: FGD's best node "
        f"{FGD_PODS}/{FGD_PODS}, pod for pod {FGD_PODS - len(pod_for_pod)}/{FGD_PODS}"
    )
    assert pod_for_pod == []
    assert fallbacks == 0
