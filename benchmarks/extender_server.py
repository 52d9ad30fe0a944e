"""The extender under benchmark, as its own process (``python -m benchmarks.extender_server``).

Serves the benchmark cluster (see :mod:`benchmarks.extender_cluster`) from a filled watch
cache, with the production app (``--stack aiohttp``) or the same :class:`Extender` behind
the standard library's ``ThreadingHTTPServer`` (``--stack stdlib``), for the comparison
that chose the HTTP stack. Prints ``ready PORT`` on stdout once listening; stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiohttp import web
from prometheus_client import CollectorRegistry

from benchmarks.extender_cluster import cluster_objects
from k8s_plugin.cache import ClusterCache
from k8s_plugin.config import ExtenderConfig
from k8s_plugin.extender import Extender
from k8s_plugin.server import (
    build_app,
    build_extender,
    settle_heap,
    single_blas_thread,
    warm_reference_shapes,
)


def _extender(nodes: int, mode: str) -> tuple[Extender, CollectorRegistry]:
    config = ExtenderConfig(mode=mode, heuristic="fgd", baseline="best-fit")  # type: ignore[arg-type]
    node_objects, pod_objects = cluster_objects(nodes)
    cache = ClusterCache(config)
    cache.replace("nodes", node_objects)
    cache.replace("pods", pod_objects)
    cache.snapshot()
    registry = CollectorRegistry()
    extender = build_extender(config, registry, cache)
    settle_heap()  # as binforge serve does once its cache has synced
    return extender, registry


async def _serve_aiohttp(extender: Extender, registry: CollectorRegistry, port: int) -> None:
    runner = web.AppRunner(build_app(extender, registry), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    warming = asyncio.create_task(warm_reference_shapes(extender))  # as binforge serve does
    print(f"ready {port}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    warming.cancel()
    await runner.cleanup()


def _serve_stdlib(extender: Extender, port: int) -> None:
    verbs = {"/filter": extender.filter, "/prioritize": extender.prioritize}
    lock = threading.Lock()  # the extender's verbs are not meant to run concurrently

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                reply = verbs[self.path](body)
            payload = reply.body
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            pass  # a load generator that stops mid-reply is not news

    server = Server(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"ready {port}", flush=True)
    server.serve_forever()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=1523)
    parser.add_argument("--mode", default="filter", choices=["filter", "score", "shadow"])
    parser.add_argument("--stack", default="aiohttp", choices=["aiohttp", "stdlib"])
    parser.add_argument("--port", type=int, required=True)
    options = parser.parse_args(argv)
    single_blas_thread()  # as binforge serve does
    extender, registry = _extender(options.nodes, options.mode)
    if options.stack == "aiohttp":
        asyncio.run(_serve_aiohttp(extender, registry, options.port))
    else:
        _serve_stdlib(extender, options.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
