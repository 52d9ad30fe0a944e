"""The extender over real HTTP on 127.0.0.1: decisions agree with the simulator's code,
heuristics that misbehave fall back to the baseline, metrics are exported, and bad
requests get a 4xx with an error body."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from extender_apiserver import node
from extender_apiserver import pod as bound_pod
from extender_cluster import HEURISTIC, args, cache_for, dumps, extender, over_http, pending_pod
from prometheus_client import CollectorRegistry

from heuristics.contract import choose
from heuristics.feasibility import allocate, view
from heuristics.registry import resolve
from k8s_plugin.cache import MAX_GPUS_PER_NODE, ClusterCache
from k8s_plugin.config import ExtenderConfig
from k8s_plugin.resources import pod_requests
from k8s_plugin.server import build_app, build_extender
from simulator import metrics as sim_metrics

NAMES = ["a", "b", "c", "d"]


def _filter_config(**changes: object) -> ExtenderConfig:
    defaults: dict[str, object] = {
        "mode": "filter",
        "heuristic": "best-fit",
        "baseline": "first-fit",
    }
    return ExtenderConfig(**{**defaults, **changes})  # type: ignore[arg-type]


def _heuristic_file(tmp_path: Path, body: str) -> str:
    path = tmp_path / "candidate.py"
    path.write_text(f"import numpy as np\n\n\ndef score(pod, nodes, ctx):\n{body}\n")
    return str(path)


def test_filter_choice_is_the_simulators_choice_for_every_registered_baseline() -> None:
    for name in ("best-fit", "fgd", "worst-fit", "kube-default", "tetris"):
        config = _filter_config(heuristic=name)
        cache = cache_for(config)
        snapshot = cache.snapshot()
        pod = pending_pod(cpu="3", memory="6Gi")
        requests = pod_requests(pod, config)
        nodes = view(snapshot.state, requests.fit)
        expected = str(
            snapshot.state.names[
                choose(resolve(name).heuristic(requests.score, nodes, snapshot.ctx), nodes)
            ]
        )
        ext = build_extender(config, CollectorRegistry(), cache)
        reply = ext.filter(dumps(args(pod, NAMES)))
        assert reply.document["NodeNames"] == [expected], name


def test_health_readiness_and_metrics_endpoints() -> None:
    config = _filter_config()
    registry = CollectorRegistry()
    cache = ClusterCache(config)
    ext = build_extender(config, registry, cache)

    async def session(client: TestClient) -> list[int]:
        codes = [(await client.get("/healthz")).status, (await client.get("/readyz")).status]
        cache.replace("nodes", [])
        cache.replace("pods", [])
        codes.append((await client.get("/readyz")).status)
        metrics = await client.get("/metrics")
        assert "binforge_heuristic_info" in await metrics.text()
        codes.append(metrics.status)
        return codes

    assert over_http(ext, registry, session) == [200, 503, 200, 200]


def test_before_the_cache_syncs_every_node_passes_and_it_is_counted() -> None:
    config = _filter_config()
    registry = CollectorRegistry()
    ext = build_extender(config, registry, ClusterCache(config))
    reply = ext.filter(dumps(args(pending_pod(), NAMES)))
    assert reply.document["NodeNames"] == NAMES
    assert (
        registry.get_sample_value(
            "binforge_decisions_total", {"mode": "filter", "outcome": "not_ready"}
        )
        == 1
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("    raise ValueError('boom')", "exception"),
        ("    return np.full(len(nodes), np.nan)", "nan"),
        ("    return np.zeros(len(nodes) + 1)", "shape"),
        (
            "    x = 0\n    for i in range(3000000):\n        x += i\n    return np.zeros(len(nodes))",
            "timeout",
        ),
    ],
)
def test_a_misbehaving_heuristic_falls_back_to_the_baseline(
    tmp_path: Path, body: str, reason: str
) -> None:
    config = _filter_config(heuristic=_heuristic_file(tmp_path, body), heuristic_timeout_ms=5)
    registry = CollectorRegistry()
    ext = extender(config, registry)
    reply = ext.filter(dumps(args(pending_pod(), NAMES)))
    # first-fit (the baseline) takes the lowest-index feasible node.
    assert reply.status == 200
    assert reply.document["NodeNames"] == ["a"]
    assert registry.get_sample_value("binforge_heuristic_fallbacks_total", {"reason": reason}) == 1
    assert (
        registry.get_sample_value(
            "binforge_decisions_total", {"mode": "filter", "outcome": "fallback"}
        )
        == 1
    )


def test_when_the_baseline_fails_too_the_log_says_so_instead_of_blaming_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    failing = tmp_path / "failing_baseline.py"
    failing.write_text("def score(pod, nodes, ctx):\n    raise ValueError('baseline boom')\n")
    heuristic = _heuristic_file(tmp_path, "    raise ValueError('boom')")
    config = _filter_config(heuristic=heuristic, baseline=str(failing))
    registry = CollectorRegistry()
    ext = extender(config, registry)
    with caplog.at_level("WARNING", logger="k8s_plugin"):
        reply = ext.filter(dumps(args(pending_pod(), NAMES)))
    assert reply.status == 200
    assert reply.document["NodeNames"] == NAMES  # no preference: every feasible node passes
    assert (
        registry.get_sample_value(
            "binforge_heuristic_fallbacks_total", {"reason": "baseline_failed"}
        )
        == 1
    )
    assert (
        registry.get_sample_value(
            "binforge_decisions_total", {"mode": "filter", "outcome": "error"}
        )
        == 1
    )
    (record,) = [r for r in caplog.records if "failed" in r.getMessage()]
    assert record.levelname == "ERROR"
    assert f"baseline {failing} both failed" in record.getMessage()
    assert "answered by the baseline" not in record.getMessage()


def test_stranded_capacity_gauges_equal_the_simulators_metrics() -> None:
    config = _filter_config()
    registry = CollectorRegistry()
    cache = cache_for(config)
    build_extender(config, registry, cache)
    snapshot = cache.snapshot()
    expected = sim_metrics.stranded(snapshot.state, snapshot.ctx)
    shares = sim_metrics.stranded_share(snapshot.state, snapshot.ctx)
    gpu = registry.get_sample_value("binforge_stranded_capacity", {"resource": "gpu"})
    assert gpu == pytest.approx(expected["gpu"] / 1000)
    assert registry.get_sample_value(
        "binforge_stranded_capacity", {"resource": "cpu"}
    ) == pytest.approx(expected["cpu"] / 1000)
    assert registry.get_sample_value(
        "binforge_stranded_capacity_share", {"resource": "memory"}
    ) == pytest.approx(shares["memory"])
    per_pool = sum(
        registry.get_sample_value(
            "binforge_stranded_capacity_by_pool", {"resource": "memory", "pool": pool}
        )
        or 0.0
        for pool in ("train", "cpu")
    )
    assert per_pool == pytest.approx(expected["memory"] * 2**20)
    assert expected["memory"] > 0


def test_counterfactual_counts_the_stranded_difference_against_the_baseline() -> None:
    config = _filter_config(heuristic="worst-fit", baseline="best-fit")
    registry = CollectorRegistry()
    cache = cache_for(config)
    ext = build_extender(config, registry, cache)
    snapshot = cache.snapshot()
    pod = pending_pod(cpu="3", memory="6Gi")
    fit = pod_requests(pod, config).fit
    after = {}
    for name in ("worst-fit", "best-fit"):
        nodes = view(snapshot.state, fit)
        state = copy.deepcopy(snapshot.state)
        allocate(state, choose(resolve(name).heuristic(fit, nodes, snapshot.ctx), nodes), fit)
        after[name] = sim_metrics.stranded(state, snapshot.ctx)
    ext.filter(dumps(args(pod, NAMES)))
    net_cpu = (
        registry.get_sample_value("binforge_counterfactual_recovered_total", {"resource": "cpu"})
        or 0.0
    ) - (
        registry.get_sample_value("binforge_counterfactual_lost_total", {"resource": "cpu"}) or 0.0
    )
    assert net_cpu == pytest.approx((after["best-fit"]["cpu"] - after["worst-fit"]["cpu"]) / 1000)
    assert after["best-fit"]["cpu"] != after["worst-fit"]["cpu"]


def test_assumed_decisions_keep_a_burst_off_stale_state() -> None:
    config = _filter_config(heuristic="best-fit")
    ext = extender(config)
    chosen = []
    for i in range(3):
        pod = pending_pod(cpu="3", memory="6Gi")
        pod["metadata"]["name"] = f"burst-{i}"
        chosen.append(ext.filter(dumps(args(pod, ["a", "c"]))).document["NodeNames"])
    # a has 4 free cores and c has 3: one pod each, then nothing fits.
    assert sorted(chosen[:2]) == [["a"], ["c"]]
    assert chosen[2] == []


def test_a_retried_pod_replaces_its_own_assumption() -> None:
    ext = extender(_filter_config(heuristic="best-fit"))
    first = ext.filter(dumps(args(pending_pod(cpu="3", memory="6Gi"), ["a"]))).document
    again = ext.filter(dumps(args(pending_pod(cpu="3", memory="6Gi"), ["a"]))).document
    assert first["NodeNames"] == again["NodeNames"] == ["a"]


def test_a_pod_without_requests_is_scored_with_upstream_defaults() -> None:
    ext = extender(_filter_config(mode="score"))
    pod = pending_pod()
    pod["spec"]["containers"][0]["resources"] = {}
    reply = ext.prioritize(dumps(args(pod, NAMES)))
    assert reply.status == 200
    assert all(1 <= entry["Score"] <= 10 for entry in reply.document)


def test_the_heuristic_reloads_when_its_file_changes(tmp_path: Path) -> None:
    path = _heuristic_file(tmp_path, "    return -nodes.cpu_free.astype(float)")
    config = _filter_config(heuristic=path)
    registry = CollectorRegistry()
    ext = extender(config, registry)
    assert ext.filter(dumps(args(pending_pod(), NAMES))).document["NodeNames"] == ["c"]
    Path(path).write_text(
        "import numpy as np\n\n\ndef score(pod, nodes, ctx):\n    return nodes.cpu_free.astype(float)\n"
    )
    os.utime(path, (1, 1))
    assert ext.slot.file_changed()
    assert ext.slot.reload()
    assert ext.filter(dumps(args(pending_pod(), NAMES))).document["NodeNames"] == ["d"]


def test_an_unsafe_reload_keeps_the_current_heuristic(tmp_path: Path) -> None:
    path = _heuristic_file(tmp_path, "    return -nodes.cpu_free.astype(float)")
    ext = extender(_filter_config(heuristic=path))
    Path(path).write_text(
        "import os\n\n\ndef score(pod, nodes, ctx):\n    return os.system('true')\n"
    )
    assert not ext.slot.reload()
    assert ext.filter(dumps(args(pending_pod(), NAMES))).document["NodeNames"] == ["c"]


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b"{not json", 400, "expected JSON"),
        (b"[]", 400, "expected an ExtenderArgs object"),
        (b'{"Pod": {}}', 400, "expected Nodes or NodeNames"),
        (b'{"Pod": 3, "NodeNames": []}', 400, "Pod: expected a Pod object"),
        (b'{"Pod": {}, "NodeNames": ["a", "a"]}', 400, "unique node names"),
        (b'{"Pod": {}, "NodeNames": [1]}', 400, "NodeNames[0]"),
        (
            dumps(
                {
                    "Pod": {
                        "spec": {"containers": [{"resources": {"requests": {"cpu": "1e400"}}}]}
                    },
                    "NodeNames": ["a"],
                }
            ),
            400,
            "cpu",
        ),
    ],
)
def test_bad_requests_get_a_4xx_with_an_error_body(body: bytes, status: int, fragment: str) -> None:
    config = _filter_config()
    registry = CollectorRegistry()
    ext = extender(config, registry)

    async def session(client: TestClient) -> tuple[int, dict[str, str]]:
        response = await client.post("/filter", data=body)
        return response.status, json.loads(await response.text())

    code, document = over_http(ext, registry, session)
    assert code == status
    assert fragment in document["Error"]


def test_an_oversized_body_gets_413() -> None:
    config = _filter_config(max_request_bytes=1024)
    registry = CollectorRegistry()
    ext = extender(config, registry)

    async def session(client: TestClient) -> int:
        response = await client.post("/prioritize", data=b"x" * 4096)
        return response.status

    assert over_http(ext, registry, session) == 413


def test_request_latency_is_recorded_per_verb() -> None:
    registry = CollectorRegistry()
    ext = extender(_filter_config(), registry)
    ext.filter(dumps(args(pending_pod(), NAMES)))
    ext.prioritize(dumps(args(pending_pod(), NAMES)))
    for verb in ("filter", "prioritize"):
        assert (
            registry.get_sample_value("binforge_request_duration_seconds_count", {"verb": verb})
            == 1
        )
    assert np.isfinite(
        registry.get_sample_value("binforge_request_duration_seconds_sum", {"verb": "filter"})
        or np.nan
    )


def test_the_served_heuristic_identity_is_exported() -> None:
    registry = CollectorRegistry()
    extender(_filter_config(heuristic=HEURISTIC), registry)
    labels = {
        "name": "cpu_best_fit",
        "spec": HEURISTIC,
        "baseline": "first-fit",
    }
    samples = [s for m in registry.collect() if m.name == "binforge_heuristic" for s in m.samples]
    assert len(samples) == 1
    assert {k: samples[0].labels[k] for k in labels} == labels
    assert len(samples[0].labels["sha256"]) == 64


def test_prioritize_after_filter_does_not_count_the_pods_own_assumption() -> None:
    ext = extender(_filter_config(heuristic="best-fit"))
    request = dumps(args(pending_pod(cpu="4", memory="6Gi"), ["a", "d"]))
    chosen = ext.filter(request).document["NodeNames"]
    assert chosen == ["a"]  # a has exactly 4 free cores: the best fit
    scores = {entry["Host"]: entry["Score"] for entry in ext.prioritize(request).document}
    # Scored as if the pod were not yet placed: a still fits and is still the best.
    assert scores == {"a": 10, "d": 1}
    assert ext.cache is not None and ext.cache.sizes()["assumed"] == 1


@pytest.mark.parametrize("mode", ["filter", "score"])
def test_failed_nodes_explain_a_pod_only_when_it_fits_nowhere(mode: str) -> None:
    ext = extender(_filter_config(mode=mode))
    # 10 cores fit only b (16, one pod of 2 bound) and d (32, two of 1): a and c are
    # left out without a reason (kube-scheduler reads reasons only for a pod that fits
    # nowhere), the unknown node is always named.
    fits_some = ext.filter(dumps(args(pending_pod(cpu="10", memory="8Gi"), [*NAMES, "zz"])))
    assert set(fits_some.document["NodeNames"]) <= {"b", "d"}
    assert fits_some.document["FailedNodes"] == {
        "zz": "binforge: unknown node (not in the extender's node cache)"
    }
    # 64 cores fit nowhere: every node gets a reason naming what it lacks.
    nowhere = ext.filter(dumps(args(pending_pod(cpu="64", memory="8Gi"), NAMES)))
    assert nowhere.document["NodeNames"] == []
    reasons = nowhere.document["FailedNodes"]
    assert set(reasons) == set(NAMES)
    assert all(reason.startswith("binforge: ") and "cpu" in reason for reason in reasons.values())


def test_the_server_scores_the_reference_shapes_before_pods_of_those_shapes_arrive() -> None:
    import asyncio

    from heuristics._fgd_memo import memo_for
    from k8s_plugin.server import reference_pods, warm_reference_shapes

    ext = extender(_filter_config(heuristic="fgd"))
    ctx = ext.cache.snapshot().ctx  # type: ignore[union-attr]
    pods = reference_pods(ctx)
    assert len(pods) == len(ctx.shape_probability) >= 2
    assert pods[0].cpu_milli == int(ctx.shape_cpu_milli[np.argmax(ctx.shape_probability)])

    async def warm_for_a_moment() -> None:
        task = asyncio.create_task(warm_reference_shapes(ext, poll_s=0.01))
        await asyncio.sleep(0.3)
        task.cancel()

    asyncio.run(warm_for_a_moment())
    snapshot = ext.cache.snapshot()  # type: ignore[union-attr]
    remembered = memo_for(snapshot.state, snapshot.ctx)._after  # FGD's per-shape memo
    hostable = [p for p in pods if len(view(snapshot.state, p))]
    assert hostable
    for pod in hostable:
        assert (pod.cpu_milli, pod.memory_mib, pod.num_gpu, pod.gpu_milli) in remembered


def _request_nodes_config(mode: str, **changes: object) -> ExtenderConfig:
    return _filter_config(mode=mode, watch=False, node_cache_capable=False, **changes)


def _full_nodes(pod_object: dict[str, Any], nodes: list[dict[str, Any]]) -> bytes:
    return dumps({"Pod": pod_object, "Nodes": {"metadata": {}, "items": nodes}})


@pytest.mark.parametrize(
    ("allocatable", "memory"), [("1G", "1G"), ("1500Ki", "1200Ki"), ("10G", "10G")]
)
def test_a_pod_that_fits_a_node_in_bytes_passes_the_filter(allocatable: str, memory: str) -> None:
    ext = extender(_request_nodes_config("filter"))
    reply = ext.filter(
        _full_nodes(pending_pod(cpu="1", memory=memory), [node("n", memory=allocatable)])
    )
    assert reply.document["FailedNodes"] == {}
    assert [n["metadata"]["name"] for n in reply.document["Nodes"]["items"]] == ["n"]


def test_a_nearly_full_node_still_takes_the_pod_that_fills_it() -> None:
    config = _filter_config()
    cache = ClusterCache(config)
    cache.replace("nodes", [node("n", cpu="64", memory="10G")])
    cache.replace("pods", [bound_pod(f"p{i}", memory="1G", node_name="n") for i in range(9)])
    ext = build_extender(config, CollectorRegistry(), cache)
    reply = ext.filter(dumps(args(pending_pod(cpu="1", memory="1G"), ["n"])))
    assert (reply.document["NodeNames"], reply.document["FailedNodes"]) == (["n"], {})


def _gpu_nodes() -> list[dict[str, Any]]:
    return [node("ok", cpu="64", memory="256Gi", gpus=8), node("absurd", gpus=50_000)]


def test_a_node_with_more_gpus_than_binforge_models_fails_the_filter_with_the_reason() -> None:
    ext = extender(_request_nodes_config("filter"))
    reply = ext.filter(_full_nodes(pending_pod(), _gpu_nodes()))
    assert [n["metadata"]["name"] for n in reply.document["Nodes"]["items"]] == ["ok"]
    assert reply.document["FailedNodes"] == {
        "absurd": f"binforge: nvidia.com/gpu: 50000 GPUs, more than the {MAX_GPUS_PER_NODE} "
        "per node binforge models"
    }


def test_in_score_mode_a_node_binforge_does_not_model_passes_and_scores_0() -> None:
    ext = extender(_request_nodes_config("score"))
    request = _full_nodes(pending_pod(), _gpu_nodes())
    filtered = ext.filter(request).document
    assert [n["metadata"]["name"] for n in filtered["Nodes"]["items"]] == ["ok", "absurd"]
    assert filtered["FailedNodes"] == {}
    assert ext.prioritize(request).document == [
        {"Host": "ok", "Score": 10},
        {"Host": "absurd", "Score": 0},
    ]


def test_fgd_scores_a_node_with_the_most_gpus_binforge_models() -> None:
    registry = CollectorRegistry()
    ext = extender(_request_nodes_config("score", heuristic="fgd"), registry)
    nodes = [node(f"n{i}", gpus=8) for i in range(99)] + [node("big", gpus=MAX_GPUS_PER_NODE)]
    scores = ext.prioritize(_full_nodes(pending_pod(), nodes)).document
    assert len(scores) == 100 and all(entry["Score"] > 0 for entry in scores)
    assert (
        registry.get_sample_value("binforge_heuristic_fallbacks_total", {"reason": "exception"})
        is None
    )


def test_the_watch_cache_leaves_a_node_with_absurdly_many_gpus_out_of_the_node_state() -> None:
    config = _filter_config()
    cache = ClusterCache(config)
    cache.replace("nodes", _gpu_nodes())
    cache.replace("pods", [bound_pod("bound", gpus=1, node_name="absurd")])
    assert cache.snapshot().state.gpu_free_milli.shape == (1, 8)
    ext = build_extender(config, CollectorRegistry(), cache)
    reply = ext.filter(dumps(args(pending_pod(), ["ok", "absurd"])))
    assert reply.document["NodeNames"] == ["ok"]
    assert "50000 GPUs" in reply.document["FailedNodes"]["absurd"]


def test_a_client_that_leaves_mid_body_is_not_logged_as_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = CollectorRegistry()
    app = build_app(extender(_filter_config(), registry), registry)

    async def main() -> None:
        # Served as `binforge serve` serves it (the test server cancels handlers instead).
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b'POST /filter HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"Pod"')
            await writer.drain()
            await asyncio.sleep(0.2)  # the handler is waiting for the rest of the body
            writer.close()
            await writer.wait_closed()
            await asyncio.sleep(0.2)  # the server notices the lost connection
        finally:
            await runner.cleanup()

    with caplog.at_level(logging.DEBUG):
        asyncio.run(main())
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert any("client disconnected" in r.getMessage() for r in caplog.records)
