"""A trace file without rows (empty, a header only, ``[]``, ``{}``, no instances) or a node
without any capacity is refused with a TraceFormatError naming the file, instead of loading
as an empty or useless cluster or workload that fails later or simulates every pod failed."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from binforge.cli import main
from cluster_traces.alibaba_gpu import load_alibaba_gpu_nodes, load_alibaba_gpu_pods
from cluster_traces.alibaba_v2017 import load_alibaba_v2017_machines
from cluster_traces.azure import load_azure_vms
from cluster_traces.binpack import load_funsearch, load_orlib
from cluster_traces.errors import TraceFormatError
from cluster_traces.google import MACHINE_EVENTS_FILE, load_google_2019_machines
from cluster_traces.inventories import (
    load_alibaba_v2018_machines,
    load_pai_v2020_machines,
    load_spot_gpu_v2026_nodes,
)
from cluster_traces.philly import load_philly_jobs

NODE_HEADER = "sn,cpu_milli,memory_mib,gpu,model"
POD_HEADER = (
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,"
    "deletion_time,scheduled_time"
)
AFTER_HEADER = "row after the header"


def _refused(load: Callable[[Path], Any], folder: Path) -> TraceFormatError:
    with pytest.raises(TraceFormatError) as error:
        load(folder)
    return error.value


@pytest.mark.parametrize(
    ("name", "text", "load", "row"),
    [
        ("openb_node_list_all_node.csv", NODE_HEADER, load_alibaba_gpu_nodes, AFTER_HEADER),
        ("openb_pod_list_default.csv", POD_HEADER, load_alibaba_gpu_pods, AFTER_HEADER),
        ("node_info_df.csv", "gpu_model,gpu_capacity_num,cpu_num,node_name",
         load_spot_gpu_v2026_nodes, AFTER_HEADER),
        ("machine_meta.csv", "\n\n", load_alibaba_v2018_machines, "row"),
        ("jobs.json", "[]", load_philly_jobs, "job"),
        ("OR3.json", "{}", lambda d: load_funsearch(d / "OR3.json"), "instance"),
        ("binpack1.txt", "0", lambda d: load_orlib(d / "binpack1.txt"), "instance"),
    ],
)  # fmt: skip
def test_a_file_without_rows_is_refused_naming_it(
    tmp_path: Path, name: str, text: str, load: Callable[[Path], Any], row: str
) -> None:
    (tmp_path / name).write_text(text + "\n")
    error = _refused(load, tmp_path)
    assert error.path.name == name
    assert str(error).endswith(f"expected at least one {row} (the file has no rows)")


def test_an_azure_split_without_vms_is_refused_naming_it(tmp_path: Path) -> None:
    (tmp_path / "flav_map.txt").write_text("1,0.75 a\n")
    (tmp_path / "v1.train.txt").write_text("")
    error = _refused(lambda d: load_azure_vms(d, "train"), tmp_path)
    assert error.path.name == "v1.train.txt"
    assert "expected at least one VM (the file has no rows)" in str(error)


@pytest.mark.parametrize("compressed", [False, True], ids=["0-byte", "empty-gzip"])
def test_google_machine_events_without_rows_are_refused(tmp_path: Path, compressed: bool) -> None:
    path = tmp_path / MACHINE_EVENTS_FILE
    if compressed:
        with gzip.open(path, "wb"):
            pass
    else:
        path.write_bytes(b"")
    error = _refused(load_google_2019_machines, tmp_path)
    assert error.path.name == MACHINE_EVENTS_FILE
    assert "expected at least one machine event (the file has no rows)" in str(error)


def test_simulate_on_a_header_only_node_list_exits_2_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "alibaba-gpu-v2023"
    folder.mkdir()
    (folder / "openb_node_list_all_node.csv").write_text(NODE_HEADER + "\n")
    (folder / "openb_pod_list_default.csv").write_text(
        POD_HEADER + "\np-0,1000,1024,1,500,,LS,Running,0,10,0\n"
    )
    argv = ["simulate", "--scenario", "alibaba-gpu-v2023:default", "--policy", "best-fit"]
    assert main([*argv, "--trace-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("binforge simulate: error: ")
    assert "openb_node_list_all_node.csv: expected at least one row after the header" in err


def _google_rows(*capacities: dict[str, float]) -> list[str]:
    return [
        json.dumps({"time": str(i), "machine_id": f"m{i}", "type": "1", "capacity": capacity})
        for i, capacity in enumerate(capacities)
    ]


@pytest.mark.parametrize(
    ("name", "lines", "load", "line", "column"),
    [
        ("openb_node_list_all_node.csv",
         [NODE_HEADER, "n-1,32000,262144,0,", "n-2,0,0,0,"], load_alibaba_gpu_nodes, 3,
         "cpu_milli"),
        # a softerror row holds zeros and is fine; an add row with zeros is not
        ("server_event.csv",
         ["0,1,add,,64,0.69,1", "5,1,softerror,agent_check,0,0,0", "9,2,add,,0,0,0"],
         load_alibaba_v2017_machines, 3, "cpu"),
        ("machine_meta.csv", ["m_1,0,219,17,96,100,USING", "m_2,0,219,17,0,0,USING"],
         load_alibaba_v2018_machines, 2, "cpu_num"),
        ("pai_machine_spec.csv", ["a,CPU,96,512,0", "b,CPU,0,0,0"], load_pai_v2020_machines, 2,
         "cap_cpu"),
        ("node_info_df.csv", ["gpu_model,gpu_capacity_num,cpu_num,node_name", "A,4,192,0",
         "B,0,0,1"], load_spot_gpu_v2026_nodes, 3, "cpu_num"),
    ],
)  # fmt: skip
def test_a_node_without_any_capacity_is_refused_at_its_line(
    tmp_path: Path,
    name: str,
    lines: list[str],
    load: Callable[[Path], Any],
    line: int,
    column: str,
) -> None:
    (tmp_path / name).write_text("\n".join(lines) + "\n")
    error = _refused(load, tmp_path)
    assert (error.path.name, error.line, error.column, error.value) == (name, line, column, 0)
    assert "expected a node with some capacity (CPU, memory or GPUs above 0)" in str(error)


def test_a_google_machine_with_zero_cpus_and_memory_is_refused_at_its_line(
    tmp_path: Path,
) -> None:
    rows = _google_rows({"cpus": 0.5, "memory": 0.25}, {"cpus": 0, "memory": 0})
    with gzip.open(tmp_path / MACHINE_EVENTS_FILE, "wt") as handle:
        handle.write("\n".join(rows) + "\n")
    error = _refused(load_google_2019_machines, tmp_path)
    assert (error.line, error.column) == (2, "capacity")
    assert "expected a capacity above 0 in cpus or memory" in str(error)
