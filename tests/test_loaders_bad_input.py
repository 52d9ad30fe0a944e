"""Corrupted copies of real trace files raise one TraceFormatError naming file, line, column,
value and expectation; nothing is returned partially."""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cluster_traces.alibaba_gpu import load_alibaba_gpu_nodes, load_alibaba_gpu_pods
from cluster_traces.alibaba_v2017 import (
    load_alibaba_v2017_batch_tasks,
    load_alibaba_v2017_cloudsimpy_jobs,
    load_alibaba_v2017_machines,
)
from cluster_traces.azure import load_azure_flavours, load_azure_vms
from cluster_traces.binpack import load_funsearch, load_orlib
from cluster_traces.errors import TraceFormatError
from cluster_traces.google import MACHINE_EVENTS_FILE, load_google_2019_machines
from cluster_traces.philly import load_philly_jobs

pytestmark = pytest.mark.traces

POD_FILE = "openb_pod_list_default.csv"


def _corrupt_line(source: Path, dest: Path, line: int, replace: str) -> None:
    """Copy ``source`` to ``dest`` with 1-based ``line`` replaced."""
    lines = source.read_text().splitlines()
    lines[line - 1] = replace
    dest.write_text("\n".join(lines) + "\n")


@pytest.fixture
def pods_copy(trace_dir: Path, tmp_path: Path) -> tuple[Path, list[str]]:
    source = trace_dir / "alibaba-gpu-v2023" / POD_FILE
    return tmp_path, source.read_text().splitlines()


def _write(folder: Path, lines: list[str]) -> None:
    (folder / POD_FILE).write_text("\n".join(lines) + "\n")


def test_non_numeric_size_names_line_column_and_value(pods_copy: tuple[Path, list[str]]) -> None:
    folder, lines = pods_copy
    fields = lines[16].split(",")
    fields[1] = "abc"
    lines[16] = ",".join(fields)
    _write(folder, lines)
    with pytest.raises(TraceFormatError) as error:
        load_alibaba_gpu_pods(folder)
    assert error.value.line == 17
    assert error.value.column == "cpu_milli"
    assert error.value.value == "abc"
    message = str(error.value)
    assert POD_FILE in message and "line 17" in message and "millicores" in message


def test_negative_size_is_rejected_at_its_line(pods_copy: tuple[Path, list[str]]) -> None:
    folder, lines = pods_copy
    fields = lines[100].split(",")
    fields[2] = "-5"
    lines[100] = ",".join(fields)
    _write(folder, lines)
    with pytest.raises(TraceFormatError) as error:
        load_alibaba_gpu_pods(folder)
    assert (error.value.line, error.value.column, error.value.value) == (101, "memory_mib", -5)


def test_malformed_row_with_missing_fields_names_its_line(
    pods_copy: tuple[Path, list[str]],
) -> None:
    folder, lines = pods_copy
    lines[41] = "openb-pod-x,1000,2048"
    _write(folder, lines)
    with pytest.raises(TraceFormatError) as error:
        load_alibaba_gpu_pods(folder)
    assert error.value.line == 42
    assert "11 comma-separated fields" in str(error.value)


def test_missing_column_is_named(pods_copy: tuple[Path, list[str]]) -> None:
    folder, lines = pods_copy
    _write(folder, [",".join(line.split(",")[:1] + line.split(",")[2:]) for line in lines])
    with pytest.raises(TraceFormatError) as error:
        load_alibaba_gpu_pods(folder)
    assert error.value.column == "cpu_milli"
    assert error.value.line == 1


def test_gpu_share_above_one_gpu_is_rejected(pods_copy: tuple[Path, list[str]]) -> None:
    folder, lines = pods_copy
    fields = lines[5].split(",")
    fields[3], fields[4] = "1", "1500"
    lines[5] = ",".join(fields)
    _write(folder, lines)
    with pytest.raises(TraceFormatError, match="line 6: column gpu_milli: got 1500"):
        load_alibaba_gpu_pods(folder)


