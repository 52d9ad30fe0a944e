"""Recording throughput and load time: the writer appends pod events at >= 10,000 lines/s
(far above a busy cluster's churn), and a recording of 20,000 pods (60,000 lines) loads in
under 2 s. Synthetic events, written to a temporary directory."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks import Measurement
from cluster_traces.recording import load_recording
from cluster_traces.recording_writer import NodeRecord, PodRecord, RecordingWriter

_PODS = 20_000
_NODES = 200


def _write(directory: Path) -> float:
    started = time.perf_counter()
    with RecordingWriter(directory) as writer:
        for i in range(_NODES):
            writer.node("add", NodeRecord(f"node-{i}", 64_000, 262_144, 8, "V100"), 0.0)
        for i in range(_PODS):
            writer.created(PodRecord(f"u{i}", "ns", f"p{i}", "s", 1000, 1024, 1, 500), i * 0.1)
            writer.bound(f"u{i}", f"node-{i % _NODES}", i * 0.1 + 0.05)
            writer.deleted(f"u{i}", t_s=i * 0.1 + 60.0)
    return time.perf_counter() - started


def run() -> list[Measurement]:
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch) / "recording"
        rate = (_NODES + 3 * _PODS) / _write(directory)
        started = time.perf_counter()
        load_recording(directory)
        load_s = time.perf_counter() - started
    return [
        Measurement("recording: append events", rate, "lines/s", ">= 10000", rate >= 10_000),
        Measurement("recording: load 20,000 pods", load_s, "s", "< 2 s", load_s < 2.0),
    ]
