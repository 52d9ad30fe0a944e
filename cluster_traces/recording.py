"""Load a recording of a live cluster (docs/recording.md) as a Cluster, Workload, Scenario.

A recording is a directory with ``meta.json`` (format, version, start time),
``nodes.jsonl`` (node add/update/remove lines) and ``events.jsonl`` (pod
created/bound/deleted lines), written by :class:`~cluster_traces.recording_writer.RecordingWriter`.
A pod arrives when it was created and departs when it was deleted (or finished); a node
recorded at time 0 is present from the start, a later ``add`` or a ``remove`` becomes a
node event. A torn last line (a recorder killed mid-write) is skipped with a warning;
any other malformed line raises :class:`TraceFormatError` naming the file, line and field.

Scenario names: a recording's directory is a scenario name everywhere; ``DIR:train`` and
``DIR:validation`` are the first 70% and the last 30% of its time span
(:func:`cluster_traces.derive.time_split`), ``DIR:START-END`` a window in seconds.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from cluster_traces.catalog import TraceSet
from cluster_traces.derive import TimeWindow, time_split
from cluster_traces.errors import ScenarioError, TraceFormatError
from cluster_traces.model import (
    GPU_MILLI_PER_GPU,
    Cluster,
    NodeEvents,
    Replay,
    Scenario,
    Workload,
)
from cluster_traces.recording_writer import (
    EVENTS_FILE,
    FORMAT,
    FORMAT_VERSION,
    META_FILE,
    NODES_FILE,
)

__all__ = [
    "TRAIN_FRACTION",
    "Recording",
    "is_recording",
    "load_recording",
    "recording_entry",
    "recording_scenario",
    "split_recording_name",
]

log = logging.getLogger("binforge.recording")

TRAIN_FRACTION = 0.7
"""Share of a recording's time span that ``DIR:train`` covers (``DIR:validation`` the rest)."""

_WINDOW = re.compile(r"^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$")


@dataclass(frozen=True)
class Recording:
    """A loaded recording.

    Attributes:
        meta: the decoded ``meta.json``.
        cluster: every node ever seen, with its last recorded capacity and node events.
        workload: every pod created, in creation order (arrival and departure in seconds).
        schedulers: scheduler name per pod (aligned with ``workload``).
        bound_node: node each pod was bound to ("" when never bound).
        bound_s: binding time per pod in seconds (NaN when never bound).
        torn_lines: torn last lines skipped (0 or 1 per file).
    """

    meta: Mapping[str, Any]
    cluster: Cluster
    workload: Workload
    schedulers: tuple[str, ...]
    bound_node: tuple[str, ...]
    bound_s: tuple[float, ...]
    torn_lines: int = 0


def is_recording(path: str | Path) -> bool:
    """True when ``path`` is a directory holding a recording's ``meta.json``."""
    candidate = Path(path)
    return candidate.is_dir() and (candidate / META_FILE).is_file()


def split_recording_name(name: str) -> tuple[Path, str] | None:
    """(directory, variant) when ``name`` is ``DIR`` or ``DIR:VARIANT`` of a recording."""
    if is_recording(name):
        return Path(name), ""
    head, colon, variant = name.rpartition(":")
    if colon and head and is_recording(head):
        return Path(head), variant
    return None


