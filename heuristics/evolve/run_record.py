"""What an evolution run left in its directory, read back for reports and exports.

A run directory holds the engine's program database (``programs.sqlite``): every program
with its status, scores, parents, proposer, model, tokens and cost, and ``meta`` entries,
among them ``validation``: the training and held-out results of the winner (under
``evolved #ID``) and of the baselines, as :meth:`Evaluator.validate
<heuristics.evolve.evaluator.Evaluator.validate>` returns them. :func:`load_run` reads it
all into a :class:`RunRecord`, without changing the database.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from heuristics.evolve.database import Program, rank, read_programs
from heuristics.evolve.run_dir import DATABASE_FILE, RunDirError

__all__ = [
    "VALIDATION_META",
    "WINNER",
    "RunDirError",
    "RunRecord",
    "find_database",
    "lineage",
    "load_run",
]

VALIDATION_META = "validation"
"""The meta entry where the engine stores final results: heuristic -> validate() output,
the evolved winner under ``evolved #ID``."""

_EVOLVED = re.compile(r"^evolved #(\d+)$")

WINNER = "winner"
"""The key of the winner in :attr:`RunRecord.results`."""


@dataclass(frozen=True)
class RunRecord:
    """What a finished (or interrupted) run left behind.

    Attributes:
        run_dir: the run directory.
        database: the program database file.
        programs: every program, by id.
        meta: the database's meta entries (run settings the engine recorded).
        results: heuristic -> ``{"train_score", "validation_score", "train_scores",
            "validation_scores", "train", "validation"}`` (fitness is higher-is-better);
            the winner under ``"winner"``, baselines under their registered names.
        winner: the program reported as the winner, None when nothing was evaluated.
        tokens: (proposer, model) -> (input tokens, output tokens) over the run.
    """

    run_dir: Path
    database: Path
    programs: tuple[Program, ...]
    meta: Mapping[str, Any]
    results: Mapping[str, Mapping[str, Any]]
    winner: Program | None
    tokens: Mapping[tuple[str, str], tuple[int, int]] = field(default_factory=dict)

    @property
    def compared_id(self) -> int | None:
        """The program the recorded baseline comparison is of (None: none recorded): the
        best when it was made; a resumed run stopped early may have found a better one."""
        wanted = self.results.get(WINNER, {}).get("program_id", self.meta.get("winner_id"))
        return wanted if isinstance(wanted, int) else None


def find_database(run_dir: Path) -> Path:
    """The program database of ``run_dir`` (``programs.sqlite``, the engine's file).

    Raises:
        RunDirError: when ``run_dir`` is not a directory or holds no database.
    """
    if not run_dir.is_dir():
        raise RunDirError(f"run directory {run_dir}: not a directory")
    path = run_dir / DATABASE_FILE
    if not path.is_file():
        raise RunDirError(f"run directory {run_dir}: no program database {DATABASE_FILE}")
    return path


def load_run(run_dir: str | Path) -> RunRecord:
    """Read a run directory.

    Raises:
        RunDirError: without a database, or when the database or results are unreadable.
    """
    run_dir = Path(run_dir)
    path = find_database(run_dir)
    try:
        meta, tokens, programs = _read(path)
    except (sqlite3.Error, json.JSONDecodeError) as exc:
        raise RunDirError(f"read program database {path}: {exc}") from exc
    results = _read_results(meta)
    winner = _winner(programs, results, meta)
    return RunRecord(run_dir, path, programs, meta, results, winner, tokens)


def lineage(
    programs: Sequence[Program], program_id: int, limit: int = 60
) -> list[tuple[int, Program]]:
    """Ancestors of a program, breadth first, as (generation, program); generation 0 is itself."""
    by_id = {p.id: p for p in programs}
    out: list[tuple[int, Program]] = []
    seen: set[int] = set()
    frontier = [(0, program_id)]
    while frontier and len(out) < limit:
        depth, current = frontier.pop(0)
        if current in seen or current not in by_id:
            continue
        seen.add(current)
        program = by_id[current]
        out.append((depth, program))
        frontier.extend((depth + 1, parent) for parent in program.parent_ids)
    return out


# -- reading -------------------------------------------------------------------------------


def _read(
    path: Path,
) -> tuple[dict[str, Any], dict[tuple[str, str], tuple[int, int]], tuple[Program, ...]]:
    """Meta entries, token use and programs, read only: the database is left as it was."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = connection.execute("SELECT key, value FROM meta ORDER BY key").fetchall()
        usage = connection.execute(
            "SELECT proposer, model, SUM(input_tokens), SUM(output_tokens) FROM programs"
            " WHERE sample IS NOT NULL GROUP BY proposer, model"
        ).fetchall()
        programs = read_programs(connection)
    finally:
        connection.close()
    meta = {key: json.loads(value) for key, value in rows}
    tokens = {(p or "?", m): (int(i or 0), int(o or 0)) for p, m, i, o in usage}
    return meta, tokens, programs


def _read_results(meta: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The engine's ``validation`` meta entry, with its ``evolved #ID`` key renamed ``winner``."""
    table = meta.get(VALIDATION_META, {})
    if not isinstance(table, Mapping):
        raise RunDirError(f"meta {VALIDATION_META!r}: expected a mapping of heuristic -> results")
    results: dict[str, dict[str, Any]] = {}
    for key, value in table.items():
        if not isinstance(value, Mapping):
            continue
        match = _EVOLVED.match(str(key))
        if match:
            results[WINNER] = {**value, "program_id": int(match.group(1))}
        else:
            results[str(key)] = dict(value)
    return results


def _winner(
    programs: Sequence[Program], results: Mapping[str, Mapping[str, Any]], meta: Mapping[str, Any]
) -> Program | None:
    """The best evaluated program; the compared one unless another now ranks higher."""
    wanted = results.get(WINNER, {}).get("program_id", meta.get("winner_id"))
    evaluated = [p for p in programs if p.status == "evaluated" and p.score is not None]
    best = max(evaluated, key=rank) if evaluated else None
    compared = {p.id: p for p in programs}.get(wanted) if isinstance(wanted, int) else None
    if compared is not None and (best is None or rank(compared) >= rank(best)):
        return compared
    return best
