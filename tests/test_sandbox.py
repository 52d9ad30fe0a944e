"""The sandbox: confined, warm, reusable workers behind one typed entry point."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from heuristics.sandbox import Sandbox, SandboxLimits

GOOD = "import numpy as np\ndef score(pod, nodes, ctx):\n    return -nodes.cpu_free.astype(float)\n"


def test_a_worker_confines_itself_before_running_anything() -> None:
    with Sandbox(workers=1) as box:
        result = box.run(None, {"kind": "limits"}, timeout_s=30)
    assert result.ok and result.value is not None
    report = result.value
    assert report["file_write_blocked"] == 1
    assert report["address_space_mib"] == SandboxLimits().memory_mib
    if os.getuid() == 0:  # as root the worker drops to nobody, which makes NPROC bite
        assert report["uid"] == 65534
        assert report["fork_blocked"] == 1
        assert report["network_namespace"] == 1
        assert report["network_blocked"] == 1


def test_a_candidate_runs_and_returns_numbers_only() -> None:
    with Sandbox(workers=1) as box:
        result = box.run(GOOD, {"kind": "probe", "pods": 6}, timeout_s=30)
    assert result.ok, result.error
    assert result.value is not None
    placements = result.value["placements"]
    assert len(placements) == 6 and all(isinstance(p, int) for p in placements)
    assert placements[0] == 0  # least free CPU wins, ties to the lowest index


def test_a_warm_worker_answers_in_well_under_100_ms() -> None:
    with Sandbox(workers=1) as box:
        box.warm()
        walls = [box.run(GOOD, {"kind": "ping"}, timeout_s=10).wall_s for _ in range(20)]
    assert sorted(walls)[10] < 0.1


def test_workers_run_in_parallel_and_a_closed_sandbox_refuses_work() -> None:
    box = Sandbox(workers=2)
    box.warm()
    loop = "def score(pod, nodes, ctx):\n    while True:\n        pass\n"
    results = []
    started = time.perf_counter()
    threads = [
        threading.Thread(target=lambda: results.append(box.run(loop, {"kind": "probe"}, 1.5)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.perf_counter() - started < 2.9  # two timeouts overlapped, not queued
    assert [r.ok for r in results] == [False, False]
    box.close()
    with pytest.raises(RuntimeError, match="closed"):
        box.run(GOOD, {"kind": "probe"}, 5)


def test_an_unknown_task_is_a_recorded_failure() -> None:
    with Sandbox(workers=1) as box:
        result = box.run(GOOD, {"kind": "mine-bitcoin"}, timeout_s=30)
    assert not result.ok and result.error is not None and "unknown task" in result.error


def test_a_worker_is_replaced_after_its_task_quota() -> None:
    with Sandbox(workers=1, limits=SandboxLimits(tasks_per_worker=2)) as box:
        pids = []
        for _ in range(4):
            result = box.run(None, {"kind": "limits"}, timeout_s=30)
            assert result.ok and result.value is not None
            pids.append(result.value["pid"])
    assert pids[0] == pids[1] != pids[2] == pids[3]


def test_the_simulate_task_returns_metrics_and_a_behaviour_signature() -> None:
    first_fit = "def score(pod, nodes, ctx):\n    return 0.0 * nodes.cpu_free\n"
    best_fit = "def score(pod, nodes, ctx):\n    return -(nodes.cpu_free - pod.cpu_milli) * 1.0\n"
    task = {
        "kind": "simulate",
        "scenarios": [
            {"name": "uniform:60", "seeds": [0], "label": "u", "scenario_seed": 4},
            {"name": "weibull:60", "seeds": [0, 1], "label": "w"},
        ],
    }
    with Sandbox(workers=1) as box:
        results = [box.run(src, task, 60) for src in (first_fit, best_fit, best_fit)]
    assert all(r.ok for r in results), [r.error for r in results]
    values = [r.value for r in results if r.value is not None]
    assert values[0]["protocols"] == {"u": "elastic", "w": "elastic"}
    assert values[0]["metrics"]["u"]["pods_arrived"] == 5 * 60  # five generated instances
    assert (
        values[0]["metrics"]["w"]["excess_percent"] >= values[1]["metrics"]["w"]["excess_percent"]
    )
    assert values[1]["signature"] == values[2]["signature"] != values[0]["signature"]
    assert values[1]["simulate_s"] < results[1].wall_s


def test_a_relative_trace_directory_still_finds_the_traces(
    trace_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the worker runs in a scratch directory, so a relative BINFORGE_TRACE_DIR (as the
    # README and .ci/run set it) must reach it made absolute
    monkeypatch.chdir(trace_dir.parent)
    monkeypatch.setenv("BINFORGE_TRACE_DIR", os.path.relpath(trace_dir))
    ref = {"name": "alibaba-v2017:loaded-70", "seeds": [0], "label": "v"}
    task = {"kind": "simulate", "scenarios": [ref]}
    with Sandbox(workers=1, limits=SandboxLimits(preload=(ref,))) as box:
        result = box.run(None, task, 60, heuristic="first-fit")
    assert result.ok, result.error
    assert result.value is not None and result.value["metrics"]["v"]["pods_arrived"] > 1000


def test_a_trace_that_fails_to_preload_is_reported_with_its_own_error(tmp_path: Path) -> None:
    # confined, the worker cannot reload (no threads, no files): the first request must
    # report why the preload failed, not that the scenario was never preloaded
    ref = {"name": "orlib:binpack1", "seeds": [0], "label": "b"}
    task = {"kind": "simulate", "scenarios": [ref], "data_dir": str(tmp_path)}
    limits = SandboxLimits(preload=(ref,), data_dir=str(tmp_path))
    with Sandbox(workers=1, limits=limits) as box:
        result = box.run(None, task, 60, heuristic="first-fit")
    assert not result.ok
    assert "load scenario 'orlib:binpack1'" in str(result.error)
    assert str(tmp_path) in str(result.error)
    assert "not preloaded" not in str(result.error)
