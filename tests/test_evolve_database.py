"""The program database: SQLite rows, islands, FunSearch sampling, MAP-Elites, duplicates."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from heuristics.evolve.config import DatabaseConfig
from heuristics.evolve.database import ProgramDatabase, ast_hash, descriptors

SHORT = "def score(pod, nodes, ctx):\n    return -nodes.cpu_free\n"
LONG = (
    "import numpy as np\n\ndef score(pod, nodes, ctx):\n"
    "    x = nodes.cpu_free - pod.cpu_milli\n    y = nodes.memory_free - pod.memory_mib\n"
    "    return -(x / np.maximum(nodes.cpu_total, 1)) - (y / np.maximum(nodes.memory_total, 1))\n"
)


def _source(k: int) -> str:
    return f"def score(pod, nodes, ctx):\n    return -nodes.cpu_free * {k}.5\n"


@pytest.fixture
def db(tmp_path: Path) -> ProgramDatabase:
    return ProgramDatabase(tmp_path / "programs.sqlite", DatabaseConfig(islands=2))


def _scored(
    db: ProgramDatabase, source: str, score: float, island: int = 0, sample: int | None = None
) -> int:
    pid = db.add(sample=sample, island=island, status="proposed", kind="mutation", source=source)
    db.record(pid, status="evaluated", score=score, screen_score=score, signature=pid)
    return pid


def test_the_database_is_sqlite_in_wal_mode_and_keeps_every_field(db: ProgramDatabase) -> None:
    pid = db.add(sample=0, island=1, status="pending", kind="pending", parent_ids=[3, 4])
    db.propose(pid, source=SHORT, kind="diff", proposer="gemini", model="m", prompt="p",
               raw_text="r", input_tokens=10, output_tokens=20, cost_usd=0.5, error=None)  # fmt: skip
    db.record(pid, status="evaluated", score=-1.5, screen_score=-2.0,
              metrics={"train": {"s": {"excess_percent": 1.5}}}, signature=99, eval_s=0.2)  # fmt: skip
    program = db.get(pid)
    assert (program.status, program.kind, program.model, program.parent_ids) == (
        "evaluated",
        "diff",
        "m",
        (3, 4),
    )
    assert program.metrics == {"train": {"s": {"excess_percent": 1.5}}}
    assert program.signature == 99 and program.cost_usd == 0.5
    mode = sqlite3.connect(db.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert db.totals()["cost_usd"] == 0.5 and db.totals()["samples"] == 1


def test_the_ast_hash_ignores_formatting_comments_and_docstrings() -> None:
    a = "def score(pod, nodes, ctx):\n    '''doc'''\n    return -nodes.cpu_free  # tight\n"
    b = "def score(pod,nodes,ctx):\n\n    return (-nodes.cpu_free)\n"
    assert ast_hash(a) == ast_hash(b)
    assert ast_hash(a) != ast_hash(a.replace("cpu_free", "memory_free"))


def test_duplicates_are_known_by_hash_and_by_signature(db: ProgramDatabase) -> None:
    pid = _scored(db, SHORT, -1.0)
    assert ast_hash(SHORT) in db.hashes()
    assert pid in db.signatures()
    invalid = db.add(sample=5, island=0, status="invalid", kind="diff", source=LONG)
    assert ast_hash(LONG) not in db.hashes()  # rejected programs do not block a retry
    assert db.get(invalid).status == "invalid"


def test_reads_see_only_samples_committed_so_far(db: ProgramDatabase) -> None:
    _scored(db, _source(1), -5.0, sample=None)
    _scored(db, _source(2), -1.0, sample=7)
    assert db.best(upto=6).score == -5.0
    assert db.best(upto=7).score == -1.0
    assert db.best_screen_score(upto=6) == -5.0


def test_the_leader_screen_score_is_the_training_best_programs_not_the_best_screen(
    db: ProgramDatabase,
) -> None:
    # A program lucky on the screen (-1.0) but worse in training does not set the bar.
    leader = db.add(sample=1, island=0, status="proposed", kind="mutation", source=_source(1))
    db.record(leader, status="evaluated", score=-2.0, screen_score=-6.0, signature=1)
    lucky = db.add(sample=2, island=0, status="proposed", kind="mutation", source=_source(2))
    db.record(lucky, status="evaluated", score=-3.0, screen_score=-1.0, signature=2)
    assert db.best_screen_score() == -1.0
    assert db.leader_screen_score() == -6.0
    assert db.leader_screen_score(upto=0) is None  # nothing committed before sample 1


def test_parents_come_from_their_island_best_first_favouring_high_scores(
    db: ProgramDatabase,
) -> None:
    for k in range(6):
        _scored(db, _source(k), float(k), island=0)
    _scored(db, _source(50), 100.0, island=1)
    rng = random.Random(0)
    picks = [db.sample_parents(0, 2, 0, rng) for _ in range(200)]
    assert all(len(p) == 2 and p[0].score >= p[1].score for p in picks)
    assert all(
        p.island == 0 for pair in picks for p in pair if p.kind != "mutation" or p.score != 100.0
    )
    firsts = [pair[0].score for pair in picks]
    assert firsts.count(5.0) > firsts.count(1.0)


def test_among_equal_scores_shorter_programs_are_favoured(db: ProgramDatabase) -> None:
    _scored(db, SHORT, 1.0)
    _scored(db, LONG, 1.0)
    rng = random.Random(1)
    picks = [db.sample_parents(0, 1, 0, rng)[0].source for _ in range(300)]
    assert picks.count(SHORT) > picks.count(LONG)


def test_islands_migrate_along_a_ring(tmp_path: Path) -> None:
    db = ProgramDatabase(tmp_path / "p.sqlite", DatabaseConfig(islands=2, migration_period=10))
    weak = _scored(db, _source(1), 1.0, island=0)
    strong = _scored(db, _source(9), 9.0, island=1)
    assert db.evolve_islands(5, random.Random(0)) == []
    events = db.evolve_islands(10, random.Random(0))
    assert f"migrate #{strong} 1->0" in events and f"migrate #{weak} 0->1" in events
    assert db.best(island=0).score == 9.0


def test_the_weaker_half_of_the_islands_is_reset_from_a_strong_one(tmp_path: Path) -> None:
    config = DatabaseConfig(islands=2, migration_period=1000, reset_period=20)
    db = ProgramDatabase(tmp_path / "p.sqlite", config)
    _scored(db, _source(1), 1.0, island=0)
    strong = _scored(db, _source(9), 9.0, island=1)
    events = db.evolve_islands(20, random.Random(0))
    assert events == [f"reset island 0 from #{strong}"]
    island0 = list(db.programs("island=0 AND active=1"))
    assert [(p.score, p.kind, p.parent_ids) for p in island0] == [(9.0, "reset", (strong,))]


def test_the_archive_keeps_the_best_program_per_behaviour_cell(db: ProgramDatabase) -> None:
    _scored(db, SHORT, 1.0)
    better = _scored(db, SHORT.replace("-nodes", "-2 * nodes"), 2.0)
    other = _scored(db, LONG, 0.5)
    archive = db.archive()
    assert descriptors(SHORT, 5) != descriptors(LONG, 5)
    assert archive[descriptors(SHORT, 5)].id == better
    assert archive[descriptors(LONG, 5)].id == other


def test_unfinished_samples_of_a_killed_run_are_marked_lost(db: ProgramDatabase) -> None:
    done = _scored(db, SHORT, 1.0, sample=0)
    left = db.add(sample=1, island=0, status="pending", kind="pending")
    assert db.abandon_unfinished() == 1
    assert db.get(left).status == "lost" and db.get(done).status == "evaluated"
    assert db.last_sample() == 1
