"""``binforge traces list | info | fetch`` through the real command line."""

from __future__ import annotations

import functools
import http.server
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from binforge.cli import main


def test_info_json_reports_the_alibaba_gpu_counts(trace_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "binforge", "traces", "info", "alibaba-gpu-v2023:default",
         "--json"],
        capture_output=True, text=True, check=True, env={"BINFORGE_TRACE_DIR": str(trace_dir)},
    )  # fmt: skip
    summary = json.loads(done.stdout)
    assert summary["cluster"]["nodes"] == 1523
    assert summary["cluster"]["gpu_nodes"] == 1213
    assert summary["cluster"]["gpus"] == 6212
    assert summary["workload"]["pods"] == 8152
    assert summary["workload"]["arrival_span_s"][0] == 0
    assert len(summary["workload"]["top_shapes"]) == 5
    assert "Fragmentation Gradient Descent" in summary["citation"]


def test_info_of_bin_packing_set_reports_instances(
    trace_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["traces", "info", "orlib:binpack3", "--json", "--trace-dir", str(trace_dir)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["instances"]["count"] == 20
    assert summary["instances"]["items"] == [500]
    assert summary["instances"]["capacity"] == [150]


def test_info_text_of_the_synthetic_default_needs_no_files(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["traces", "info", "synthetic"]) == 0
    out = capsys.readouterr().out
    assert "nodes: 24" in out and "top_shapes:" in out


def test_unknown_name_exits_2_with_the_known_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["traces", "info", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("binforge traces: error: unknown scenario 'nope'")
    assert "alibaba-gpu-v2023:default" in err


def test_list_marks_present_and_missing_sets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BINFORGE_TRACE_DIR", str(tmp_path))
    assert main(["traces", "list", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["synthetic"]["present"] is True
    assert rows["alibaba-gpu-v2023"]["present"] is False
    assert rows["azure-v1-2017"]["licence"].startswith("CC BY 4.0")
    assert len(rows) == 13  # the catalog, generated uniform instances included


def test_list_shows_real_sets_present(
    trace_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BINFORGE_TRACE_DIR", str(trace_dir))
    assert main(["traces", "list"]) == 0
    out = capsys.readouterr().out
    assert "missing" not in out
    assert "google-2019-cell-a       present" in out


def test_fetch_from_a_local_mirror_then_info_reads_it(
    trace_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(trace_dir))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        code = main(
            ["traces", "fetch", "philly-subset", "--dest", str(tmp_path), "--base-url", url]
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert code == 0
    assert "verified" in capsys.readouterr().out
    assert main(["traces", "info", "philly-subset", "--json", "--trace-dir", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["workload"]["pods"] == 3034


def test_fetch_offline_exits_2_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["traces", "fetch", "philly-subset", "--dest", str(tmp_path),
                 "--base-url", "http://127.0.0.1:9", "--timeout", "2"])  # fmt: skip
    assert code == 2
    assert "cannot reach the server" in capsys.readouterr().err


def test_info_of_a_set_with_an_inventory_reports_both(
    trace_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["traces", "info", "philly-subset@20x96c-512g-8gpu-V100", "--json"]
    assert main([*args, "--trace-dir", str(trace_dir)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["cluster"]["gpus"] == 160
    assert summary["workload"]["pods"] == 3034


def test_fetch_without_destination_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("BINFORGE_TRACE_DIR", raising=False)
    assert main(["traces", "fetch", "philly-subset"]) == 2
    assert "pass --dest DIR or set BINFORGE_TRACE_DIR" in capsys.readouterr().err


def test_fetch_of_an_unknown_set_lists_the_known_sets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["traces", "fetch", "borg-2011", "--dest", str(tmp_path)]) == 2
    assert "known: alibaba-gpu-v2023" in capsys.readouterr().err


def test_fetch_refuses_a_file_as_destination_and_a_timeout_of_no_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    a_file = tmp_path / "traces"
    a_file.write_text("not a directory\n")
    assert main(["traces", "fetch", "philly-subset", "--dest", str(a_file)]) == 2
    assert f"--dest {a_file}: is a file; expected a directory" in capsys.readouterr().err
    assert main(["traces", "fetch", "philly-subset", "--dest", str(tmp_path),
                 "--timeout", "-1"]) == 2  # fmt: skip
    assert "--timeout: expected seconds > 0, got -1" in capsys.readouterr().err
    monkeypatch.setenv("BINFORGE_TRACE_DIR", str(a_file))
    assert main(["traces", "fetch", "philly-subset"]) == 2
    assert f"$BINFORGE_TRACE_DIR {a_file}: is a file" in capsys.readouterr().err
