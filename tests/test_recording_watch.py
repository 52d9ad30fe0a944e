"""The recorder follows a live cluster through the extender's list-watch without losing or
doubling an event: a connection dropped mid-stream resumes from the last resourceVersion, a
replayed event is written once, a 410 Gone relists and the relist is diffed against what was
recorded. Served by a recorded API server on 127.0.0.1 and read by the real kubernetes client."""

from __future__ import annotations

import json
import re
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from extender_apiserver import RecordedApiServer, Script, event, listing, node, pod
from kubernetes import client

from binforge.cli import main
from cluster_traces.recording import load_recording
from cluster_traces.recording_writer import RecordingWriter
from k8s_plugin.cache import ClusterCache
from k8s_plugin.config import ExtenderConfig
from k8s_plugin.recorder import Recorder, Tee, recording_sink
from k8s_plugin.watch import Watcher

CONFIG = ExtenderConfig(watch_backoff_initial_s=0.01, watch_backoff_max_s=0.05, watch_timeout_s=5)


def _pod(name: str, namespace: str = "default", **fields: Any) -> dict[str, Any]:
    obj = pod(name, **fields)
    obj["metadata"] |= {"uid": f"uid-{name}", "namespace": namespace}
    obj["spec"]["schedulerName"] = "binforge"
    return obj


def _until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError("condition not reached within the timeout")


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_recording_survives_a_dropped_watch_and_410_gone_without_loss_or_duplicates(
    tmp_path: Path,
) -> None:
    nodes = Script(
        lists=[listing("NodeList", [node("n1"), node("n2", gpus=4, pool="gpu")], "10")],
        watches=[
            (
                [
                    event("MODIFIED", node("n1", version="11")),  # a heartbeat: nothing new
                    event("ADDED", node("n3", cpu="16", version="12")),
                ],
                "end",
            )
        ],
    )
    pods = Script(
        lists=[
            listing("PodList", [_pod("a", node_name="n1", version="100")], "100"),
            listing(
                "PodList",
                [
                    _pod("b", node_name="n2", version="102"),
                    _pod("c", phase="Pending", version="103"),
                    _pod("d", cpu="3", node_name="n1", version="150"),
                ],
                "200",
            ),
        ],
        watches=[
            (
                [
                    event("ADDED", _pod("b", phase="Pending", version="101")),
                    event("MODIFIED", _pod("b", node_name="n2", version="102")),
                ],
                "drop",
            ),
            (
                [
                    event("MODIFIED", _pod("b", node_name="n2", version="102")),  # replayed
                    event("ADDED", _pod("c", phase="Pending", version="103")),
                ],
                "gone",
            ),
            (
                [
                    event("DELETED", _pod("b", node_name="n2", version="201")),
                    event(
                        "MODIFIED",
                        _pod("d", cpu="3", node_name="n1", phase="Succeeded", version="202"),
                    ),
                ],
                "end",
            ),
        ],
    )
    restarts: list[tuple[str, str]] = []
    with (
        RecordedApiServer({"nodes": nodes, "pods": pods}) as server,
        RecordingWriter(tmp_path) as writer,
    ):
        recorder = Recorder(writer, CONFIG)
        api = client.ApiClient(client.Configuration())
        api.configuration.host = server.url
        watcher = Watcher(api, recorder, CONFIG, on_restart=lambda *why: restarts.append(why))
        watcher.start()
        try:
            _until(lambda: len((tmp_path / "events.jsonl").read_text().splitlines()) >= 10)
            _until(lambda: ("watch", "202") in pods.calls)
        finally:
            watcher.stop()
    events = [
        (e["event"], e["uid"].removeprefix("uid-")) for e in _lines(tmp_path / "events.jsonl")
    ]
    assert events == [
        ("created", "a"), ("bound", "a"),
        ("created", "b"), ("bound", "b"),
        ("created", "c"),
        ("created", "d"), ("bound", "d"),
        ("deleted", "a"),  # gone from the relist: deleted while the watch was away
        ("deleted", "b"),
        ("deleted", "d"),  # Succeeded
    ]  # fmt: skip
    reasons = [e["reason"] for e in _lines(tmp_path / "events.jsonl") if e["event"] == "deleted"]
    assert reasons == ["missing at relist", "deleted", "Succeeded"]
    # The drop resumed from the last version seen; the 410 relisted.
    assert pods.calls[:5] == [
        ("list", ""), ("watch", "100"), ("watch", "102"), ("list", ""), ("watch", "200"),
    ]  # fmt: skip
    assert ("pods", "error") in restarts and ("pods", "gone") in restarts
    assert writer.duplicates_dropped >= 1
    assert [(n["event"], n["name"]) for n in _lines(tmp_path / "nodes.jsonl")] == [
        ("add", "n1"), ("add", "n2"), ("add", "n3"),
    ]  # fmt: skip
    # What the first list shows is there from the start; later events carry their time.
    node_times = [n["t_s"] for n in _lines(tmp_path / "nodes.jsonl")]
    assert node_times[:2] == [0.0, 0.0] and node_times[2] > 0
    assert [e["t_s"] for e in _lines(tmp_path / "events.jsonl")][:2] == [0.0, 0.0]
    recording = load_recording(tmp_path)
    assert list(recording.workload.names) == ["default/a", "default/b", "default/c", "default/d"]
    assert list(recording.workload.cpu_milli) == [1000, 1000, 1000, 3000]
    assert list(recording.cluster.gpu_count) == [0, 4, 0]
    assert recording.cluster.labels["pool"][1] == "gpu"
    assert recording.bound_node == ("n1", "n2", "", "n1")
    assert recording.schedulers == ("binforge",) * 4


