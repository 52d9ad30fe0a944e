"""The extender's watch cache follows the API server: lists, watch events, dropped
connections and 410 Gone, against recorded responses served on 127.0.0.1 and read by the
real kubernetes client."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from extender_apiserver import RecordedApiServer, Script, event, listing, node, pod
from kubernetes import client
from prometheus_client import CollectorRegistry

from heuristics.contract import Pod
from k8s_plugin.cache import ClusterCache
from k8s_plugin.config import ExtenderConfig
from k8s_plugin.metrics import ExtenderMetrics
from k8s_plugin.watch import Watcher

CONFIG = ExtenderConfig(watch_backoff_initial_s=0.01, watch_backoff_max_s=0.05, watch_timeout_s=5)


def _api(url: str) -> client.ApiClient:
    configuration = client.Configuration()
    configuration.host = url
    return client.ApiClient(configuration)


def _until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError("condition not reached within the timeout")


def test_cache_follows_watch_events_through_a_dropped_connection_and_410_gone() -> None:
    nodes = Script(
        lists=[
            listing("NodeList", [node("n1"), node("n2")], "10"),
            listing("NodeList", [node("n1"), node("n3", cpu="16")], "30"),
        ],
        watches=[
            ([event("ADDED", node("n4", version="11"))], "drop"),
            ([event("DELETED", node("n2", version="12"))], "gone"),
        ],
    )
    pods = Script(
        lists=[listing("PodList", [pod("a", cpu="2", node_name="n1")], "10")],
        watches=[
            (
                [
                    event("ADDED", pod("b", cpu="500m", node_name="n1", version="11")),
                    event(
                        "MODIFIED",
                        pod("a", cpu="2", node_name="n1", phase="Succeeded", version="12"),
                    ),
                    event("ADDED", pod("pending", cpu="1")),
                    {
                        "type": "BOOKMARK",
                        "object": {"kind": "Pod", "metadata": {"resourceVersion": "20"}},
                    },
                ],
                "end",
            )
        ],
    )
    registry = CollectorRegistry()
    cache = ClusterCache(CONFIG)
    metrics = ExtenderMetrics(registry, sizes=cache.sizes)
    with RecordedApiServer({"nodes": nodes, "pods": pods}) as server:
        watcher = Watcher(
            _api(server.url),
            cache,
            CONFIG,
            on_restart=lambda r, why: metrics.watch_restarts.labels(r, why).inc(),
        )
        watcher.start()
        try:
            _until(lambda: cache.synced and cache.node_names() == {"n1", "n3"})
            _until(lambda: cache.sizes()["pods"] == 1)
        finally:
            watcher.stop()
    # The drop resumed the watch from the last version seen; the 410 relisted.
    assert nodes.calls[:4] == [("list", ""), ("watch", "10"), ("watch", "11"), ("list", "")]
    assert (
        registry.get_sample_value(
            "binforge_watch_restarts_total", {"resource": "nodes", "reason": "error"}
        )
        == 1
    )
    assert (
        registry.get_sample_value(
            "binforge_watch_restarts_total", {"resource": "nodes", "reason": "gone"}
        )
        == 1
    )
    snapshot = cache.snapshot()
    n1 = snapshot.index_of["n1"]
    # Only pod b (500m) is bound and running on n1; a Succeeded pod frees its requests.
    assert int(snapshot.state.cpu_free[n1]) == 8000 - 500
    assert int(snapshot.state.cpu_total[snapshot.index_of["n3"]]) == 16000
    assert registry.get_sample_value("binforge_cache_objects", {"kind": "nodes"}) == 2
    # A watch that ends resumes from the last version seen, a bookmark's included.
    assert pods.calls[:3] == [("list", ""), ("watch", "10"), ("watch", "20")]


def test_readiness_waits_for_both_lists() -> None:
    cache = ClusterCache(CONFIG)
    assert not cache.synced
    cache.replace("nodes", [node("n1")])
    assert not cache.synced
    cache.replace("pods", [])
    assert cache.synced


def test_assumed_pod_is_held_until_the_watch_binds_it() -> None:
    cache = ClusterCache(CONFIG)
    cache.replace("nodes", [node("n1", cpu="4")])
    cache.replace("pods", [])
    cache.assume("default/p", "n1", Pod(cpu_milli=1000, memory_mib=100))
    assert int(cache.snapshot().state.cpu_free[0]) == 3000
    cache.apply_pod("ADDED", pod("p", cpu="1", memory="100Mi", node_name="n1"))
    # Bound now: counted once, not twice.
    assert cache.sizes()["assumed"] == 0
    assert int(cache.snapshot().state.cpu_free[0]) == 3000


def test_assumed_pod_expires_after_its_ttl() -> None:
    now = [0.0]
    cache = ClusterCache(ExtenderConfig(assumed_pod_ttl_s=30), clock=lambda: now[0])
    cache.replace("nodes", [node("n1", cpu="4")])
    cache.replace("pods", [])
    cache.assume("default/p", "n1", Pod(cpu_milli=1000, memory_mib=100))
    now[0] = 29.0
    assert int(cache.snapshot().state.cpu_free[0]) == 3000
    now[0] = 30.0
    assert int(cache.snapshot().state.cpu_free[0]) == 4000
    assert cache.sizes()["assumed"] == 0


def test_reference_shapes_are_learned_from_observed_pods() -> None:
    cache = ClusterCache(CONFIG)
    cache.replace("nodes", [node("n1", cpu="64", memory="256Gi", gpus=8)])
    pods = [pod(f"p{i}", cpu="1", memory="1Gi", gpus=1) for i in range(9)]
    pods.append(pod("odd", cpu="3", memory="2Gi"))
    cache.replace("pods", pods)
    ctx = cache.snapshot().ctx
    assert ctx.shape_cpu_milli.tolist()[0] == 1000
    assert ctx.shape_num_gpu.tolist()[0] == 1
    assert ctx.shape_probability[0] == pytest.approx(0.9)
    assert cache.sizes() == {"nodes": 1, "pods": 0, "assumed": 0, "observed": 10, "shapes": 2}


def test_observed_pods_count_pending_and_bound_pods_until_they_end_or_go() -> None:
    cache = ClusterCache(CONFIG)
    cache.replace("nodes", [node("n1")])
    cache.replace("pods", [pod("pending"), pod("bound", node_name="n1")])
    assert (cache.sizes()["observed"], cache.sizes()["pods"]) == (2, 1)
    cache.apply_pod("MODIFIED", pod("bound", node_name="n1", phase="Succeeded"))
    cache.apply_pod("DELETED", pod("pending"))
    assert (cache.sizes()["observed"], cache.sizes()["pods"]) == (0, 0)


def test_overcommitted_node_is_marked_full_not_rejected() -> None:
    cache = ClusterCache(CONFIG)
    cache.replace("nodes", [node("n1", cpu="1")])
    cache.replace("pods", [pod("big", cpu="2", node_name="n1")])
    state = cache.snapshot().state
    assert int(state.cpu_free[0]) == 0
    assert int(state.pods[0]) == 1


def test_malformed_objects_are_skipped_and_counted() -> None:
    cache = ClusterCache(CONFIG)
    cache.replace("nodes", [node("n1", cpu="lots"), node("n2")])
    assert cache.node_names() == {"n2"}
    assert cache.rejected_objects == 1


def test_node_heartbeats_do_not_rebuild_the_node_state() -> None:
    cache = ClusterCache(CONFIG)
    cache.replace("nodes", [node("n1")])
    cache.replace("pods", [pod("a", node_name="n1")])
    cache.snapshot()
    rebuilds = cache.rebuilds
    cache.apply_node("MODIFIED", node("n1", version="2"))
    cache.apply_pod("ADDED", pod("b", cpu="2", node_name="n1"))
    state = cache.snapshot().state
    assert cache.rebuilds == rebuilds
    assert int(state.cpu_free[0]) == 8000 - 1000 - 2000
    cache.apply_node("MODIFIED", node("n1", cpu="16", version="3"))
    assert int(cache.snapshot().state.cpu_free[0]) == 16000 - 3000
    assert cache.rebuilds == rebuilds + 1


def test_a_deleted_pod_gives_its_capacity_back() -> None:
    cache = ClusterCache(CONFIG)
    cache.replace("nodes", [node("n1")])
    cache.replace("pods", [pod("a", cpu="3", node_name="n1")])
    assert int(cache.snapshot().state.cpu_free[0]) == 5000
    cache.apply_pod("DELETED", pod("a", cpu="3", node_name="n1"))
    assert int(cache.snapshot().state.cpu_free[0]) == 8000
    assert cache.sizes()["pods"] == 0


def test_a_forced_booking_keeps_the_gpu_totals_consistent() -> None:
    cache = ClusterCache(CONFIG)
    cache.replace("nodes", [node("g1", gpus=1)])
    cache.replace("pods", [pod("a", gpus=1, node_name="g1"), pod("b", gpus=1, node_name="g1")])
    state = cache.snapshot().state
    assert int(state.gpu_free[0]) == int(state.gpu_free_milli[0].sum()) == 0
    assert int(state.pods[0]) == 2
    # Deleting the forced pod rebuilds the state exactly.
    cache.apply_pod("DELETED", pod("b", gpus=1, node_name="g1"))
    state = cache.snapshot().state
    assert int(state.pods[0]) == 1
    assert int(state.gpu_free[0]) == 0
    cache.apply_pod("DELETED", pod("a", gpus=1, node_name="g1"))
    assert int(cache.snapshot().state.gpu_free[0]) == 1000


def test_the_reference_context_is_kept_until_the_pod_mix_really_moves() -> None:
    # Every new context starts FGD's memo afresh; a pod more or less of a known shape
    # must not cost that, a new shape or a shifted mix must.
    now = [0.0]
    cache = ClusterCache(CONFIG, clock=lambda: now[0])
    cache.replace("nodes", [node("n1", cpu="64", memory="256Gi", gpus=8)])
    cache.replace("pods", [pod(f"p{i}", cpu="1", memory="1Gi", gpus=1) for i in range(60)])
    learned = cache.snapshot().ctx
    assert learned.shape_probability.tolist() == [1.0]

    cache.apply_pod("ADDED", pod("p60", cpu="1", memory="1Gi", gpus=1))
    now[0] = 10.0
    assert cache.snapshot().ctx is learned  # same shape, same mix

    for i in range(40):
        cache.apply_pod("ADDED", pod(f"web-{i}", cpu="2", memory="4Gi"))
    now[0] = 20.0
    relearned = cache.snapshot().ctx
    assert relearned is not learned
    assert sorted(relearned.shape_probability.tolist()) == pytest.approx([40 / 101, 61 / 101])