def test_node_with_gpus_but_no_model_is_rejected(trace_dir: Path, tmp_path: Path) -> None:
    source = trace_dir / "alibaba-gpu-v2023" / "openb_node_list_all_node.csv"
    _corrupt_line(
        source, tmp_path / "openb_node_list_all_node.csv", 3, "openb-node-x,32000,262144,2,"
    )
    with pytest.raises(TraceFormatError) as error:
        load_alibaba_gpu_nodes(tmp_path)
    assert (error.value.line, error.value.column) == (3, "model")


def test_headerless_file_counts_lines_from_one(trace_dir: Path, tmp_path: Path) -> None:
    source = trace_dir / "alibaba-v2017" / "server_event.csv"
    _corrupt_line(source, tmp_path / "server_event.csv", 4, "0,1,explode,,64,0.69,1")
    with pytest.raises(TraceFormatError) as error:
        load_alibaba_v2017_machines(tmp_path)
    assert (error.value.line, error.value.column, error.value.value) == (4, "event", "explode")


def test_unknown_azure_flavour_names_line_and_vm(trace_dir: Path, tmp_path: Path) -> None:
    folder = trace_dir / "azure-v1-2017"
    for name in ("flav_map.txt", "v1.interval_map.txt"):
        shutil.copy(folder / name, tmp_path)
    lines = (folder / "v1.train.txt").read_text().splitlines()[:50]
    lines[9] = lines[9].split(" ")[0] + " b,b,|,z,|"
    (tmp_path / "v1.train.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(TraceFormatError) as error:
        load_azure_vms(tmp_path, "train")
    assert error.value.line == 10
    assert error.value.value == "z"
    assert "VM 3" in str(error.value)


def test_unknown_azure_unit_in_flavour_map_is_rejected(trace_dir: Path, tmp_path: Path) -> None:
    folder = trace_dir / "azure-v1-2017"
    shutil.copy(folder / "v1.dev.txt", tmp_path)
    _corrupt_line(folder / "flav_map.txt", tmp_path / "flav_map.txt", 2, "1,1.75GB b")
    with pytest.raises(TraceFormatError) as error:
        load_azure_vms(tmp_path, "dev")
    assert error.value.line == 2 and "vCPU,GB" in str(error.value)


def test_orlib_item_larger_than_capacity_is_rejected(trace_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "binpack1.txt"
    _corrupt_line(trace_dir / "binpack/orlib/binpack1.txt", target, 5, "151")
    with pytest.raises(TraceFormatError) as error:
        load_orlib(target)
    assert error.value.line == 5 and error.value.value == "151"


def test_orlib_truncated_file_is_rejected(trace_dir: Path, tmp_path: Path) -> None:
    lines = (trace_dir / "binpack/orlib/binpack1.txt").read_text().splitlines()
    target = tmp_path / "binpack1.txt"
    target.write_text("\n".join(lines[:100]) + "\n")
    with pytest.raises(TraceFormatError, match="end of file"):
        load_orlib(target)


def test_funsearch_negative_item_names_instance_and_index(trace_dir: Path, tmp_path: Path) -> None:
    data = json.loads((trace_dir / "binpack/funsearch/OR3.json").read_text())
    data["u500_03"]["items"][7] = -4
    target = tmp_path / "OR3.json"
    target.write_text(json.dumps(data))
    with pytest.raises(TraceFormatError) as error:
        load_funsearch(target)
    assert error.value.column == "u500_03.items[7]" and error.value.value == -4


def test_google_capacity_out_of_range_names_line(trace_dir: Path, tmp_path: Path) -> None:
    with gzip.open(trace_dir / "google-2019-cell-a" / MACHINE_EVENTS_FILE, "rt") as handle:
        rows = [json.loads(line) for _, line in zip(range(200), handle, strict=False)]
    rows[20]["capacity"] = {"cpus": "lots", "memory": 0.5}
    with gzip.open(tmp_path / MACHINE_EVENTS_FILE, "wt") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in rows)
    with pytest.raises(TraceFormatError) as error:
        load_google_2019_machines(tmp_path)
    assert (error.value.line, error.value.column) == (21, "capacity.cpus")


def test_philly_bad_timestamp_names_the_job(trace_dir: Path, tmp_path: Path) -> None:
    jobs = json.loads((trace_dir / "philly-subset" / "jobs.json").read_text())[:20]
    jobs[12]["submitted_time"] = "yesterday"
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    with pytest.raises(TraceFormatError) as error:
        load_philly_jobs(tmp_path)
    assert error.value.column == "jobs[12].submitted_time"


def _bad_byte_at_line(source: Path, dest: Path, line: int) -> None:
    """Copy ``source`` to ``dest`` (decompressed and recompressed for .gz) with a byte
    that is not UTF-8 at the start of 1-based ``line``."""
    opener = gzip.open if source.suffix == ".gz" else open
    with opener(source, "rb") as handle:
        lines = handle.read().split(b"\n")[:400]
    lines[line - 1] = b"\xff" + lines[line - 1]
    with opener(dest, "wb") as handle:
        handle.write(b"\n".join(lines) + b"\n")


@pytest.mark.parametrize(
    ("folder", "name", "line", "load"),
    [
        ("alibaba-gpu-v2023", POD_FILE, 1, load_alibaba_gpu_pods),  # in the header
        ("alibaba-gpu-v2023", POD_FILE, 30, load_alibaba_gpu_pods),  # in a name column
        ("alibaba-v2017", "server_event.csv", 7, load_alibaba_v2017_machines),
        ("google-2019-cell-a", MACHINE_EVENTS_FILE, 12, load_google_2019_machines),
        ("philly-subset", "jobs.json", 3, load_philly_jobs),
        ("binpack/orlib", "binpack1.txt", 9, lambda d: load_orlib(d / "binpack1.txt")),
    ],
)
def test_a_byte_that_is_not_utf8_is_named_by_file_and_line(
    trace_dir: Path, tmp_path: Path, folder: str, name: str, line: int, load: Callable[[Path], Any]
) -> None:
    for other in (trace_dir / folder).iterdir():  # companions a loader also reads
        if other.is_file() and other.name != name:
            shutil.copy(other, tmp_path)
    _bad_byte_at_line(trace_dir / folder / name, tmp_path / name, line)
    with pytest.raises(TraceFormatError) as error:
        load(tmp_path)
    assert (error.value.path.name, error.value.line) == (name, line)
    assert str(error.value).endswith("got b'\\xff', expected UTF-8 text")


def test_a_byte_order_mark_is_not_part_of_the_first_column_name(
    pods_copy: tuple[Path, list[str]], trace_dir: Path
) -> None:
    folder, lines = pods_copy
    (folder / POD_FILE).write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    with_mark = load_alibaba_gpu_pods(folder)
    assert list(with_mark.names) == list(
        load_alibaba_gpu_pods(trace_dir / "alibaba-gpu-v2023").names
    )


def test_a_repeated_pod_name_names_the_second_line(pods_copy: tuple[Path, list[str]]) -> None:
    folder, lines = pods_copy
    first = lines[5].split(",")[0]
    fields = lines[40].split(",")
    fields[0] = first
    lines[40] = ",".join(fields)
    _write(folder, lines)
    with pytest.raises(TraceFormatError) as error:
        load_alibaba_gpu_pods(folder)
    assert (error.value.line, error.value.column, error.value.value) == (41, "name", first)
    assert "a unique pod name" in str(error.value)


@pytest.mark.parametrize(
    ("name", "loader", "job_column", "task_column"),
    [
        ("batch_task.csv", load_alibaba_v2017_batch_tasks, 2, 3),
        ("cloudsimpy_jobs.csv", load_alibaba_v2017_cloudsimpy_jobs, 5, 6),
    ],
)
def test_a_task_on_two_rows_of_alibaba_v2017_names_the_second(
    trace_dir: Path,
    tmp_path: Path,
    name: str,
    loader: Callable[[Path], Any],
    job_column: int,
    task_column: int,
) -> None:
    lines = (trace_dir / "alibaba-v2017" / name).read_text().splitlines()[:60]
    first = lines[3].split(",")
    repeat = lines[50].split(",")
    repeat[job_column], repeat[task_column] = first[job_column], first[task_column]
    lines[50] = ",".join(repeat)
    (tmp_path / name).write_text("\n".join(lines) + "\n")
    with pytest.raises(TraceFormatError) as error:
        loader(tmp_path)
    task = f"{first[job_column]}/{first[task_column]}"
    assert (error.value.line, error.value.column, error.value.value) == (51, "task_id", task)
    assert "one row per task" in str(error.value)


def test_a_repeated_philly_job_id_names_both_jobs(trace_dir: Path, tmp_path: Path) -> None:
    jobs = json.loads((trace_dir / "philly-subset" / "jobs.json").read_text())[:20]
    jobs[15]["id"] = jobs[4]["id"]
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    with pytest.raises(TraceFormatError) as error:
        load_philly_jobs(tmp_path)
    assert error.value.column == "jobs[15].id"
    assert "a unique job id (jobs[4] has it)" in str(error.value)


def test_a_normalised_memory_above_one_is_rejected_at_its_line(
    trace_dir: Path, tmp_path: Path
) -> None:
    source = trace_dir / "alibaba-v2017" / "server_event.csv"
    fields = source.read_text().splitlines()[5].split(",")
    fields[5] = "1.5"
    _corrupt_line(source, tmp_path / "server_event.csv", 6, ",".join(fields))
    with pytest.raises(TraceFormatError) as error:
        load_alibaba_v2017_machines(tmp_path)
    assert (error.value.line, error.value.column, error.value.value) == (6, "mem", 1.5)


def test_a_lifetime_line_missing_from_azure_names_that_line(
    trace_dir: Path, tmp_path: Path
) -> None:
    folder = trace_dir / "azure-v1-2017"
    for name in ("flav_map.txt", "v1.interval_map.txt", "v1.dev.txt"):
        shutil.copy(folder / name, tmp_path)
    lines = (folder / "v1.dev.c2100000.txt").read_text().splitlines()
    del lines[5]
    (tmp_path / "v1.dev.c2100000.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(TraceFormatError) as error:
        load_azure_vms(tmp_path, "dev")
    assert error.value.line == 6 and "the same bins and VM counts" in str(error.value)


@pytest.mark.parametrize("written", ["nan", "", "inf"])
def test_a_time_that_is_not_a_number_is_shown_as_written(
    pods_copy: tuple[Path, list[str]], written: str
) -> None:
    folder, lines = pods_copy
    header = lines[0].split(",")
    fields = lines[9].split(",")
    fields[header.index("creation_time")] = written
    lines[9] = ",".join(fields)
    _write(folder, lines)
    with pytest.raises(TraceFormatError) as error:
        load_alibaba_gpu_pods(folder)
    assert (error.value.line, error.value.column) == (10, "creation_time")
    assert error.value.value == (float(written) if written == "inf" else written)


def test_a_misspelt_optional_column_is_refused_not_taken_as_absent(tmp_path: Path) -> None:
    header = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,creation_time,Deletion_Time"
    _write(tmp_path, [header, "p-0,1000,1024,0,0,,0,60"])
    with pytest.raises(TraceFormatError) as error:
        load_alibaba_gpu_pods(tmp_path)
    assert (error.value.line, error.value.value) == (1, "Deletion_Time")
    assert "expected a column name of this file (" in str(error.value)
    assert "'deletion_time'" in str(error.value)


def test_a_repeated_azure_flavour_letter_names_both_lines(tmp_path: Path) -> None:
    (tmp_path / "flav_map.txt").write_text("1,0.75 a\n1,1.75 b\n16,112 a\n")
    with pytest.raises(TraceFormatError) as error:
        load_azure_flavours(tmp_path)
    assert (error.value.line, error.value.value) == (3, "16,112 a")
    assert "expected a letter not defined before (line 1 defines 'a')" in str(error.value)
