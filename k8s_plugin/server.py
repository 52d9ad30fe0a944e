"""The HTTP face of the extender (aiohttp), and the process that runs it.

aiohttp was chosen by measurement (docs/performance.md, section "Extender"): called one
request at a time, as kube-scheduler's scheduling cycle calls an extender, it answered
6 times faster than the standard library's ThreadingHTTPServer (p50 8 ms against 48 ms;
``http.server`` loses ~40 ms per keep-alive reply to Nagle and delayed ACKs) at the same
CPU per request, and it drains in-flight requests on shutdown, limits body sizes and
has an in-process test client. Open loop over many connections on the shared 2-core
machine the threaded server did better; that measurement is recorded there too.

Verbs are answered on the event loop thread (the main thread): a decision is a few
vectorised numpy calls, and the heuristic's time budget is kept by a SIGALRM timer
(:mod:`k8s_plugin.runner`). Routes:
``POST {urlPrefix}/{filterVerb}``, ``POST {urlPrefix}/{prioritizeVerb}``, ``GET /healthz``,
``GET /readyz`` (200 once the cache has synced), ``GET /metrics``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import signal
from collections.abc import Awaitable, Callable

import numpy as np
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from threadpoolctl import threadpool_limits

from heuristics.contract import Context, Pod
from k8s_plugin.cache import ClusterCache
from k8s_plugin.config import ExtenderConfig
from k8s_plugin.extender import Extender, Reply
from k8s_plugin.metrics import ExtenderMetrics
from k8s_plugin.slot import HeuristicSlot

__all__ = [
    "JsonFormatter",
    "build_app",
    "build_extender",
    "reference_pods",
    "serve",
    "settle_heap",
    "single_blas_thread",
    "warm_reference_shapes",
]

log = logging.getLogger("binforge.extender.server")

_FILE_POLL_S = 1.0
_WARM_POLL_S = 1.0
_WARM_SHAPES = 64
"""Reference shapes scored ahead of requests after each change (FGD remembers 256)."""
_SETTLE_PERIOD_S = 300.0


def _json(reply: Reply) -> web.Response:
    return web.Response(body=reply.body, status=reply.status, content_type="application/json")


def _verb(answer: Callable[[bytes], Reply]) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge as exc:
            return _json(Reply(413, {"Error": f"request body too large: {exc.text}"}))
        except ConnectionResetError:  # the client left mid-body: nobody to answer
            log.debug("%s: client disconnected before sending the whole body", request.path)
            return _json(Reply(400, {"Error": "client disconnected before sending the body"}))
        return _json(answer(body))

    return handle


def build_app(extender: Extender, registry: CollectorRegistry) -> web.Application:
    """The aiohttp application serving ``extender`` and the metrics of ``registry``."""
    config = extender.config
    app = web.Application(client_max_size=config.max_request_bytes)

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def readyz(_: web.Request) -> web.Response:
        if extender.ready:
            return web.Response(text="ok")
        return web.Response(text="cache not synced", status=503)

    async def metrics(_: web.Request) -> web.Response:
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_post(config.verb_path(config.filter_verb), _verb(extender.filter))
    app.router.add_post(config.verb_path(config.prioritize_verb), _verb(extender.prioritize))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    return app


def build_extender(
    config: ExtenderConfig, registry: CollectorRegistry, cache: ClusterCache | None
) -> Extender:
    """An :class:`Extender` for ``config`` with its metrics on ``registry``.

    Raises:
        whatever loading the heuristic raises (unknown name, missing file, unsafe code).
    """
    slot = HeuristicSlot(config)
    metrics = ExtenderMetrics(
        registry,
        snapshot=(lambda: cache.snapshot() if cache.synced else None) if cache else lambda: None,
        sizes=cache.sizes if cache else dict,
    )
    metrics.heuristic.info(slot.current.identity)
    return Extender(config, slot, metrics, cache)


def _reload(extender: Extender) -> None:
    ok = extender.slot.reload()
    extender.metrics.reloads.labels("loaded" if ok else "failed").inc()
    if ok:
        extender.metrics.heuristic.info(extender.slot.current.identity)


def settle_heap() -> None:
    """Move every object alive now out of the garbage collector's reach (``gc.freeze``).

    The watch cache holds a long-lived object graph of every node and pod; each full
    collection walks it all, a pause of tens of milliseconds at 5,000 nodes that lands on
    whichever request triggered it (measured: in-process prioritize max 53 ms without,
    18 ms with, docs/performance.md). Objects created later are collected as usual.
    """
    gc.collect()
    gc.freeze()


def single_blas_thread() -> None:
    """Run numpy's BLAS (the matrix products of fragmentation) on the calling thread.

    Requests are answered one at a time on the event loop, so BLAS worker threads only
    add hand-offs, and on a busy node they wait for a core: measured in-process at 5,000
    nodes, a cold FGD fragmentation pass took 5.7 ms with OpenBLAS's default threads and
    2.4 ms with one (docs/performance.md, "Extender").
    """
    threadpool_limits(limits=1, user_api="blas")


async def _settle_when_synced(cache: ClusterCache) -> None:
    while not cache.synced:
        await asyncio.sleep(0.5)
    settle_heap()
    while True:  # the cache grows as pods come and go: settle again now and then
        await asyncio.sleep(_SETTLE_PERIOD_S)
        settle_heap()


def reference_pods(ctx: Context) -> list[Pod]:
    """The reference shapes of ``ctx`` (learned from the cluster's pods) as pods,
    likeliest first."""
    order = np.argsort(-np.asarray(ctx.shape_probability), kind="stable").tolist()
    return [
        Pod(
            cpu_milli=int(ctx.shape_cpu_milli[i]),
            memory_mib=int(ctx.shape_memory_mib[i]),
            num_gpu=int(ctx.shape_num_gpu[i]),
            gpu_milli=int(ctx.shape_gpu_milli[i]),
        )
        for i in order
    ]


async def warm_reference_shapes(extender: Extender, poll_s: float = _WARM_POLL_S) -> None:
    """Forever: whenever the learned reference shapes change, score each of the
    likeliest :data:`_WARM_SHAPES` once (:meth:`Extender.warm`), yielding to requests
    between shapes."""
    seen: object = None
    while True:
        await asyncio.sleep(poll_s)
        if extender.cache is None or not extender.cache.synced:
            continue
        ctx = extender.cache.snapshot().ctx
        if ctx is seen:
            continue
        seen = ctx
        for pod in reference_pods(ctx)[:_WARM_SHAPES]:
            extender.warm(pod)
            await asyncio.sleep(0)


async def _poll_file(extender: Extender) -> None:
    while True:
        await asyncio.sleep(_FILE_POLL_S)
        if extender.slot.file_changed():
            log.info("heuristic file changed: reloading")
            _reload(extender)


async def serve(config: ExtenderConfig, registry: CollectorRegistry | None = None) -> None:
    """Run the extender until SIGTERM or SIGINT, then drain in-flight requests and stop.

    Raises:
        whatever building the extender or starting the watch raises.
    """
    from k8s_plugin.recorder import recording_sink
    from k8s_plugin.watch import Watcher, api_client

    single_blas_thread()
    registry = registry or CollectorRegistry()
    cache = ClusterCache(config) if config.watch else None
    extender = build_extender(config, registry, cache)
    watcher = None
    recording = None
    if cache is not None:
        sink, recording = recording_sink(cache, config)  # docs/recording.md
        watcher = Watcher(
            api_client(config),
            sink,
            config,
            on_restart=lambda r, why: extender.metrics.watch_restarts.labels(r, why).inc(),
        )
        watcher.start()
    runner = web.AppRunner(build_app(extender, registry), access_log=None, shutdown_timeout=10.0)
    await runner.setup()
    tasks: list[asyncio.Task[None]] = []
    try:
        site = web.TCPSite(runner, config.host, config.port)
        try:
            await site.start()
        except OSError as exc:  # the port is taken, the host unknown or not ours
            reason = exc.strerror or str(exc)
            raise ValueError(f"cannot listen on {config.host}:{config.port}: {reason}") from None
        log.info("serving", extra={"host": config.host, "port": config.port, "mode": config.mode})
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: _reload(extender))
        tasks.append(asyncio.create_task(_poll_file(extender)))
        if cache is not None:
            tasks.append(asyncio.create_task(_settle_when_synced(cache)))
            tasks.append(asyncio.create_task(warm_reference_shapes(extender)))
        await stop.wait()
        log.info("shutting down: draining requests")
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await runner.cleanup()
        if watcher is not None:
            watcher.stop()
        if recording is not None:
            recording.close()
        extender.runner.close()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any ``extra`` fields."""

    _STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        document = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in self._STANDARD:
                document[key] = value
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, default=str)
