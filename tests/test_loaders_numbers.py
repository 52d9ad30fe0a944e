"""Numbers a loader cannot use (NaN, infinities, bin-packing sizes with more decimals than
the elastic simulator can scale to integers) are refused when the file is loaded, with a
TraceFormatError naming the file and the line or field, never a raw Python error later."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cluster_traces.alibaba_gpu import load_alibaba_gpu_pods
from cluster_traces.azure import duration_bins, load_azure_flavours, load_azure_vms
from cluster_traces.binpack import load_funsearch, load_orlib
from cluster_traces.errors import TraceFormatError
from cluster_traces.model import MAX_SIZE_DECIMALS
from cluster_traces.philly import load_philly_jobs
from simulator.elastic import integer_scale

POD_HEADER = (
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,"
    "deletion_time,scheduled_time"
)


@pytest.mark.parametrize("written", ["nan,2", "1,inf", "-1,2"])
def test_an_azure_flavour_size_must_be_positive_and_finite(tmp_path: Path, written: str) -> None:
    (tmp_path / "flav_map.txt").write_text(f"1,0.75 a\n{written} c\n")
    with pytest.raises(TraceFormatError) as error:
        load_azure_flavours(tmp_path)
    assert (error.value.path.name, error.value.line) == ("flav_map.txt", 2)
    assert "expected 'vCPU,GB LETTER' with positive finite sizes" in str(error.value)


def test_an_azure_time_stamp_must_be_finite(tmp_path: Path) -> None:
    (tmp_path / "flav_map.txt").write_text("1,0.75 a\n")
    (tmp_path / "v1.train.txt").write_text("0 a\nnan a,a\n300 a\n")
    with pytest.raises(TraceFormatError) as error:
        load_azure_vms(tmp_path, "train")
    assert (error.value.path.name, error.value.line, error.value.column) == (
        "v1.train.txt",
        2,
        "time",
    )
    assert error.value.value == "nan"


def test_an_azure_duration_bound_must_be_finite(tmp_path: Path) -> None:
    (tmp_path / "v1.interval_map.txt").write_text("0 0\nnan 1\n600 2\n")
    with pytest.raises(TraceFormatError) as error:
        duration_bins(tmp_path)
    assert (error.value.path.name, error.value.line) == ("v1.interval_map.txt", 2)
    assert "expected 2 finite non-negative numbers" in str(error.value)


@pytest.mark.parametrize("runtime", [np.nan, np.inf])  # json writes NaN, Infinity
def test_a_philly_runtime_must_be_finite(tmp_path: Path, runtime: float) -> None:
    jobs = [
        {"id": f"j{i}", "num_gpus": 1, "runtime": minutes, "submitted_time": "2017-10-07 01:12:09"}
        for i, minutes in enumerate([5.5, runtime])
    ]
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    with pytest.raises(TraceFormatError) as error:
        load_philly_jobs(tmp_path)
    assert error.value.column == "jobs[1].runtime"
    assert "expected a finite non-negative runtime (minutes)" in str(error.value)


def test_a_written_nan_deletion_time_is_refused_but_an_empty_one_means_never(
    tmp_path: Path,
) -> None:
    rows = ["p-0,1000,1024,0,0,,LS,Running,0,,0", "p-1,1000,1024,0,0,,LS,Running,5,nan,5"]
    path = tmp_path / "openb_pod_list_default.csv"
    path.write_text("\n".join([POD_HEADER, *rows]) + "\n")
    with pytest.raises(TraceFormatError) as error:
        load_alibaba_gpu_pods(tmp_path)
    assert (error.value.line, error.value.column, error.value.value) == (3, "deletion_time", "nan")

    path.write_text("\n".join([POD_HEADER, rows[0]]) + "\n")
    assert np.isnan(load_alibaba_gpu_pods(tmp_path).departure_s[0])


@pytest.mark.parametrize("capacity", [np.nan, np.inf, 0])
def test_a_funsearch_capacity_must_be_positive_and_finite(tmp_path: Path, capacity: float) -> None:
    path = tmp_path / "OR3.json"
    path.write_text(json.dumps({"u_0": {"capacity": capacity, "num_items": 1, "items": [1]}}))
    with pytest.raises(TraceFormatError) as error:
        load_funsearch(path)
    assert error.value.column == "u_0.capacity"
    assert str(error.value.value) == str(capacity)
    assert "expected a positive finite number with at most 4 decimals" in str(error.value)


def test_a_funsearch_item_must_be_finite(tmp_path: Path) -> None:
    path = tmp_path / "OR3.json"
    path.write_text(json.dumps({"u_0": {"capacity": 150, "num_items": 2, "items": [1, np.nan]}}))
    with pytest.raises(TraceFormatError) as error:
        load_funsearch(path)
    assert error.value.column == "u_0.items[1]"


def _orlib(path: Path, items: list[str]) -> Path:
    path.write_text("\n".join(["1", " u_0 ", f" 150 {len(items)} 1", *items]) + "\n")
    return path


def test_an_orlib_item_with_more_decimals_than_the_simulator_scales_is_refused(
    tmp_path: Path,
) -> None:
    path = _orlib(tmp_path / "binpack1.txt", ["42", "42.123456"])
    with pytest.raises(TraceFormatError) as error:
        load_orlib(path)
    assert (error.value.line, error.value.value) == (5, "42.123456")
    assert f"with at most {MAX_SIZE_DECIMALS} decimals (item size)" in str(error.value)


def test_an_orlib_item_with_the_most_decimals_allowed_loads_and_scales(tmp_path: Path) -> None:
    (instance,) = load_orlib(_orlib(tmp_path / "binpack1.txt", ["42", "42.1234"]))
    assert integer_scale(instance) == 10**MAX_SIZE_DECIMALS
