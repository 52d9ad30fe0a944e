"""The run directory: one writer at a time, and a resumed run scores like the run it continues."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from heuristics.evolve.config import BudgetConfig, EvolutionConfig, ExecutorConfig, ScenarioRef
from heuristics.evolve.database import ProgramDatabase
from heuristics.evolve.run_dir import (
    DATABASE_FILE,
    RunDirError,
    RunInUseError,
    RunLock,
    config_changes,
    recorded_config,
)


def record_run(run_dir: Path, config: EvolutionConfig) -> Path:
    """A run directory whose database records ``config``, as the engine's first session does."""
    run_dir.mkdir(parents=True, exist_ok=True)
    db = ProgramDatabase(run_dir / DATABASE_FILE, config.database)
    db.set_meta("config", json.loads(json.dumps(asdict(config))))
    db.set_meta("seeded", True)
    db.close()
    return run_dir / DATABASE_FILE


def test_a_second_lock_on_a_run_directory_is_refused_with_the_holders_pid(tmp_path: Path) -> None:
    lock = RunLock(tmp_path)
    with pytest.raises(
        RunInUseError, match=rf"in use by another binforge evolve \(pid {os.getpid()}\)"
    ):
        RunLock(tmp_path)
    lock.release()
    RunLock(tmp_path).release()  # free again once released


def test_a_run_directory_locked_by_another_process_is_refused(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, pathlib; from heuristics.evolve.run_dir import RunLock;"
         " lock = RunLock(pathlib.Path(sys.argv[1])); print('locked', flush=True); sys.stdin.read()",
         str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(RunInUseError, match=rf"{tmp_path} is in use .* \(pid {holder.pid}\)"):
            RunLock(tmp_path)
    finally:
        holder.communicate("")
    RunLock(tmp_path).release()  # the lock ends with its process


def test_the_recorded_config_is_read_back(tmp_path: Path) -> None:
    config = replace(EvolutionConfig(), seed=5, seed_heuristics=("best-fit",))
    record_run(tmp_path, config)
    assert recorded_config(tmp_path) == config


def test_a_run_directory_without_a_readable_recorded_run_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match=f"resume run: no {DATABASE_FILE} in {tmp_path}"):
        recorded_config(tmp_path)
    (tmp_path / DATABASE_FILE).write_bytes(b"")
    with pytest.raises(RunDirError, match=f"no recorded run in {tmp_path}"):
        recorded_config(tmp_path)
    assert (tmp_path / DATABASE_FILE).read_bytes() == b""  # read, never written
    (tmp_path / DATABASE_FILE).write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    with pytest.raises(RunDirError, match=f"read program database {tmp_path / DATABASE_FILE}: "):
        recorded_config(tmp_path)


def test_budget_and_executor_may_change_on_resume_nothing_else() -> None:
    recorded = EvolutionConfig()
    resumable = replace(recorded, budget=BudgetConfig(samples=5000, cost_usd=None),
                        executor=ExecutorConfig(kind="ray", workers=16, proposals_in_flight=8))  # fmt: skip
    assert config_changes(recorded, resumable) == []
    screen = replace(recorded.evaluator, screen=ScenarioRef("uniform:100"))
    changed = replace(recorded, seed=7, evaluator=screen)
    assert config_changes(recorded, changed) == [
        "seed: 0 -> 7",
        "evaluator.screen.name: 'weibull:500' -> 'uniform:100'",
    ]
