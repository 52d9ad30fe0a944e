"""The run directory of an evolution: its lock and its recorded configuration.

One process at a time writes a run directory: :class:`RunLock` holds an exclusive
``flock`` on ``RUN_DIR/evolve.lock`` for as long as the run lasts. A resumed run must
score like the run it continues: :func:`recorded_config` reads the configuration its
first session recorded, and :func:`config_changes` names the fields a resumption would
change.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from heuristics.evolve.config import API_VERSION, KIND, EvolutionConfig, config_from_mapping

__all__ = [
    "DATABASE_FILE",
    "LOCK_FILE",
    "RESUMABLE",
    "SIMULATION_BEFORE_THE_OPTION",
    "RunDirError",
    "RunInUseError",
    "RunLock",
    "config_changes",
    "config_from_record",
    "recorded_config",
]

DATABASE_FILE = "programs.sqlite"
LOCK_FILE = "evolve.lock"

RESUMABLE = ("budget", "executor", "run_dir")
"""Sections of :class:`EvolutionConfig` a resumed run may change: they decide when the run
stops and where evaluations run, never what a program scores. (Executor ``workers`` and
``proposals_in_flight`` set how many samples are under way at once, so a seeded ``gp``
run resumed with other values makes other choices than it would have, as any resumed run
does, since its unfinished samples are lost; every fitness stays comparable.)"""


class RunDirError(ValueError):
    """A run directory without a readable program database, or without a winner."""


class RunInUseError(RunDirError):
    """The run directory is locked by another process."""


class RunLock:
    """An exclusive, non-blocking ``flock`` on ``RUN_DIR/evolve.lock``, holding the pid of
    its holder; released by :meth:`release` or when the process ends.

    Raises:
        RunInUseError: when another process holds it.
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LOCK_FILE
        self._file = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.seek(0)
            pid = self._file.read().strip() or "unknown"
            self._file.close()
            raise RunInUseError(
                f"run directory {run_dir} is in use by another binforge evolve (pid {pid})"
            ) from None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(f"{os.getpid()}\n")
        self._file.flush()

    def release(self) -> None:
        """Unlock (the file stays, empty of meaning); a second call does nothing."""
        if not self._file.closed:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()


def recorded_config(run_dir: Path) -> EvolutionConfig:
    """The configuration the first session of the run in ``run_dir`` recorded (read only).

    Raises:
        RunDirError: without a database, with an unreadable one, or with one that
            records no run (an empty file).
        ConfigError: when the recorded configuration is no longer valid.
    """
    path = run_dir / DATABASE_FILE
    if not path.is_file():
        raise RunDirError(f"resume run: no {DATABASE_FILE} in {run_dir}")
    stored: Any = None
    if path.stat().st_size > 0:
        try:
            connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                tables = connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
                if ("meta",) in tables.fetchall():
                    row = connection.execute("SELECT value FROM meta WHERE key='config'").fetchone()
                    stored = None if row is None else json.loads(row[0])
            finally:
                connection.close()
        except (sqlite3.Error, json.JSONDecodeError) as exc:
            raise RunDirError(f"read program database {path}: {exc}") from exc
    if not isinstance(stored, dict):
        raise RunDirError(f"resume run: no recorded run in {run_dir} ({path} records none)")
    return config_from_record(stored, f"{path} (recorded config)")


SIMULATION_BEFORE_THE_OPTION: dict[str, object] = {
    "backoff_max_s": 300.0,
    "pop_from_backoff": False,
    "queue_order": "arrival",
}
"""For each simulator option added after runs were recorded, how the simulator behaved
before it: a backoff cap of 300 s (kube-scheduler's 10 s since), no popping from backoff
and arrival order (kube-scheduler's queue since). A recorded run that lacks one of these
options (or the whole ``evaluator.simulation``) ran with this value."""


def config_from_record(stored: Mapping[str, Any], source: str) -> EvolutionConfig:
    """The configuration a run recorded (its ``config`` meta entry), as it ran: an option
    of ``evaluator.simulation`` that the record lacks gets its value from
    :data:`SIMULATION_BEFORE_THE_OPTION`, not today's default.

    Raises:
        ConfigError: when the recorded configuration is no longer valid.
    """
    data: dict[str, Any] = {"apiVersion": API_VERSION, "kind": KIND, **stored}
    evaluator = data.get("evaluator")
    if isinstance(evaluator, Mapping):
        recorded = evaluator.get("simulation", {})
        if isinstance(recorded, Mapping):
            simulation = {**SIMULATION_BEFORE_THE_OPTION, **recorded}
            data["evaluator"] = {**evaluator, "simulation": simulation}
    return config_from_mapping(data, source=source)


def config_changes(recorded: EvolutionConfig, requested: EvolutionConfig) -> list[str]:
    """Every field outside :data:`RESUMABLE` where ``requested`` differs from ``recorded``,
    as ``"PATH: RECORDED -> REQUESTED"``; empty when the run may resume with ``requested``."""
    changes: list[str] = []
    old, new = asdict(recorded), asdict(requested)
    for key in old:
        if key not in RESUMABLE:
            _diff(old[key], new[key], key, changes)
    return changes


def _diff(old: Any, new: Any, path: str, changes: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in old:
            _diff(old[key], new.get(key), f"{path}.{key}", changes)
    elif isinstance(old, tuple) and isinstance(new, tuple) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            _diff(a, b, f"{path}[{i}]", changes)
    elif old != new:
        changes.append(f"{path}: {_short(old)} -> {_short(new)}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
