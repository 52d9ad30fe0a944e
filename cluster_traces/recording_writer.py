"""Write a recording of a live cluster (the on-disk format of docs/recording.md).

:class:`RecordingWriter` appends one JSON object per line to ``nodes.jsonl`` and
``events.jsonl``; each line goes to the file in one ``os.write`` call on a descriptor
opened with ``O_APPEND``, so a process killed at any moment (SIGKILL included) leaves every
earlier line whole and at most one torn last line, which the loader skips with a warning.
Lines are not fsynced: the format survives the recorder's death, not the machine's.

Pod events are de-duplicated here, by pod uid and event kind: a watch that replays
events after a reconnect, or a relist after 410 Gone, cannot write a pod twice.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cluster_traces.model import MiB, Millicores, Seconds

__all__ = [
    "EVENTS_FILE",
    "FORMAT",
    "FORMAT_VERSION",
    "META_FILE",
    "NODES_FILE",
    "NodeRecord",
    "PodRecord",
    "RecordingWriter",
]

FORMAT = "binforge-recording"
FORMAT_VERSION = 1
META_FILE = "meta.json"
NODES_FILE = "nodes.jsonl"
EVENTS_FILE = "events.jsonl"


@dataclass(frozen=True)
class NodeRecord:
    """A node as recorded: allocatable capacity in model units, GPU model and labels."""

    name: str
    cpu_milli: Millicores
    memory_mib: MiB
    gpu_count: int
    gpu_model: str = ""
    extended: Mapping[str, int] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        """The JSON fields of a node line (without ``t_s`` and ``event``)."""
        return {
            "name": self.name,
            "cpu_milli": self.cpu_milli,
            "memory_mib": self.memory_mib,
            "gpu_count": self.gpu_count,
            "gpu_model": self.gpu_model,
            "extended": dict(self.extended),
            "labels": dict(self.labels),
        }


@dataclass(frozen=True)
class PodRecord:
    """A pod as recorded at creation: identity, scheduler and requests in model units.

    ``gpu_milli`` is the share of each requested GPU in thousandths (0 without GPUs).
    """

    uid: str
    namespace: str
    name: str
    scheduler: str
    cpu_milli: Millicores
    memory_mib: MiB
    num_gpu: int = 0
    gpu_milli: int = 0
    gpu_models: tuple[str, ...] = ()
    priority: int = 0
    qos: str = ""
    extended: Mapping[str, int] = field(default_factory=dict)
    created_at: str = ""

    def fields(self) -> dict[str, Any]:
        """The JSON fields of a ``created`` line (without ``t_s`` and ``event``)."""
        return {
            "uid": self.uid,
            "namespace": self.namespace,
            "name": self.name,
            "scheduler": self.scheduler,
            "cpu_milli": self.cpu_milli,
            "memory_mib": self.memory_mib,
            "num_gpu": self.num_gpu,
            "gpu_milli": self.gpu_milli,
            "gpu_models": sorted(self.gpu_models),
            "priority": self.priority,
            "qos": self.qos,
            "extended": dict(self.extended),
            "created_at": self.created_at,
        }


class RecordingWriter:
    """Appends node and pod events to a recording directory; thread-safe.

    Times (``t_s``) are seconds since the recording started, measured with a monotonic
    clock from the wall-clock start written to ``meta.json``.
    """

    def __init__(
        self,
        directory: Path,
        *,
        cluster: str = "",
        namespace: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create the recording in ``directory`` (created if needed).

        Raises:
            FileExistsError: ``directory`` already holds a recording (never appended to:
                two recorders would interleave two clocks).
            OSError: the directory or files cannot be created.
        """
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        for name in (META_FILE, NODES_FILE, EVENTS_FILE):
            if (self.directory / name).exists():
                raise FileExistsError(f"{self.directory / name}: a recording is already there")
        self._clock = clock
        self._start = clock()
        started = datetime.now(UTC)
        meta = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "cluster": cluster,
            "namespace": namespace,
            "started_at": started.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "started_unix_s": started.timestamp(),
        }
        scratch = self.directory / f".{META_FILE}.tmp"
        scratch.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        os.replace(scratch, self.directory / META_FILE)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        self._nodes_fd = os.open(self.directory / NODES_FILE, flags, 0o644)
        self._events_fd = os.open(self.directory / EVENTS_FILE, flags, 0o644)
        self._lock = threading.Lock()
        self._written: set[tuple[str, str]] = set()
        self.lines_written = 0
        self.duplicates_dropped = 0

    def now_s(self) -> Seconds:
        """Seconds since the recording started."""
        return round(self._clock() - self._start, 6)

    def node(self, event: str, node: NodeRecord | str, t_s: Seconds | None = None) -> None:
        """Write a node ``add``, ``update`` (capacity or labels changed) or ``remove``.

        A ``remove`` takes the node's name; the others a :class:`NodeRecord`.
        """
        if event not in ("add", "update", "remove"):
            raise ValueError(f"node event: expected add, update or remove, got {event!r}")
        head = {"t_s": self.now_s() if t_s is None else t_s, "event": event}
        body = {"name": node} if isinstance(node, str) else node.fields()
        with self._lock:
            self._append(self._nodes_fd, head | body)

    def created(self, pod: PodRecord, t_s: Seconds | None = None) -> bool:
        """Write a pod's creation; False (nothing written) when its uid was seen before."""
        return self._pod_event("created", pod.uid, pod.fields(), t_s)

    def bound(self, uid: str, node: str, t_s: Seconds | None = None) -> bool:
        """Write a pod's binding to ``node``; False when already written for this uid."""
        return self._pod_event("bound", uid, {"uid": uid, "node": node}, t_s)

    def deleted(self, uid: str, reason: str = "deleted", t_s: Seconds | None = None) -> bool:
        """Write a pod's end (``reason``: deleted, Succeeded, Failed, missing at relist)."""
        return self._pod_event("deleted", uid, {"uid": uid, "reason": reason}, t_s)

    def has(self, uid: str, event: str) -> bool:
        """Whether ``event`` (created, bound, deleted) was written for pod ``uid``."""
        with self._lock:
            return (uid, event) in self._written

    def close(self) -> None:
        """Close the files (idempotent); later writes raise OSError."""
        with self._lock:
            for fd in (self._nodes_fd, self._events_fd):
                if fd >= 0:
                    os.close(fd)
            self._nodes_fd = self._events_fd = -1

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _pod_event(self, event: str, uid: str, body: dict[str, Any], t_s: Seconds | None) -> bool:
        with self._lock:
            if (uid, event) in self._written:
                self.duplicates_dropped += 1
                return False
            if event != "created" and (uid, "created") not in self._written:
                raise ValueError(f"pod {uid}: {event} before created")
            self._written.add((uid, event))
            head = {"t_s": self.now_s() if t_s is None else t_s, "event": event}
            self._append(self._events_fd, head | body)
            return True

    def _append(self, fd: int, line: Mapping[str, Any]) -> None:
        data = (json.dumps(line, separators=(",", ":"), sort_keys=False) + "\n").encode()
        written = os.write(fd, data)  # one call per line: a kill leaves whole lines
        if written != len(data):
            raise OSError(f"{self.directory}: short write ({written} of {len(data)} bytes)")
        self.lines_written += 1
