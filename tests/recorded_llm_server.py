"""A real HTTP server on 127.0.0.1 that replays recorded LLM API exchanges.

This wire-level fake is the only stand-in for a paid model API in the tests: the proposers
talk to it through their real SDKs. Each recorded file under ``tests/golden/llm/`` is a JSON
list of exchanges ``{"status": 200, "headers": {...}, "body": {...}}``, served in order;
every request is kept (method, path, headers, parsed JSON body) for the test to inspect.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

RECORDINGS = Path(__file__).parent / "golden" / "llm"


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


def load_exchanges(name: str) -> list[dict[str, Any]]:
    """The recorded exchanges of ``tests/golden/llm/{name}.json``."""
    exchanges = json.loads((RECORDINGS / f"{name}.json").read_text(encoding="utf-8"))
    assert isinstance(exchanges, list) and exchanges, f"{name}: expected a list of exchanges"
    return exchanges


class RecordedLLMServer:
    """Serves ``exchanges`` in order (the last one repeats) on an ephemeral local port."""

    def __init__(self, exchanges: list[dict[str, Any]]) -> None:
        self.exchanges = exchanges
        self.requests: list[SeenRequest] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                with server._lock:
                    server.requests.append(
                        SeenRequest(
                            "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body
                        )
                    )
                    index = min(len(server.requests), len(server.exchanges)) - 1
                    exchange = server.exchanges[index]
                payload = json.dumps(exchange["body"]).encode()
                self.send_response(int(exchange["status"]))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for key, value in exchange.get("headers", {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> RecordedLLMServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)
