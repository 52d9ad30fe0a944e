"""The recording format (docs/recording.md): what is written loads back as written; a torn
last line (a killed recorder) is skipped with a warning; malformed lines name the file, line
and field; a recording directory is a scenario name with a time-based train/validation split."""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cluster_traces.derive import time_split
from cluster_traces.errors import ScenarioError, TraceFormatError
from cluster_traces.recording import load_recording, recording_scenario
from cluster_traces.recording_writer import NodeRecord, PodRecord, RecordingWriter
from cluster_traces.scenarios import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def _pod(i: int, **changes: object) -> PodRecord:
    fields: dict[str, object] = {
        "uid": f"uid-{i}",
        "namespace": "team-a",
        "name": f"pod-{i}",
        "scheduler": "binforge",
        "cpu_milli": 500 + i,
        "memory_mib": 1024,
        "num_gpu": 1 if i % 3 == 0 else 0,
        "gpu_milli": 500 if i % 3 == 0 else 0,
        "gpu_models": ("V100",) if i % 6 == 0 else (),
        "priority": i % 2,
        "qos": "Burstable",
    }
    return PodRecord(**(fields | changes))  # type: ignore[arg-type]


def write_small(directory: Path) -> None:
    """Two GPU nodes and one CPU node at the start, a node added at 5 s and one removed at
    15 s; ten pods created a second apart, bound 0.5 s later, the even ones deleted 4 s later."""
    with RecordingWriter(directory, cluster="unit") as writer:
        writer.node("add", NodeRecord("gpu-a", 32_000, 131_072, 4, "V100", {}, {"pool": "a"}), 0)
        writer.node("add", NodeRecord("gpu-b", 32_000, 131_072, 4, "T4", {}, {"pool": "b"}), 0)
        writer.node("add", NodeRecord("cpu-a", 64_000, 262_144, 0, "", {"x/fpga": 2}, {}), 0)
        writer.node("add", NodeRecord("late", 16_000, 65_536, 0, "", {}, {}), 5.0)
        writer.node("remove", "cpu-a", 15.0)
        for i in range(10):
            writer.created(_pod(i), t_s=float(i))
            writer.bound(f"uid-{i}", "gpu-a", t_s=i + 0.5)
            if i % 2 == 0:
                writer.deleted(f"uid-{i}", t_s=i + 4.0)


def test_a_recording_loads_back_as_written(tmp_path: Path) -> None:
    write_small(tmp_path)
    recording = load_recording(tmp_path)
    cluster, workload = recording.cluster, recording.workload
    assert list(cluster.names) == ["gpu-a", "gpu-b", "cpu-a", "late"]
    assert list(cluster.cpu_milli) == [32_000, 32_000, 64_000, 16_000]
    assert list(cluster.gpu_count) == [4, 4, 0, 0]
    assert list(cluster.gpu_model) == ["V100", "T4", "", ""]
    assert list(cluster.extended["x/fpga"]) == [0, 0, 2, 0]
    assert list(cluster.labels["pool"]) == ["a", "b", "", ""]
    assert list(cluster.events.time_s) == [5.0, 15.0]
    assert list(cluster.events.kind) == ["add", "remove"]
    assert [cluster.names[i] for i in cluster.events.node] == ["late", "cpu-a"]
    assert list(workload.names) == [f"team-a/pod-{i}" for i in range(10)]
    assert list(workload.cpu_milli) == [500 + i for i in range(10)]
    assert list(workload.gpu_milli[::3]) == [500] * 4
    assert workload.gpu_spec[0] == "V100" and workload.gpu_spec[3] == ""
    assert list(workload.arrival_s) == [float(i) for i in range(10)]
    assert list(workload.departure_s[::2]) == [i + 4.0 for i in range(0, 10, 2)]
    assert np.isnan(workload.departure_s[1::2]).all()
    assert recording.bound_node == ("gpu-a",) * 10
    assert recording.bound_s[3] == 3.5
    assert recording.schedulers == ("binforge",) * 10
    assert recording.meta["cluster"] == "unit"