def recording_entry(directory: Path) -> TraceSet:
    """The catalog-style description of a recording (replayed with ``replay``)."""
    return TraceSet(
        name="recording",
        folder="",
        description=f"a live cluster recorded by `binforge traces record` in {directory}",
        licence="the recording cluster's owner's",
        citation="",
        source=str(directory),
        variants=("all", "train", "validation"),
        protocol="replay",
        has_nodes=True,
        has_pods=True,
    )


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any] | None]]:
    """(line number, object) per line; object None for a torn last line (warned)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise TraceFormatError(path, "a file of the recording (docs/recording.md)") from None
    rows = text.split("\n")
    for number, raw in enumerate(rows, start=1):
        if not raw.strip():
            continue
        last = number == len(rows)  # no newline after it: the write may have been cut
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            if last:
                log.warning("%s: line %d: torn last line skipped (%s)", path, number, exc.msg)
                yield number, None
                continue
            raise TraceFormatError(path, f"a JSON object ({exc.msg})", line=number) from None
        if not isinstance(value, dict):
            raise TraceFormatError(path, "a JSON object", line=number, value=raw[:80])
        yield number, value


class _Line:
    """Typed field access to one line, raising TraceFormatError with file, line, field."""

    def __init__(self, path: Path, number: int, value: Mapping[str, Any]) -> None:
        self.path, self.number, self.value = path, number, value

    def fail(self, field: str, expected: str) -> TraceFormatError:
        return TraceFormatError(
            self.path, expected, line=self.number, column=field, value=self.value.get(field)
        )

    def text(self, field: str, *, required: bool = True) -> str:
        value = self.value.get(field, None if required else "")
        if not isinstance(value, str) or (required and not value):
            raise self.fail(field, "a non-empty string" if required else "a string")
        return value

    def count(self, field: str, low: int = 0, high: int | None = None, default: int = 0) -> int:
        value = self.value.get(field, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise self.fail(field, f"an integer >= {low}")
        if high is not None and value > high:
            raise self.fail(field, f"an integer in {low}..{high}")
        return value

    def time(self) -> float:
        value = self.value.get("t_s")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail("t_s", "seconds since the start (a number >= 0)")
        if not math.isfinite(value) or value < 0:
            raise self.fail("t_s", "seconds since the start (a number >= 0)")
        return float(value)

    def counts(self, field: str) -> dict[str, int]:
        value = self.value.get(field, {})
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0
            for k, v in value.items()
        ):
            raise self.fail(field, "an object of non-negative integer counts")
        return value

    def labels(self) -> dict[str, str]:
        value = self.value.get("labels", {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise self.fail("labels", "an object of string label values")
        return value

    def event(self, allowed: tuple[str, ...]) -> str:
        event = self.value.get("event")
        if event not in allowed:
            raise self.fail("event", f"one of {', '.join(allowed)}")
        return str(event)


def _meta(directory: Path) -> dict[str, Any]:
    path = directory / META_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TraceFormatError(path, "meta.json of a binforge recording") from None
    except json.JSONDecodeError as exc:
        raise TraceFormatError(path, f"a JSON object ({exc.msg})", line=exc.lineno) from None
    if not isinstance(meta, dict):
        raise TraceFormatError(path, "a JSON object")
    if meta.get("format") != FORMAT:
        raise TraceFormatError(path, repr(FORMAT), column="format", value=meta.get("format"))
    if meta.get("version") != FORMAT_VERSION:
        raise TraceFormatError(
            path, f"version {FORMAT_VERSION}", column="version", value=meta.get("version")
        )
    return meta


def _cluster(path: Path, source: str) -> tuple[Cluster, int]:
    capacity: dict[str, dict[str, Any]] = {}
    events: list[tuple[float, str, str]] = []
    torn = 0
    for number, value in _lines(path):
        if value is None:
            torn += 1
            continue
        line = _Line(path, number, value)
        t_s, event, name = line.time(), line.event(("add", "update", "remove")), line.text("name")
        if event == "remove":
            if name not in capacity:
                raise line.fail("name", "a node added on an earlier line")
            events.append((t_s, name, "remove"))
            continue
        capacity[name] = {
            "cpu_milli": line.count("cpu_milli"),
            "memory_mib": line.count("memory_mib"),
            "gpu_count": line.count("gpu_count"),
            "gpu_model": line.text("gpu_model", required=False),
            "extended": line.counts("extended"),
            "labels": line.labels(),
        }
        if event == "add" and t_s > 0:
            events.append((t_s, name, "add"))
    names = list(capacity)
    index = {name: i for i, name in enumerate(names)}
    events.sort(key=lambda e: e[0])
    extended_keys = sorted({k for c in capacity.values() for k in c["extended"]})
    label_keys = sorted({k for c in capacity.values() for k in c["labels"]})
    cluster = Cluster(
        names=np.array(names, dtype=np.str_),
        cpu_milli=np.array([capacity[n]["cpu_milli"] for n in names], dtype=np.int64),
        memory_mib=np.array([capacity[n]["memory_mib"] for n in names], dtype=np.int64),
        gpu_count=np.array([capacity[n]["gpu_count"] for n in names], dtype=np.int64),
        gpu_model=np.array([capacity[n]["gpu_model"] for n in names], dtype=np.str_),
        extended={
            k: np.array([capacity[n]["extended"].get(k, 0) for n in names]) for k in extended_keys
        },
        labels={
            k: np.array([capacity[n]["labels"].get(k, "") for n in names], dtype=np.str_)
            for k in label_keys
        },
        events=NodeEvents(
            np.array([e[0] for e in events], dtype=np.float64),
            np.array([index[e[1]] for e in events], dtype=np.int64),
            np.array([e[2] for e in events], dtype=np.str_),
        ),
        source=source,
    )
    return cluster, torn


def _pods(path: Path) -> tuple[list[dict[str, Any]], int]:
    pods: dict[str, dict[str, Any]] = {}
    torn = 0
    for number, value in _lines(path):
        if value is None:
            torn += 1
            continue
        line = _Line(path, number, value)
        t_s, event, uid = line.time(), line.event(("created", "bound", "deleted")), line.text("uid")
        if event != "created":
            if uid not in pods:
                raise line.fail("uid", "a pod created on an earlier line")
            if event == "bound":
                pods[uid]["node"], pods[uid]["bound_s"] = line.text("node"), t_s
            else:
                pods[uid]["departure_s"] = t_s
            continue
        if uid in pods:
            raise line.fail("uid", "a uid not created before (each pod is created once)")
        num_gpu = line.count("num_gpu")
        gpu_milli = line.count(
            "gpu_milli", low=1 if num_gpu else 0, high=GPU_MILLI_PER_GPU if num_gpu else 0
        )
        if num_gpu > 1 and gpu_milli != GPU_MILLI_PER_GPU:
            raise line.fail("gpu_milli", "1000 for a pod with more than one GPU")
        models = value.get("gpu_models", [])
        if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
            raise line.fail("gpu_models", "a list of GPU model names")
        priority = value.get("priority", 0)
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise line.fail("priority", "an integer")
        pods[uid] = {
            "name": f"{line.text('namespace')}/{line.text('name')}",
            "scheduler": line.text("scheduler", required=False),
            "cpu_milli": line.count("cpu_milli"),
            "memory_mib": line.count("memory_mib"),
            "num_gpu": num_gpu,
            "gpu_milli": gpu_milli,
            "gpu_spec": "|".join(sorted(models)),
            "qos": line.text("qos", required=False),
            "priority": priority,
            "extended": line.counts("extended"),
            "arrival_s": t_s,
            "departure_s": math.nan,
            "node": "",
            "bound_s": math.nan,
        }
    ordered = sorted(pods.values(), key=lambda p: p["arrival_s"])  # stable: line order on ties
    return ordered, torn


def load_recording(directory: str | Path) -> Recording:
    """Load the recording in ``directory``.

    Raises:
        TraceFormatError: a missing file, a wrong format or version, or a malformed line
            (file, line, field and what was expected); a torn last line is only warned.
    """
    root = Path(directory)
    meta = _meta(root)
    source = f"recording {root}" + (f" ({meta['cluster']})" if meta.get("cluster") else "")
    cluster, torn_nodes = _cluster(root / NODES_FILE, source)
    pods, torn_events = _pods(root / EVENTS_FILE)
    keys = sorted({k for p in pods for k in p["extended"]})

    def column(name: str, dtype: Any) -> np.ndarray:
        return np.array([p[name] for p in pods], dtype=dtype)

    workload = Workload(
        names=column("name", np.str_),
        cpu_milli=column("cpu_milli", np.int64),
        memory_mib=column("memory_mib", np.int64),
        num_gpu=column("num_gpu", np.int64),
        gpu_milli=column("gpu_milli", np.int64),
        gpu_spec=column("gpu_spec", np.str_),
        qos=column("qos", np.str_),
        priority=column("priority", np.int64),
        arrival_s=column("arrival_s", np.float64),
        departure_s=column("departure_s", np.float64),
        extended={k: np.array([p["extended"].get(k, 0) for p in pods]) for k in keys},
        source=source,
    )
    return Recording(
        meta=meta,
        cluster=cluster,
        workload=workload,
        schedulers=tuple(p["scheduler"] for p in pods),
        bound_node=tuple(p["node"] for p in pods),
        bound_s=tuple(p["bound_s"] for p in pods),
        torn_lines=torn_nodes + torn_events,
    )


def _window(name: str, variant: str, workload: Workload) -> TimeWindow | None:
    if not variant or variant == "all":
        return None
    if variant in ("train", "validation"):
        if not len(workload):
            raise ScenarioError(f"{name}: the recording has no pods to split")
        train, validation = time_split(workload, TRAIN_FRACTION)
        return train if variant == "train" else validation
    match = _WINDOW.match(variant)
    if match and float(match.group(1)) < float(match.group(2)):
        return TimeWindow(float(match.group(1)), float(match.group(2)))
    raise ScenarioError(
        f"{name}: unknown recording variant {variant!r}; expected all, train, validation "
        "or START-END in seconds (e.g. 0-600)"
    )


def recording_scenario(
    directory: str | Path, variant: str = "", *, seed: int = 0, name: str = ""
) -> Scenario:
    """The recording as a ``replay`` scenario, optionally cut to a time window.

    ``variant``: "" or ``all`` (everything), ``train`` / ``validation`` (the
    :data:`TRAIN_FRACTION` split of the creation times) or ``START-END`` seconds. A
    window keeps the pods created in it, shifted so the window starts at time 0.

    Raises:
        TraceFormatError: a malformed recording.
        ScenarioError: an unknown variant, or a recording without nodes or pods.
    """
    label = name or str(directory)
    recording = load_recording(directory)
    cluster, workload = recording.cluster, recording.workload
    if not len(cluster):
        raise ScenarioError(f"{label}: the recording has no nodes")
    window = _window(label, variant, workload)
    if window is not None:
        workload = window.apply(workload, cluster, seed)
        workload = _shifted(workload, window.start_s)
        cluster = _shifted_events(cluster, window.start_s)
    if not len(workload):
        raise ScenarioError(f"{label}: no pods were created in the recording (or window)")
    resource = "gpu" if int(cluster.gpu_count.sum()) else "cpu_milli"
    return Scenario(label, cluster, workload, Replay("replay", resource, 130.0, seed))


def _shifted(workload: Workload, offset_s: float) -> Workload:
    fields = {
        name: getattr(workload, name)
        for name in (
            "names", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "gpu_spec", "qos",
            "priority", "extended", "source",
        )
    }  # fmt: skip
    return Workload(
        **fields,
        arrival_s=workload.arrival_s - offset_s,
        departure_s=workload.departure_s - offset_s,
    )


def _shifted_events(cluster: Cluster, offset_s: float) -> Cluster:
    """Node events moved by ``-offset_s``; those before the window happen at time 0."""
    events = NodeEvents(
        np.maximum(cluster.events.time_s - offset_s, 0.0), cluster.events.node, cluster.events.kind
    )
    return replace(cluster, events=events)
