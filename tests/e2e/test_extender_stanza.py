"""kube-scheduler runs the extender stanza that render_scheduler_config writes.

A stand-in extender (a plain HTTP server in the test, not binforge's) keeps one node in
its filter reply and records each request, so the tests observe the wire format the real
extender will receive: POST <urlPrefix>/<verb>, NodeNames only when nodeCacheCapable.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from .controlplane import ControlPlane
from .manifests import pod_manifest
from .scheduler_config import BINFORGE_SCHEDULER_NAME, ExtenderSettings, render_scheduler_config

_CHOSEN_NODE = "gpu-v100-b"


class _StandInExtender(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/binforge"


class _Handler(BaseHTTPRequestHandler):
    server: _StandInExtender

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            self.server.requests.append((self.path, body))
        names = body.get("NodeNames") or [n["metadata"]["name"] for n in body["Nodes"]["items"]]
        if self.path.endswith("/filter"):
            kept = [n for n in names if n == _CHOSEN_NODE]
            failed = {
                n: "stand-in extender keeps only " + _CHOSEN_NODE for n in names if n not in kept
            }
            reply: Any = {"NodeNames": kept, "FailedNodes": failed, "Error": ""}
        else:
            reply = [{"Host": n, "Score": 10 if n == _CHOSEN_NODE else 0} for n in names]
        payload = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def stand_in_extender() -> Iterator[_StandInExtender]:
    server = _StandInExtender()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_scheduler_filters_through_the_configured_extender_with_node_names_only(
    control_plane: ControlPlane, stand_in_extender: _StandInExtender
) -> None:
    extender = ExtenderSettings(
        url_prefix=stand_in_extender.url, weight=5, node_cache_capable=True, http_timeout_s=2.5
    )
    control_plane.start_scheduler(
        render_scheduler_config(
            kubeconfig=str(control_plane.scheduler_kubeconfig), extender=extender
        )
    )
    name = "extender-filtered"
    try:
        control_plane.create_pod(
            pod_manifest(
                name, cpu_milli=500, memory_mib=512, gpus=1, scheduler_name=BINFORGE_SCHEDULER_NAME
            ),
        )
        assert control_plane.wait_for_binding(name) == _CHOSEN_NODE
        with stand_in_extender.lock:
            requests = list(stand_in_extender.requests)
        filter_calls = [body for path, body in requests if path == "/binforge/filter"]
        assert filter_calls, f"no filter call; saw {[path for path, _ in requests]}"
        first = filter_calls[0]
        assert first["Nodes"] is None
        # The in-tree filters ran first: the CPU-only node never reaches the extender.
        assert sorted(first["NodeNames"]) == ["gpu-t4-a", "gpu-v100-a", "gpu-v100-b"]
        assert first["Pod"]["metadata"]["name"] == name
        # Only one node survived the filter, so kube-scheduler skips prioritize.
        assert all(path != "/binforge/prioritize" for path, _ in requests)
    finally:
        control_plane.delete_pod(name)
        control_plane.start_scheduler(
            render_scheduler_config(kubeconfig=str(control_plane.scheduler_kubeconfig))
        )
