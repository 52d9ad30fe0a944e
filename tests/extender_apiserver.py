"""A recorded kube-apiserver on 127.0.0.1 for the extender's watch-cache tests.

It answers the two calls the watch cache makes, per resource (``nodes``, ``pods``):
a list (``GET /api/v1/nodes``) and a watch (``...?watch=true&resourceVersion=V``), the
latter as chunked JSON lines, exactly as the real server streams them. Each resource has
a script: the list documents to return in turn, and the watch responses to play in turn,
each a list of events followed by how the response ends: ``"end"`` (server timeout),
``"drop"`` (the connection breaks mid-chunk) or ``"gone"`` (an ERROR event with a 410
Status, as for a too-old resourceVersion). When a script runs out, lists repeat the last
document and watches stay open without events until the client goes away.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

GONE_EVENT = {
    "type": "ERROR",
    "object": {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "too old resource version: 1 (5)",
        "reason": "Expired",
        "code": 410,
    },
}


@dataclass
class Script:
    lists: list[dict[str, Any]]
    watches: list[tuple[list[dict[str, Any]], str]] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)


class RecordedApiServer:
    """Serves scripted list and watch responses; ``calls`` records (kind, resourceVersion)."""

    def __init__(self, scripts: dict[str, Script]) -> None:
        self.scripts = scripts
        self._lock = threading.Lock()
        self._closing = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                owner._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> RecordedApiServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        url = urlparse(request.path)
        query = parse_qs(url.query)
        resource = "nodes" if url.path == "/api/v1/nodes" else "pods"
        if url.path not in ("/api/v1/nodes", "/api/v1/pods"):
            request.send_error(404)
            return
        script = self.scripts[resource]
        version = query.get("resourceVersion", [""])[0]
        with self._lock:
            if query.get("watch", ["false"])[0] == "true":
                script.calls.append(("watch", version))
                step = script.watches.pop(0) if script.watches else None
            else:
                script.calls.append(("list", version))
                document = script.lists.pop(0) if len(script.lists) > 1 else script.lists[0]
        if query.get("watch", ["false"])[0] != "true":
            body = json.dumps(document).encode()
            request.send_response(200)
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
            return
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.send_header("Transfer-Encoding", "chunked")
        request.end_headers()
        if step is None:
            # Out of script: an idle watch until the client stops or the server closes.
            while not self._closing.wait(0.05):
                pass
            return
        events, ending = step
        if ending == "gone":
            events = [*events, GONE_EVENT]
        for event in events:
            line = json.dumps(event).encode() + b"\n"
            request.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            request.wfile.flush()
            time.sleep(0.005)
        if ending == "drop":
            request.wfile.write(b'40\r\n{"type": "MODI')
            request.wfile.flush()
            request.close_connection = True
            return
        request.wfile.write(b"0\r\n\r\n")
        request.close_connection = True


def node(
    name: str,
    cpu: str = "8",
    memory: str = "32Gi",
    gpus: int = 0,
    version: str = "1",
    **labels: str,
) -> dict[str, Any]:
    """A Node object as the API server sends it."""
    allocatable = {"cpu": cpu, "memory": memory, "pods": "110"}
    if gpus:
        allocatable["nvidia.com/gpu"] = str(gpus)
    return {
        "kind": "Node",
        "apiVersion": "v1",
        "metadata": {"name": name, "resourceVersion": version, "labels": dict(labels)},
        "status": {"capacity": dict(allocatable), "allocatable": allocatable},
    }


def pod(
    name: str,
    cpu: str | None = "1",
    memory: str | None = "1Gi",
    node_name: str = "",
    phase: str = "Running",
    gpus: int = 0,
    version: str = "1",
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Pod object with one container, as the API server sends it."""
    requests: dict[str, str] = {}
    if cpu is not None:
        requests["cpu"] = cpu
    if memory is not None:
        requests["memory"] = memory
    if gpus:
        requests["nvidia.com/gpu"] = str(gpus)
    spec: dict[str, Any] = {"containers": [{"name": "main", "resources": {"requests": requests}}]}
    if node_name:
        spec["nodeName"] = node_name
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "namespace": "default",
            "resourceVersion": version,
            "annotations": dict(annotations or {}),
        },
        "spec": spec,
        "status": {"phase": phase},
    }


def listing(kind: str, items: list[dict[str, Any]], version: str) -> dict[str, Any]:
    """A list response (NodeList / PodList) at ``version``."""
    return {
        "kind": kind,
        "apiVersion": "v1",
        "metadata": {"resourceVersion": version},
        "items": items,
    }


def event(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "object": obj}