def test_a_recording_directory_is_a_replay_scenario(tmp_path: Path) -> None:
    write_small(tmp_path)
    scenario = load_scenario(str(tmp_path))
    assert scenario.replay.protocol == "replay"
    assert scenario.replay.target_resource == "gpu"
    assert scenario.workload is not None and len(scenario.workload) == 10


def test_train_and_validation_split_the_recording_by_creation_time(tmp_path: Path) -> None:
    write_small(tmp_path)
    train = load_scenario(f"{tmp_path}:train")
    validation = load_scenario(f"{tmp_path}:validation")
    assert train.workload is not None and validation.workload is not None
    # Creation times 0..9 s, split at 70% of the span (6.3 s): 0..6 train, 7..9 validation.
    assert list(train.workload.names) == [f"team-a/pod-{i}" for i in range(7)]
    assert list(validation.workload.names) == [f"team-a/pod-{i}" for i in range(7, 10)]
    # Shifted so the window starts at 0; the node added before the window is there at 0.
    assert validation.workload.arrival_s[0] == pytest.approx(7.0 - 6.3)
    assert validation.cluster is not None
    assert list(validation.cluster.events.time_s) == pytest.approx([0.0, 15.0 - 6.3])


def test_time_split_puts_every_timed_pod_in_exactly_one_window(tmp_path: Path) -> None:
    write_small(tmp_path)
    workload = load_recording(tmp_path).workload
    train, validation = time_split(workload, 0.5)
    cluster = load_recording(tmp_path).cluster
    kept = len(train.apply(workload, cluster, 0)) + len(validation.apply(workload, cluster, 0))
    assert kept == len(workload)
    with pytest.raises(ValueError, match="train_fraction"):
        time_split(workload, 1.0)


def test_an_unknown_window_is_refused_with_the_accepted_forms(tmp_path: Path) -> None:
    write_small(tmp_path)
    with pytest.raises(ScenarioError, match="train, validation or START-END"):
        recording_scenario(tmp_path, "later")
    assert len(recording_scenario(tmp_path, "2-5").workload or ()) == 3


def test_a_torn_last_line_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_small(tmp_path)
    with (tmp_path / "events.jsonl").open("a") as handle:
        handle.write('{"t_s":12.0,"event":"created","uid":"uid-99","namesp')
    with caplog.at_level(logging.WARNING, logger="binforge.recording"):
        recording = load_recording(tmp_path)
    assert recording.torn_lines == 1
    assert len(recording.workload) == 10
    assert "torn last line" in caplog.text and "events.jsonl" in caplog.text


_KILLED_WRITER = """
import sys
from pathlib import Path
from cluster_traces.recording_writer import NodeRecord, PodRecord, RecordingWriter
writer = RecordingWriter(Path(sys.argv[1]))
writer.node("add", NodeRecord("n", 64000, 262144, 0), 0)
i = 0
while True:
    writer.created(PodRecord(f"u{i}", "ns", f"p{i}", "s", 100, 100))
    i += 1
    if i == 200:
        print("ready", flush=True)
"""