def test_binforge_traces_record_writes_only_the_namespace_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nodes = Script(lists=[listing("NodeList", [node("n1", gpus=8)], "5")])
    pods = Script(
        lists=[listing("PodList", [_pod("mine", "team", node_name="n1")], "5")],
        watches=[
            (
                [
                    event("ADDED", _pod("other", "elsewhere", version="6")),
                    event("ADDED", _pod("new", "team", gpus=2, version="7")),
                ],
                "end",
            )
        ],
    )
    out = tmp_path / "rec"
    with RecordedApiServer({"nodes": nodes, "pods": pods}) as server:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "c", "cluster": {"server": server.url}}],
                    "users": [{"name": "u", "user": {}}],
                    "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                    "current-context": "x",
                }
            )
        )
        previous = signal.getsignal(signal.SIGTERM)
        try:
            code = main(["traces", "record", "--kubeconfig", str(kubeconfig), "--namespace",
                         "team", "--duration", "1.5", "--out", str(out)])  # fmt: skip
        finally:
            signal.signal(signal.SIGTERM, previous)
    assert code == 0
    assert "2 pods created, 1 bound" in capsys.readouterr().out
    recording = load_recording(out)
    assert list(recording.workload.names) == ["team/mine", "team/new"]
    assert list(recording.workload.num_gpu) == [0, 2]
    assert recording.meta["namespace"] == "team"
    # A second recording into the same directory is refused, not appended.
    assert main(["traces", "record", "--kubeconfig", str(kubeconfig), "--out", str(out)]) == 2
    assert "already there" in capsys.readouterr().err


def test_serve_records_through_the_extenders_own_watch_when_record_dir_is_set(
    tmp_path: Path,
) -> None:
    nodes = Script(lists=[listing("NodeList", [node("n1")], "5")])
    pods = Script(
        lists=[listing("PodList", [_pod("a", node_name="n1")], "5")],
        watches=[([event("ADDED", _pod("b", cpu="2", node_name="n1", version="6"))], "end")],
    )
    config = replace(CONFIG, record_dir=str(tmp_path / "rec"))
    cache = ClusterCache(config)
    sink, writer = recording_sink(cache, config)
    assert writer is not None
    with RecordedApiServer({"nodes": nodes, "pods": pods}) as server:
        api = client.ApiClient(client.Configuration())
        api.configuration.host = server.url
        watcher = Watcher(api, sink, config)
        watcher.start()
        try:
            _until(lambda: cache.sizes()["pods"] == 2)
            _until(lambda: len((tmp_path / "rec" / "events.jsonl").read_text().splitlines()) == 4)
        finally:
            watcher.stop()
            writer.close()
    assert list(load_recording(tmp_path / "rec").workload.cpu_milli) == [1000, 2000]
    assert int(cache.snapshot().state.cpu_free[0]) == 8000 - 3000


def test_each_start_of_serve_records_into_a_new_directory_named_by_its_placeholders(
    tmp_path: Path,
) -> None:
    config = replace(CONFIG, record_dir=str(tmp_path / "{hostname}" / "{start}"))
    start = datetime(2026, 11, 29, 6, 47, 12, tzinfo=timezone(timedelta(hours=1)))
    assert config.recording_directory(start, "binforge-7d9f") == (
        tmp_path / "binforge-7d9f" / "20261129T054712Z"
    )
    _, writer = recording_sink(ClusterCache(config), config)
    assert writer is not None
    writer.close()
    (host,) = tmp_path.iterdir()
    (recording,) = host.iterdir()
    assert host.name == socket.gethostname()
    assert re.fullmatch(r"\d{8}T\d{6}Z", recording.name)
    assert (recording / "meta.json").is_file()


def test_a_failing_recording_never_stops_the_extenders_cache(tmp_path: Path) -> None:
    cache = ClusterCache(CONFIG)
    writer = RecordingWriter(tmp_path)
    tee = Tee(cache, Recorder(writer, CONFIG))
    writer.close()  # every later write fails, as on a full or vanished disk
    tee.replace("nodes", [node("n1")])
    tee.replace("pods", [])
    tee.apply_pod("ADDED", _pod("a", node_name="n1"))
    assert cache.sizes()["pods"] == 1
    assert tee.failures == 2


def test_pods_finished_before_the_recording_started_are_left_out(tmp_path: Path) -> None:
    with RecordingWriter(tmp_path) as writer:
        recorder = Recorder(writer, CONFIG)
        recorder.replace("nodes", [node("n1")])
        recorder.replace(
            "pods",
            [_pod("done", node_name="n1", phase="Succeeded"), _pod("running", node_name="n1")],
        )
        recorder.apply_pod("MODIFIED", _pod("running", node_name="n1", phase="Failed"))
    events = [(e["event"], e["uid"], e.get("reason")) for e in _lines(tmp_path / "events.jsonl")]
    assert events == [
        ("created", "uid-running", None),
        ("bound", "uid-running", None),
        ("deleted", "uid-running", "Failed"),
    ]
