"""Node events: machines join and leave over time, and capacity comes from the latest row.

Google machine events (ADD / REMOVE / UPDATE) and Alibaba 2017 server events (add /
softerror), written as small files in a temporary directory.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from cluster_traces.alibaba_v2017 import load_alibaba_v2017_machines
from cluster_traces.errors import TraceFormatError
from cluster_traces.google import MACHINE_EVENTS_FILE, load_google_2019_machines
from cluster_traces.units import NormalisedUnits

UNITS = NormalisedUnits(cpu_milli_of_1=100_000, memory_mib_of_1=1000)
SECOND = 1_000_000  # the trace counts microseconds


def _write(folder: Path, rows: list[dict[str, object]]) -> None:
    with gzip.open(folder / MACHINE_EVENTS_FILE, "wt") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in rows)


def _event(time_s: int, machine: str, kind: int, cpus: float | None = None) -> dict[str, object]:
    row: dict[str, object] = {
        "time": str(time_s * SECOND),
        "machine_id": machine,
        "type": str(kind),
    }
    if cpus is not None:
        row["capacity"] = {"cpus": cpus, "memory": cpus / 2}
    return row


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    _write(
        tmp_path,
        [
            _event(10, "m1", 3, 1.0),  # UPDATE later in time, listed first: order is by time
            _event(0, "m1", 1, 0.5),
            _event(0, "m2", 1, 0.25),
            _event(5, "m2", 2),  # REMOVE without capacity
            _event(20, "m3", 1, 0.75),
        ],
    )
    return tmp_path


def test_whole_trace_keeps_every_machine_with_its_last_capacity(folder: Path) -> None:
    cluster = load_google_2019_machines(folder, UNITS)
    assert cluster.names.tolist() == ["m1", "m2", "m3"]
    assert cluster.cpu_milli.tolist() == [100_000, 25_000, 75_000]
    assert cluster.memory_mib.tolist() == [500, 125, 375]
    assert cluster.events.time_s.tolist() == [0, 0, 5, 20]
    assert cluster.events.kind.tolist() == ["add", "add", "remove", "add"]


def test_inventory_at_a_time_holds_machines_present_then_with_their_capacity_then(
    folder: Path,
) -> None:
    cluster = load_google_2019_machines(folder, UNITS, at_s=7)
    assert cluster.names.tolist() == ["m1"]
    assert cluster.cpu_milli.tolist() == [50_000]
    later = load_google_2019_machines(folder, UNITS, at_s=30)
    assert later.names.tolist() == ["m1", "m3"]
    assert later.cpu_milli.tolist() == [100_000, 75_000]


def test_unknown_event_type_names_its_line(tmp_path: Path) -> None:
    _write(tmp_path, [_event(0, "m1", 1, 0.5), _event(1, "m1", 9, 0.5)])
    with pytest.raises(TraceFormatError) as error:
        load_google_2019_machines(tmp_path)
    assert (error.value.line, error.value.column) == (2, "type")


def test_machine_without_any_capacity_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path, [_event(0, "m1", 1, 0.5), _event(0, "m9", 1)])
    with pytest.raises(TraceFormatError, match="'m9'"):
        load_google_2019_machines(tmp_path)


def test_alibaba_softerror_removes_a_machine_until_its_next_add(tmp_path: Path) -> None:
    (tmp_path / "server_event.csv").write_text(
        "0,1,add,,64,0.69,1\n"
        "0,2,add,,64,1.0,1\n"
        "100,1,softerror,agent_check,0,0,0\n"
        "200,1,add,,64,0.5,1\n"
    )
    cluster = load_alibaba_v2017_machines(tmp_path, NormalisedUnits(64_000, 1000))
    assert cluster.names.tolist() == ["1", "2"]
    assert cluster.cpu_milli.tolist() == [64_000, 64_000]
    assert cluster.memory_mib.tolist() == [500, 1000]  # the last add of machine 1 wins
    assert cluster.events.time_s.tolist() == [0, 0, 100, 200]
    assert cluster.events.node.tolist() == [0, 1, 0, 0]
    assert cluster.events.kind.tolist() == ["add", "add", "remove", "add"]
