"""The program database: every candidate of a run, in SQLite (WAL) inside the run directory.

Rows are written as soon as something is known (a proposal, its evaluation), so a run
killed at any moment keeps every finished evaluation. On top of the rows:

* **islands** evolve apart: each program lives on one island, parents come from their
  child's island; every ``migration_period`` samples each island's best is copied to the
  next island (a ring), every ``reset_period`` samples the weaker half of the islands is
  retired and refounded from the best program of a surviving island (FunSearch);
* **parent sampling**: programs of an island are grouped by score; a group is chosen by a
  softmax over normalised scores with a temperature that decays over
  ``temperature_period`` samples, and within a group shorter programs are favoured;
* a **MAP-Elites archive** keeps the best program per cell of behaviour descriptors
  (input features read, program size) and supplies a diverse second parent;
* **duplicates**: by normalised-AST hash before evaluation, by probe signature (identical
  choices on the probe's recorded decisions) before the screen, and by behaviour
  signature (identical placements on the screening scenario) after it.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import math
import random
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heuristics.evolve.config import DatabaseConfig

__all__ = [
    "Program",
    "ProgramDatabase",
    "ast_hash",
    "descriptors",
    "program_size",
    "rank",
    "read_programs",
]

Status = str
"""``proposed``, ``invalid`` (no usable source), ``duplicate``, ``failed``, ``screened``
(stopped after the screen) or ``evaluated`` (fully scored); copies made by migrations
and resets are ``evaluated`` with kind ``migration`` or ``reset``."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS programs (
    id INTEGER PRIMARY KEY,
    sample INTEGER,
    island INTEGER NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    status TEXT NOT NULL,
    kind TEXT NOT NULL,
    source TEXT,
    ast_hash TEXT,
    size INTEGER,
    parent_ids TEXT NOT NULL DEFAULT '[]',
    proposer TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    prompt TEXT NOT NULL DEFAULT '',
    raw_text TEXT NOT NULL DEFAULT '',
    errors TEXT NOT NULL DEFAULT '[]',
    screen_score REAL,
    score REAL,
    metrics TEXT NOT NULL DEFAULT '{}',
    signature INTEGER,
    probe_signature INTEGER,
    cell TEXT,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    eval_s REAL NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    evaluated_at REAL
);
CREATE INDEX IF NOT EXISTS programs_island ON programs (island, active, status);
CREATE INDEX IF NOT EXISTS programs_hash ON programs (ast_hash);
CREATE UNIQUE INDEX IF NOT EXISTS programs_sample ON programs (sample);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

_FEATURE_ATTRIBUTES = [
    "cpu_free",
    "cpu_total",
    "memory_free",
    "memory_total",
    "gpu_free",
    "gpu_idle",
    "gpu_total",
    "gpu_free_milli",
    "gpu_model",
    "pods",
    "cpu_milli",
    "memory_mib",
    "num_gpu",
    "gpu_milli",
    "gpu_milli_total",
]


@dataclass(frozen=True)
class Program:
    """One row of the database (the fields the engine and the report read)."""

    id: int
    sample: int | None
    island: int
    status: Status
    kind: str
    source: str | None
    score: float | None
    screen_score: float | None
    size: int
    parent_ids: tuple[int, ...]
    proposer: str
    model: str
    metrics: Mapping[str, Any]
    errors: tuple[str, ...]
    signature: int | None
    cost_usd: float
    cell: tuple[int, int] | None = None


def ast_hash(source: str) -> str:
    """Hash of the normalised syntax tree: formatting, comments and docstrings ignored.

    Raises:
        SyntaxError: when ``source`` does not parse.
    """
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            body.pop(0)
            if not body:
                body.append(ast.Pass())
    return hashlib.sha256(ast.dump(tree, annotate_fields=False).encode()).hexdigest()[:32]


def program_size(source: str) -> int:
    """Syntax nodes of ``source`` (the length that parent sampling favours short)."""
    return sum(1 for _ in ast.walk(ast.parse(source)))


