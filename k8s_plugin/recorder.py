"""Record a live cluster as a trace: list-watch events -> a recording (docs/recording.md).

:class:`Recorder` is a watch sink (the interface :class:`~k8s_plugin.watch.Watcher` feeds:
``replace`` after a list, ``apply_node`` / ``apply_pod`` per event): it turns Node and Pod
objects into the model's units with the extender's own ``node_capacity`` and
``pod_requests`` and appends them with a
:class:`~cluster_traces.recording_writer.RecordingWriter`. Recording only lists and
watches: it needs no write permission on the cluster.

No event is lost or doubled across watch disconnects: the watcher resumes from the last
resourceVersion, the writer drops a second event of one kind for one pod uid, and a
relist (after 410 Gone) is diffed against what was recorded: new pods are created (and
bound), recorded pods missing from the list are deleted at the relist's time.

``binforge serve`` records too when ``recordDir`` is set: :class:`Tee` feeds one watch
to both the extender's cache and a recorder.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cluster_traces.recording_writer import NodeRecord, PodRecord, RecordingWriter
from k8s_plugin.config import ExtenderConfig
from k8s_plugin.resources import ResourceError, node_capacity, pod_requests
from k8s_plugin.watch import Watcher, WatchSink, api_client

__all__ = ["RecordStats", "Recorder", "Tee", "record", "recording_sink"]

log = logging.getLogger("binforge.recorder")

_FINISHED = ("Succeeded", "Failed")


@dataclass(frozen=True)
class RecordStats:
    """What a recording session wrote: pod events, node lines, objects it could not read."""

    created: int
    bound: int
    deleted: int
    node_lines: int
    rejected_objects: int
    duplicates_dropped: int
    watch_restarts: int


class Recorder:
    """A watch sink that appends node and pod events to a recording; thread-safe.

    Args:
        writer: the open recording.
        config: resource names, GPU annotations and labels (the extender's config).
        namespace: record only pods of this namespace ("" = all namespaces).
    """

    def __init__(
        self, writer: RecordingWriter, config: ExtenderConfig, namespace: str = ""
    ) -> None:
        self.writer = writer
        self._config = config
        self._namespace = namespace
        self._lock = threading.Lock()
        self._nodes: dict[str, NodeRecord] = {}
        self._live: set[str] = set()
        self._listed: set[str] = set()
        self._at: float | None = None  # 0.0 during the first list: present from the start
        self.counts = {"created": 0, "bound": 0, "deleted": 0, "node_lines": 0, "rejected": 0}

    def stats(self, watch_restarts: int = 0) -> RecordStats:
        """The counts so far."""
        with self._lock:
            return RecordStats(
                created=self.counts["created"],
                bound=self.counts["bound"],
                deleted=self.counts["deleted"],
                node_lines=self.counts["node_lines"],
                rejected_objects=self.counts["rejected"],
                duplicates_dropped=self.writer.duplicates_dropped,
                watch_restarts=watch_restarts,
            )

    def replace(self, kind: str, items: Iterable[Mapping[str, Any]]) -> None:
        """Record the difference between a fresh list and what was recorded."""
        with self._lock:
            self._at = None if kind in self._listed else 0.0
            self._listed.add(kind)
            try:
                self._replace(kind, items)
            finally:
                self._at = None

    def _replace(self, kind: str, items: Iterable[Mapping[str, Any]]) -> None:
        if kind == "nodes":
            seen = {name for item in items if (name := self._node(item))}
            for name in sorted(set(self._nodes) - seen):
                self._remove_node(name)
            return
        listed: set[str] = set()
        for item in items:
            uid = self._pod("ADDED", item)
            if uid:
                listed.add(uid)
        for uid in sorted(self._live - listed):
            self._end(uid, "missing at relist")

    def apply_node(self, event: str, node: Mapping[str, Any]) -> None:
        """Record a node watch event (ADDED, MODIFIED, DELETED)."""
        with self._lock:
            if event == "DELETED":
                name = (node.get("metadata") or {}).get("name")
                if isinstance(name, str) and name in self._nodes:
                    self._remove_node(name)
            else:
                self._node(node)

    def apply_pod(self, event: str, pod: Mapping[str, Any]) -> None:
        """Record a pod watch event (ADDED, MODIFIED, DELETED)."""
        with self._lock:
            self._pod(event, pod)

    def _node(self, obj: Mapping[str, Any]) -> str:
        try:
            capacity = node_capacity(obj, self._config)
        except ResourceError as exc:
            self.counts["rejected"] += 1
            log.warning("record: ignore node: %s", exc)
            return ""
        labels = (obj.get("metadata") or {}).get("labels") or {}
        record = NodeRecord(
            name=capacity.name,
            cpu_milli=capacity.cpu_milli,
            memory_mib=capacity.memory_mib,
            gpu_count=capacity.gpu_count,
            gpu_model=capacity.gpu_model,
            extended=dict(capacity.extended),
            labels={str(k): str(v) for k, v in labels.items()},
        )
        known = self._nodes.get(record.name)
        if known != record:  # status heartbeats change nothing recorded
            self.writer.node("add" if known is None else "update", record, self._at)
            self._nodes[record.name] = record
            self.counts["node_lines"] += 1
        return record.name

    def _remove_node(self, name: str) -> None:
        self.writer.node("remove", name)
        del self._nodes[name]
        self.counts["node_lines"] += 1

    def _pod(self, event: str, obj: Mapping[str, Any]) -> str:
        """Record what ``obj`` shows that was not recorded yet; returns its uid ("" if skipped)."""
        metadata = obj.get("metadata") or {}
        uid = str(metadata.get("uid") or "")
        namespace = str(metadata.get("namespace") or "default")
        if not uid or (self._namespace and namespace != self._namespace):
            return ""
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        if self._at is not None and status.get("phase") in _FINISHED:
            return ""  # finished before the recording started: not part of it
        if not self.writer.has(uid, "created"):
            try:
                fit = pod_requests(obj, self._config).fit
            except ResourceError as exc:
                self.counts["rejected"] += 1
                log.warning("record: ignore pod %s/%s: %s", namespace, metadata.get("name"), exc)
                return ""
            pod = PodRecord(
                uid=uid,
                namespace=namespace,
                name=str(metadata.get("name") or ""),
                scheduler=str(spec.get("schedulerName") or "default-scheduler"),
                cpu_milli=fit.cpu_milli,
                memory_mib=fit.memory_mib,
                num_gpu=fit.num_gpu,
                gpu_milli=fit.gpu_milli,
                gpu_models=tuple(sorted(fit.gpu_models)),
                priority=fit.priority,
                qos=str(status.get("qosClass") or ""),
                extended={k: v for k, v in fit.extended.items() if v},
                created_at=str(metadata.get("creationTimestamp") or ""),
            )
            if self.writer.created(pod, self._at):
                self.counts["created"] += 1
                self._live.add(uid)
        node = spec.get("nodeName")
        if isinstance(node, str) and node and self.writer.bound(uid, node, self._at):
            self.counts["bound"] += 1
        if event == "DELETED":
            self._end(uid, "deleted")
        elif status.get("phase") in _FINISHED:
            self._end(uid, str(status.get("phase")))
        return uid

    def _end(self, uid: str, reason: str) -> None:
        if self.writer.deleted(uid, reason):
            self.counts["deleted"] += 1
        self._live.discard(uid)


class Tee:
    """A watch sink that feeds ``primary`` and then each of ``secondaries``.

    Errors of ``primary`` propagate (the watcher restarts); a secondary's errors are
    logged and counted in ``failures`` so that, in ``binforge serve``, a full disk under a
    recording never stops the extender's cache from following the cluster.
    """

    def __init__(self, primary: WatchSink, *secondaries: WatchSink) -> None:
        self._primary = primary
        self._secondaries = secondaries
        self.failures = 0

    def _each(self, method: str, *args: Any) -> None:
        getattr(self._primary, method)(*args)
        for sink in self._secondaries:
            try:
                getattr(sink, method)(*args)
            except Exception:
                self.failures += 1
                log.exception("record: %s failed; the extender goes on", method)

    def replace(self, kind: str, items: Iterable[Mapping[str, Any]]) -> None:
        self._each("replace", kind, list(items))

    def apply_node(self, event: str, node: Mapping[str, Any]) -> None:
        self._each("apply_node", event, node)

    def apply_pod(self, event: str, pod: Mapping[str, Any]) -> None:
        self._each("apply_pod", event, pod)


def recording_sink(
    cache: WatchSink, config: ExtenderConfig
) -> tuple[WatchSink, RecordingWriter | None]:
    """The sink ``binforge serve`` watches into: ``cache`` alone, or, when
    ``config.record_dir`` is set, a :class:`Tee` of ``cache`` and a :class:`Recorder`
    writing to its :meth:`~k8s_plugin.config.ExtenderConfig.recording_directory` for
    this start. Returns the sink and the writer to close at shutdown (or None).

    Raises:
        FileExistsError: that directory already holds a recording.
    """
    if not config.record_dir:
        return cache, None
    directory = config.recording_directory(datetime.now(UTC), socket.gethostname())
    log.info("recording the cluster into %s", directory)
    writer = RecordingWriter(directory, cluster="binforge serve")
    return Tee(cache, Recorder(writer, config)), writer


def record(
    config: ExtenderConfig,
    out: Path,
    *,
    namespace: str = "",
    cluster: str = "",
    duration_s: float | None = None,
    stop: threading.Event | None = None,
) -> RecordStats:
    """Record the cluster of ``config.kubeconfig`` into ``out`` until ``duration_s`` passes
    or ``stop`` is set (KeyboardInterrupt also ends it cleanly).

    Raises:
        FileExistsError: ``out`` already holds a recording.
        ValueError: no usable Kubernetes configuration.
    """
    api = api_client(config)
    stop = stop or threading.Event()
    restarts = [0]

    def restarted(resource: str, reason: str) -> None:
        restarts[0] += 1
        log.info("record: watch %s restarted (%s)", resource, reason)

    with RecordingWriter(out, cluster=cluster, namespace=namespace) as writer:
        recorder = Recorder(writer, config, namespace)
        watcher = Watcher(api, recorder, config, on_restart=restarted)
        watcher.start()
        deadline = None if duration_s is None else time.monotonic() + duration_s
        try:
            while not stop.is_set():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                stop.wait(1.0 if left is None else min(left, 1.0))
        except KeyboardInterrupt:
            pass
        finally:
            watcher.stop()
            api.close()
        return recorder.stats(restarts[0])
