"""The evolution engine end to end: real sandbox workers, the real simulator, SQLite.

Runs are tiny (generated Weibull instances of a few hundred items) but go through every
layer: GP proposals, the safety check, the screen-then-train cascade, island bookkeeping,
kill -9 and resume, reproducibility with a seed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from heuristics.evolve.config import (
    BudgetConfig,
    DatabaseConfig,
    EvaluatorConfig,
    EvolutionConfig,
    ExecutorConfig,
    ScenarioRef,
)
from heuristics.evolve.engine import DATABASE_FILE, Engine

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent

TINY = EvolutionConfig(
    seed=3,
    seed_heuristics=("best-fit-cpu", "first-fit"),
    baselines=("best-fit", "first-fit"),
    database=DatabaseConfig(islands=2, migration_period=6, reset_period=12),
    evaluator=EvaluatorConfig(
        screen=ScenarioRef("weibull:100"),
        train=(ScenarioRef("weibull:200", scenario_seed=1),),
        validation=(ScenarioRef("weibull:300", scenario_seed=2),),
    ),
    budget=BudgetConfig(samples=14, cost_usd=None, time_s=120),
    executor=ExecutorConfig(workers=2, proposals_in_flight=1),
)

YAML = """apiVersion: binforge.dev/v1alpha1
kind: EvolutionConfig
seed: 5
seed_heuristics: [best-fit-cpu, first-fit]
database: {islands: 2, migration_period: 6, reset_period: 12}
evaluator:
  screen: {name: "weibull:100"}
  train: [{name: "weibull:200", scenario_seed: 1}]
  validation: [{name: "weibull:300", scenario_seed: 2}]