def descriptors(source: str, bins: int) -> tuple[int, int]:
    """MAP-Elites cell: (distinct input features read, size bin), each in 0..bins-1."""
    tree = ast.parse(source)
    features = {
        n.attr
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and n.attr in _FEATURE_ATTRIBUTES
    }
    size = sum(1 for _ in ast.walk(tree))
    size_bin = int(math.log2(max(size, 16) / 16))
    return min(len(features) // 2, bins - 1), min(size_bin, bins - 1)


class ProgramDatabase:
    """Every candidate of one run, with islands, sampling and an archive.

    Reads that steer the search take ``upto``: only samples numbered ``<= upto`` (and
    seeds and copies, which have no sample number) are seen, so a run whose evaluations
    finish in any order makes the same choices (the engine commits samples in order).

    Raises:
        sqlite3.Error: when the database file cannot be opened or written.
    """

    def __init__(self, path: str | Path, config: DatabaseConfig) -> None:
        self.path = Path(path)
        self.config = config
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(programs)")}
        if "probe_signature" not in columns:  # a run directory from before the probe
            self._db.execute("ALTER TABLE programs ADD COLUMN probe_signature INTEGER")

    def close(self) -> None:
        self._db.close()

    # -- writing -----------------------------------------------------------------------

    def add(self, *, sample: int | None, island: int, status: Status, kind: str,
            source: str | None = None, parent_ids: Sequence[int] = (),
            proposer: str = "", score: float | None = None,
            screen_score: float | None = None, metrics: Mapping[str, Any] | None = None,
            signature: int | None = None, model: str = "") -> int:  # fmt: skip
        """Insert a program (a placeholder for a sample, a seed or a copy); returns its id."""
        cursor = self._db.execute(
            "INSERT INTO programs (sample, island, status, kind, parent_ids, proposer, model,"
            " score, screen_score, metrics, signature, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (sample, island, status, kind, json.dumps(list(parent_ids)), proposer, model,
             score, screen_score, json.dumps(metrics or {}), signature, time.time()),
        )  # fmt: skip
        program_id = int(cursor.lastrowid or 0)
        if source is not None:
            self._set_source(program_id, source)
        return program_id

    def propose(self, program_id: int, *, source: str | None, kind: str, proposer: str,
                model: str, prompt: str, raw_text: str, input_tokens: int,
                output_tokens: int, cost_usd: float, error: str | None) -> None:  # fmt: skip
        """Store a proposal for a placeholder; a proposal without source is ``invalid``."""
        self._db.execute(
            "UPDATE programs SET kind=?, proposer=?, model=?, prompt=?, raw_text=?,"
            " input_tokens=?, output_tokens=?, cost_usd=?, status=?, errors=? WHERE id=?",
            (kind, proposer, model, prompt, raw_text, input_tokens, output_tokens, cost_usd,
             "proposed" if source is not None else "invalid",
             json.dumps([error] if error else []), program_id),
        )  # fmt: skip
        if source is not None:
            self._set_source(program_id, source)

    def _set_source(self, program_id: int, source: str) -> None:
        digest = size = cell = None
        with contextlib.suppress(SyntaxError, ValueError):
            digest, size = ast_hash(source), program_size(source)
            cell = json.dumps(descriptors(source, self.config.archive_bins))
        self._db.execute(
            "UPDATE programs SET source=?, ast_hash=?, size=?, cell=? WHERE id=?",
            (source, digest, size, cell, program_id),
        )

    def record(self, program_id: int, *, status: Status, score: float | None = None,
               screen_score: float | None = None, metrics: Mapping[str, Any] | None = None,
               errors: Sequence[str] = (), signature: int | None = None,
               eval_s: float = 0.0, probe_signature: int | None = None) -> None:  # fmt: skip
        """Store the outcome of an evaluation."""
        self._db.execute(
            "UPDATE programs SET status=?, score=?, screen_score=?, metrics=?, errors=?,"
            " signature=?, probe_signature=?, eval_s=?, evaluated_at=? WHERE id=?",
            (status, score, screen_score, json.dumps(metrics or {}), json.dumps(list(errors)),
             signature, probe_signature, eval_s, time.time(), program_id),
        )  # fmt: skip

    def abandon_unfinished(self) -> int:
        """Mark programs left ``proposed`` by a killed run as ``lost``; returns how many."""
        cursor = self._db.execute(
            "UPDATE programs SET status='lost' WHERE status IN ('proposed', 'pending')"
        )
        return cursor.rowcount

    def set_meta(self, key: str, value: Any) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def meta(self, key: str, default: Any = None) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    # -- reading -----------------------------------------------------------------------

    def get(self, program_id: int) -> Program:
        """The program with this id.

        Raises:
            KeyError: when there is none.
        """
        row = self._db.execute("SELECT * FROM programs WHERE id=?", (program_id,)).fetchone()
        if row is None:
            raise KeyError(f"program {program_id}: not in {self.path}")
        return _program(row)

    def programs(self, where: str = "1", params: Sequence[Any] = ()) -> Iterator[Program]:
        """Programs matching an SQL condition, by id."""
        query = f"SELECT * FROM programs WHERE {where} ORDER BY id"
        for row in self._db.execute(query, tuple(params)):
            yield _program(row)

    def best(self, island: int | None = None, upto: int | None = None) -> Program | None:
        """The highest-scoring evaluated program (of an island's active ones, if given)."""
        where, params = _scored(upto)
        if island is not None:
            where += " AND island=? AND active=1"
            params.append(island)
        row = self._db.execute(
            f"SELECT * FROM programs WHERE {where} ORDER BY score DESC, size ASC, id ASC LIMIT 1",
            params,
        ).fetchone()
        return None if row is None else _program(row)

    def hashes(self, upto: int | None = None) -> set[str]:
        """Normalised-AST hashes of every program that got a source and was not rejected."""
        where, params = _visible(upto)
        rows = self._db.execute(
            f"SELECT DISTINCT ast_hash FROM programs WHERE {where} AND ast_hash IS NOT NULL"
            " AND status NOT IN ('invalid', 'proposed', 'lost', 'duplicate')",
            params,
        )
        return {str(r[0]) for r in rows}

    def signatures(self, upto: int | None = None) -> set[int]:
        """Screening behaviour signatures of every screened or evaluated program."""
        return self._distinct("signature", ("evaluated", "screened"), upto)

    def probe_signatures(self, upto: int | None = None) -> set[int]:
        """Probe signatures of every program whose screen ran without failing (and of the
        duplicates they recognised)."""
        return self._distinct("probe_signature", ("evaluated", "screened", "duplicate"), upto)

    def _distinct(self, column: str, statuses: tuple[str, ...], upto: int | None) -> set[int]:
        where, params = _visible(upto)
        marks = ", ".join("?" * len(statuses))
        rows = self._db.execute(
            f"SELECT DISTINCT {column} FROM programs WHERE {where} AND {column} IS NOT NULL"
            f" AND status IN ({marks})",
            [*params, *statuses],
        )
        return {int(r[0]) for r in rows}

    def best_screen_score(self, upto: int | None = None) -> float | None:
        where, params = _visible(upto)
        row = self._db.execute(
            f"SELECT MAX(screen_score) FROM programs WHERE {where}"
            " AND status IN ('evaluated', 'screened')",
            params,
        ).fetchone()
        return None if row[0] is None else float(row[0])

    def leader_screen_score(self, upto: int | None = None) -> float | None:
        """The screen fitness of the best program by training fitness (the leader), or
        None before any program has both."""
        where, params = _visible(upto)
        row = self._db.execute(
            f"SELECT screen_score FROM programs WHERE {where} AND status = 'evaluated'"
            " AND score IS NOT NULL AND screen_score IS NOT NULL"
            " ORDER BY score DESC, id ASC LIMIT 1",
            params,
        ).fetchone()
        return None if row is None else float(row[0])

    def last_sample(self) -> int:
        """Highest sample number recorded (-1 when none)."""
        row = self._db.execute("SELECT MAX(sample) FROM programs").fetchone()
        return -1 if row[0] is None else int(row[0])

    def totals(self) -> dict[str, float]:
        """Counts and sums for progress: samples, evaluations, cost, tokens, sandbox time."""
        row = self._db.execute(
            "SELECT COUNT(sample), COALESCE(SUM(status IN"
            " ('evaluated','screened','failed','duplicate')), 0),"
            " COALESCE(SUM(cost_usd), 0), COALESCE(SUM(input_tokens), 0),"
            " COALESCE(SUM(output_tokens), 0), COALESCE(SUM(eval_s), 0)"
            " FROM programs WHERE sample IS NOT NULL"
        ).fetchone()
        keys = ("samples", "evaluations", "cost_usd", "input_tokens", "output_tokens", "eval_s")
        return {k: float(v or 0) for k, v in zip(keys, row, strict=True)}

    def archive(self, upto: int | None = None) -> dict[tuple[int, int], Program]:
        """The MAP-Elites archive: behaviour cell -> its best program (ties: the shorter, older)."""
        where, params = _scored(upto)
        cells: dict[tuple[int, int], Program] = {}
        for program in self.programs(where + " AND cell IS NOT NULL", params):
            cell = program.cell
            if cell is None:
                continue
            held = cells.get(cell)
            if held is None or rank(program) > rank(held):
                cells[cell] = program
        return cells

    # -- evolution ---------------------------------------------------------------------

    def sample_parents(
        self, island: int, count: int, sample: int, rng: random.Random, upto: int | None = None
    ) -> list[Program]:
        """``count`` distinct parents from ``island``, best first; the last may be an elite.

        FunSearch's scheme: group by score, softmax over normalised group scores with a
        temperature decaying over ``temperature_period`` samples, shorter programs
        favoured within a group. With probability 0.2 the last parent comes from the
        MAP-Elites archive instead, for diversity.
        """
        where, params = _scored(upto)
        pool = list(self.programs(where + " AND island=? AND active=1", [*params, island]))
        if not pool:
            pool = list(self.programs(where, params))
        if not pool:
            return []
        groups: dict[float, list[Program]] = {}
        for program in pool:
            groups.setdefault(round(float(program.score or 0.0), 6), []).append(program)
        keys = sorted(groups)
        low, high = keys[0], keys[-1]
        period = self.config.temperature_period
        temperature = self.config.temperature * (1 - 0.9 * (sample % period) / period)
        chosen: list[Program] = []
        for _ in range(min(count, len(pool))):
            available = [k for k in keys if any(p not in chosen for p in groups[k])]
            norm = [(k - low) / (high - low) if high > low else 1.0 for k in available]
            top = max(norm)
            weights = [math.exp((n - top) / temperature) for n in norm]
            key = rng.choices(available, weights=weights)[0]
            members = [p for p in groups[key] if p not in chosen]
            smallest = min(p.size for p in members)
            within = [math.exp(-(p.size - smallest) / max(smallest, 1)) for p in members]
            chosen.append(rng.choices(members, weights=within)[0])
        if count > 1 and len(chosen) == count and rng.random() < 0.2:
            taken = {p.id for p in chosen}
            elites = [p for p in self.archive(upto).values() if p.id not in taken]
            if elites:
                chosen[-1] = rng.choice(sorted(elites, key=lambda p: p.id))
        chosen.sort(key=lambda p: (-(p.score or 0.0), p.id))
        return chosen

    def evolve_islands(self, sample: int, rng: random.Random) -> list[str]:
        """Migrate and reset islands when ``sample`` reaches their periods; returns what happened.

        Call it after committing ``sample``: it sees samples up to ``sample`` only.
        """
        events: list[str] = []
        islands = self.config.islands
        if islands < 2 or sample <= 0:
            return events
        if sample % self.config.migration_period == 0:
            for island in range(islands):
                best = self.best(island, upto=sample)
                target = (island + 1) % islands
                if best is not None:
                    self._copy(best, target, "migration")
                    events.append(f"migrate #{best.id} {island}->{target}")
        if sample % self.config.reset_period == 0:
            ranked = []
            for island in range(islands):
                best = self.best(island, upto=sample)
                score = best.score if best is not None and best.score is not None else -math.inf
                ranked.append((score, -island, island))
            ranked.sort()
            weak = [island for _, _, island in ranked[: islands // 2]]
            strong = [island for _, _, island in ranked[islands // 2 :]]
            for island in weak:
                founder = self.best(rng.choice(strong), upto=sample)
                self._db.execute("UPDATE programs SET active=0 WHERE island=?", (island,))
                if founder is not None:
                    self._copy(founder, island, "reset")
                    events.append(f"reset island {island} from #{founder.id}")
        return events

    def _copy(self, program: Program, island: int, kind: str) -> None:
        self.add(sample=None, island=island, status="evaluated", kind=kind,
                 source=program.source, parent_ids=[program.id], proposer=program.proposer,
                 model=program.model, score=program.score, screen_score=program.screen_score,
                 metrics=program.metrics, signature=program.signature)  # fmt: skip


def _visible(upto: int | None) -> tuple[str, list[Any]]:
    if upto is None:
        return "1", []
    return "(sample IS NULL OR sample <= ?)", [upto]


def _scored(upto: int | None) -> tuple[str, list[Any]]:
    where, params = _visible(upto)
    return where + " AND status='evaluated' AND score IS NOT NULL", params


def rank(program: Program) -> tuple[float, int, int]:
    """The order of "best" (higher ranks first): the higher fitness, then the smaller
    program, then the earlier one (:meth:`ProgramDatabase.best` orders its query so)."""
    return (program.score or 0.0, -program.size, -program.id)


def read_programs(connection: sqlite3.Connection) -> tuple[Program, ...]:
    """Every program of a database opened elsewhere (say read-only), by id; unlike
    :class:`ProgramDatabase` this neither creates nor migrates anything."""
    connection.row_factory = sqlite3.Row
    return tuple(_program(row) for row in connection.execute("SELECT * FROM programs ORDER BY id"))


def _program(row: sqlite3.Row) -> Program:
    return Program(
        id=int(row["id"]),
        sample=row["sample"],
        island=int(row["island"]),
        status=row["status"],
        kind=row["kind"],
        source=row["source"],
        score=row["score"],
        screen_score=row["screen_score"],
        size=int(row["size"] or 0),
        parent_ids=tuple(json.loads(row["parent_ids"])),
        proposer=row["proposer"],
        model=row["model"],
        metrics=json.loads(row["metrics"]),
        errors=tuple(json.loads(row["errors"])),
        signature=row["signature"],
        cost_usd=float(row["cost_usd"]),
        cell=tuple(json.loads(row["cell"])) if row["cell"] else None,
    )