def test_a_recorder_killed_with_sigkill_leaves_a_readable_trace(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
        time.sleep(0.05)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    whole_lines = (tmp_path / "events.jsonl").read_bytes().count(b"\n")
    recording = load_recording(tmp_path)
    assert len(recording.workload) >= 200
    assert len(recording.workload) == whole_lines
    assert list(recording.workload.names[:2]) == ["ns/p0", "ns/p1"]


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ('{"t_s":1,"event":"created","uid":"x","namespace":"n","name":"p","cpu_milli":"abc",'
         '"memory_mib":1}', "cpu_milli"),
        ('{"t_s":-1,"event":"deleted","uid":"uid-1"}', "t_s"),
        ('{"t_s":1,"event":"exploded","uid":"uid-1"}', "event"),
        ('{"t_s":1,"event":"bound","uid":"nobody","node":"gpu-a"}', "uid"),
        ('{"t_s":1,"event":"bound","uid":"uid-1"}', "node"),
        ('{"t_s":1,"event":"created","uid":"y","namespace":"n","name":"p","cpu_milli":1,'
         '"memory_mib":1,"num_gpu":1,"gpu_milli":1500}', "gpu_milli"),
        ('{"t_s":1,"event":"created","uid":"uid-2","namespace":"n","name":"p","cpu_milli":1,'
         '"memory_mib":1}', "uid"),
    ],
)  # fmt: skip
def test_a_malformed_event_line_names_file_line_and_field(
    tmp_path: Path, line: str, field: str
) -> None:
    write_small(tmp_path)
    events = tmp_path / "events.jsonl"
    count = len(events.read_text().splitlines())
    with events.open("a") as handle:
        handle.write(line + "\n")
    with pytest.raises(TraceFormatError) as caught:
        load_recording(tmp_path)
    assert caught.value.path == events
    assert caught.value.line == count + 1
    assert caught.value.column == field


def test_a_malformed_line_before_the_last_one_is_an_error_not_a_torn_line(
    tmp_path: Path,
) -> None:
    write_small(tmp_path)
    nodes = tmp_path / "nodes.jsonl"
    rows = nodes.read_text().splitlines()
    rows[1] = rows[1][:20]
    nodes.write_text("\n".join(rows) + "\n")
    with pytest.raises(TraceFormatError, match=r"nodes.jsonl: line 2: expected a JSON object"):
        load_recording(tmp_path)


def test_a_node_removed_before_it_was_added_is_an_error(tmp_path: Path) -> None:
    write_small(tmp_path)
    with (tmp_path / "nodes.jsonl").open("a") as handle:
        handle.write('{"t_s":20,"event":"remove","name":"ghost"}\n')
    with pytest.raises(TraceFormatError, match="line 6: column name"):
        load_recording(tmp_path)


def test_meta_json_must_name_the_format_and_version(tmp_path: Path) -> None:
    write_small(tmp_path)
    meta = json.loads((tmp_path / "meta.json").read_text())
    (tmp_path / "meta.json").write_text(json.dumps(meta | {"version": 99}))
    with pytest.raises(TraceFormatError, match="column version: got 99, expected version 1"):
        load_recording(tmp_path)
    (tmp_path / "meta.json").unlink()
    with pytest.raises(TraceFormatError, match=r"meta\.json"):
        load_recording(tmp_path)


def test_a_missing_events_file_is_named(tmp_path: Path) -> None:
    write_small(tmp_path)
    (tmp_path / "events.jsonl").unlink()
    with pytest.raises(TraceFormatError, match=r"events\.jsonl"):
        load_recording(tmp_path)


def test_the_writer_never_appends_to_an_existing_recording(tmp_path: Path) -> None:
    write_small(tmp_path)
    with pytest.raises(FileExistsError, match="already there"):
        RecordingWriter(tmp_path)


def test_the_writer_drops_a_second_event_of_one_kind_for_one_pod(tmp_path: Path) -> None:
    with RecordingWriter(tmp_path) as writer:
        writer.node("add", NodeRecord("n", 1000, 1024, 0), 0)
        assert writer.created(_pod(1), 0.0)
        assert not writer.created(_pod(1), 1.0)
        assert writer.bound("uid-1", "n", 2.0)
        assert not writer.bound("uid-1", "other", 3.0)
        with pytest.raises(ValueError, match="before created"):
            writer.deleted("uid-7")
        assert writer.duplicates_dropped == 2
    recording = load_recording(tmp_path)
    assert recording.bound_node == ("n",)
    assert math.isnan(recording.workload.departure_s[0])