budget: {samples: 400, time_s: 300, cost_usd: null}
executor: {workers: 1, proposals_in_flight: 1}
"""


def _run(config: EvolutionConfig, run_dir: Path, resume: bool = False) -> Engine:
    engine = Engine(config, run_dir, resume=resume, progress=None)
    try:
        asyncio.run(engine.run())
    finally:
        engine.close()
    return engine


def _rows(run_dir: Path) -> list[tuple]:
    db = sqlite3.connect(run_dir / DATABASE_FILE)
    return db.execute(
        "SELECT sample, island, status, ast_hash, score, parent_ids FROM programs"
        " WHERE sample IS NOT NULL ORDER BY sample"
    ).fetchall()


def test_a_run_records_every_sample_and_scores_the_seeds(tmp_path: Path) -> None:
    _run(TINY, tmp_path / "run")
    rows = _rows(tmp_path / "run")
    assert [r[0] for r in rows] == list(range(14))
    assert {r[1] for r in rows} == {0, 1}
    statuses = {r[2] for r in rows}
    assert statuses <= {"evaluated", "screened", "duplicate", "failed", "invalid"}
    assert "evaluated" in statuses or "screened" in statuses
    db = sqlite3.connect(tmp_path / "run" / DATABASE_FILE)
    seeds = db.execute("SELECT COUNT(*), MIN(score) FROM programs WHERE kind='seed'").fetchone()
    assert seeds[0] == 4 and seeds[1] is not None  # 2 seeds x 2 islands, all scored


def test_spread_seeding_starts_each_seed_on_its_own_islands(tmp_path: Path) -> None:
    config = replace(
        TINY,
        seed_heuristics=("best-fit-cpu", "first-fit", "worst-fit"),
        database=replace(TINY.database, islands=4, seed_islands="spread"),
        budget=replace(TINY.budget, samples=2),
    )
    _run(config, tmp_path / "run")
    db = sqlite3.connect(tmp_path / "run" / DATABASE_FILE)
    homes = db.execute(
        "SELECT proposer, GROUP_CONCAT(island) FROM programs WHERE kind='seed'"
        " GROUP BY proposer ORDER BY proposer"
    ).fetchall()
    # seed k on island k mod 4; the fourth island cycles back to the first seed
    assert [(p, sorted(int(i) for i in islands.split(","))) for p, islands in homes] == [
        ("seed:best-fit-cpu", [0, 3]),
        ("seed:first-fit", [1]),
        ("seed:worst-fit", [2]),
    ]


def test_a_gp_run_with_a_fixed_seed_is_reproducible(tmp_path: Path) -> None:
    _run(TINY, tmp_path / "a")
    _run(replace(TINY, executor=ExecutorConfig(workers=1, proposals_in_flight=2)), tmp_path / "b")
    _run(replace(TINY, seed=4), tmp_path / "c")
    first, second, other = (_rows(tmp_path / d) for d in "abc")
    assert first == second  # same seed, other worker count: same choices, same scores
    assert first != other


def test_with_the_probe_duplicates_skip_the_screen_and_a_seeded_run_stays_reproducible(
    tmp_path: Path,
) -> None:
    probed = replace(TINY, evaluator=replace(TINY.evaluator, probe_decisions=64))
    _run(probed, tmp_path / "a")
    _run(replace(probed, executor=ExecutorConfig(workers=1, proposals_in_flight=2)), tmp_path / "b")
    assert _rows(tmp_path / "a") == _rows(tmp_path / "b")
    db = sqlite3.connect(tmp_path / "a" / DATABASE_FILE)
    by_probe = db.execute(
        "SELECT COUNT(*) FROM programs WHERE status='duplicate' AND errors LIKE '%probe%'"
        " AND screen_score IS NULL AND metrics='{}'"
    ).fetchone()[0]
    probed_rows = db.execute(
        "SELECT COUNT(*) FROM programs WHERE probe_signature IS NOT NULL"
    ).fetchone()[0]
    assert by_probe >= 1  # recognised without a screen run
    assert probed_rows >= by_probe + 4  # the seeds have probe signatures too


def test_an_existing_run_is_not_overwritten_without_resume(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / DATABASE_FILE).write_bytes(b"")
    with pytest.raises(FileExistsError, match="--resume"):
        Engine(TINY, tmp_path / "run", progress=None)


def test_the_final_table_scores_the_winner_and_the_baselines_on_held_out_data(
    tmp_path: Path,
) -> None:
    engine = Engine(TINY, tmp_path / "run", progress=None)
    try:
        asyncio.run(engine.run())
        table = asyncio.run(engine.validate(("best-fit", "first-fit")))
    finally:
        engine.close()
    assert set(table) >= {"best-fit", "first-fit"}
    winner = next(k for k in table if k.startswith("evolved"))
    for result in table.values():
        assert "weibull:300#2" in result["validation_scores"]
    assert table[winner]["train_score"] >= table["first-fit"]["train_score"]


def _worker_pids(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if (
            b"heuristics.sandbox_worker" in cmdline
            and f'"parent_pid": {parent}'.encode() in cmdline
        ):
            found.append(int(entry.name))
    return found


def test_a_run_killed_with_sigkill_resumes_without_losing_finished_evaluations(
    tmp_path: Path,
) -> None:
    config = tmp_path / "evolve.yaml"
    config.write_text(YAML)
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "binforge", "evolve", "--config", str(config),
               "--run-dir", str(run_dir), "--quiet"]  # fmt: skip
    scratch = tmp_path / "tmp"  # a killed run cannot remove its sandbox scratch: keep it here
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    database = run_dir / DATABASE_FILE
    deadline = time.monotonic() + 90
    finished: list[tuple] = []
    while time.monotonic() < deadline and len(finished) < 6:
        time.sleep(0.5)
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        if database.exists():
            try:
                rows = _rows(run_dir)
            except sqlite3.OperationalError:  # the file exists, its tables not yet
                continue
            finished = [r for r in rows if r[2] in ("evaluated", "screened", "duplicate")]
    assert len(finished) >= 6, "the run did not get going"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    time.sleep(0.5)
    assert _worker_pids(process.pid) == []  # no sandbox worker outlives its orchestrator
    before = {r[0]: r for r in _rows(run_dir) if r[2] not in ("pending", "proposed")}
    last = max(r[0] for r in _rows(run_dir))

    resumed = subprocess.run(
        [*command, "--resume", "--budget-samples", str(last + 5)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stderr
    after = {r[0]: r for r in _rows(run_dir)}
    for sample, row in before.items():
        assert after[sample] == row  # every finished evaluation kept as it was
    assert max(after) == last + 4
    assert all(row[2] not in ("pending", "proposed") for row in after.values())


def test_a_run_stopped_with_sigterm_cleans_up_like_ctrl_c(tmp_path: Path) -> None:
    """A job scheduler or ``kill`` sends SIGTERM: the run stops with status 143 after
    closing its sandbox (no worker left, no scratch directory) and its database."""
    config = tmp_path / "evolve.yaml"
    config.write_text(YAML)
    run_dir = tmp_path / "run"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "binforge", "evolve", "--config", str(config),
         "--run-dir", str(run_dir), "--quiet"],
        cwd=ROOT, env={**os.environ, "TMPDIR": str(scratch)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    rows: list[tuple] = []
    while time.monotonic() < deadline and len(rows) < 3:  # mid-run: programs evaluated
        time.sleep(0.5)
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        with contextlib.suppress(sqlite3.OperationalError):  # tables not yet created
            rows = _rows(run_dir) if (run_dir / DATABASE_FILE).exists() else []
    assert list(scratch.glob("binforge-sandbox-*")), "the sandbox never started"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 143
    assert _worker_pids(process.pid) == []
    assert list(scratch.glob("binforge-sandbox-*")) == []  # Ctrl-C's cleanup ran
    assert len(_rows(run_dir)) >= len(rows)  # the database is intact
