"""``binforge export RUN_DIR --name NAME``: a run's winner as a named, loadable heuristic.

The winner's source is written to ``heuristics/winners/NAME.py`` (or another directory)
under a provenance header of comments: the run, the program, its proposer and model, the
export date, and its training and held-out fitness against every baseline. The file is
then loaded back through :class:`heuristics.registry.Registry`, the same path the
simulator and the extender use, so an export that could not be served fails here.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from heuristics.evolve.config import ConfigError
from heuristics.evolve.database import Program
from heuristics.evolve.run_dir import config_from_record
from heuristics.evolve.run_record import WINNER, RunDirError, RunRecord, load_run
from heuristics.registry import REGISTRY, WINNERS_DIR, Registry
from heuristics.safety import UnsafeCodeError, check_source

__all__ = ["ExportError", "RunDirError", "export_winner", "provenance_header", "validate_name"]

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


class ExportError(ValueError):
    """An invalid name, an existing file, or a run without an exportable winner."""


def validate_name(name: str) -> str:
    """``name`` if it can name a winner: lower-case ``[a-z0-9_-]``, at most 64 characters,
    not starting with ``-`` or ``_``, and not a registered heuristic's name (which would
    shadow it).

    Raises:
        ExportError: naming the rule that ``name`` breaks.
    """
    if not _NAME.fullmatch(name):
        raise ExportError(
            f"winner name {name!r}: expected lower-case letters, digits, '-' and '_' "
            "(at most 64, starting with a letter or digit)"
        )
    if name in REGISTRY.names():
        raise ExportError(f"winner name {name!r}: already a registered heuristic; choose another")
    return name


def provenance_header(
    record: RunRecord, name: str, exported_at: datetime, program: Program | None = None
) -> str:
    """The comment block written above the winner's source (``program``: another of the
    run's programs than its winner, chosen by the user)."""
    winner = program or record.winner
    assert winner is not None
    chosen = winner is not record.winner
    # the run went on after its comparison (a resumed run stopped early): not this program's
    stale = not chosen and record.compared_id not in (None, winner.id)
    lines = [
        f"binforge winner {name!r}, exported {exported_at:%Y-%m-%d %H:%M UTC}",
        f"run: {record.run_dir.resolve()}",
        f"program: #{winner.id} ("
        + ("a seed" if winner.sample is None else f"sample {winner.sample}")
        + f", island {winner.island}, kind {winner.kind})",
        f"proposer: {winner.proposer or 'unknown'}"
        + (f", model {winner.model}" if winner.model else ""),
        f"training fitness (higher is better): {_fmt(winner.score)}",
    ]
    simulation = _simulation(record.meta)
    if simulation:
        lines.append("simulator options (evaluator.simulation):")
        lines.extend(f"  {part}" for part in textwrap.wrap(simulation, 84))
    if chosen:
        best = record.winner.id if record.winner is not None else "none"
        lines.append(f"chosen by program id; the run's recorded comparison is of its best, #{best}")
    if stale:
        lines.append(
            f"the run's recorded comparison is of #{record.compared_id}, its best when "
            "compared; the run found this one later"
        )
    for stage, title in (("train", "training"), ("validation", "held-out validation")):
        rows = _stage_rows(record.results, stage)
        if rows and not chosen and not stale:
            lines.append(f"{title} fitness against the baselines:")
            lines.extend(f"  {label:<28} {value}" for label, value in rows)
    if not record.results:
        lines.append("no baseline comparison was recorded for this run")
    # one comment line per line, whatever a recorded name or message holds
    flat = [" ".join(line.splitlines()) for line in lines]
    return "".join(f"# {line}\n".replace("# \n", "#\n") for line in flat)


def export_winner(
    run_dir: str | Path,
    name: str,
    *,
    dest: str | Path | None = None,
    force: bool = False,
    now: datetime | None = None,
    program: int | None = None,
) -> Path:
    """Write the winner of ``run_dir`` (or its program ``program``, say one chosen on
    validation) as ``dest/NAME.py`` and check it loads; returns the path.

    Raises:
        ExportError: for an invalid name, an existing file without ``force``, a run without
            a winner, an unknown or unevaluated ``program``, or a winner that fails the
            safety check or does not load.
        RunDirError: when the run directory cannot be read.
        OSError: when the file cannot be written.
    """
    validate_name(name)
    record = load_run(run_dir)
    winner = record.winner
    if program is not None:
        by_id = {p.id: p for p in record.programs}
        winner = by_id.get(program)
        if winner is None or winner.status != "evaluated" or winner.source is None:
            state = "not in the run" if winner is None else f"status {winner.status!r}"
            raise ExportError(
                f"export from {record.run_dir}: program #{program}: {state} "
                "(expected an evaluated program)"
            )
    if winner is None or winner.source is None:
        raise ExportError(f"export from {record.run_dir}: the run has no evaluated winner")
    directory = Path(dest) if dest is not None else WINNERS_DIR
    target = directory / f"{name}.py"
    if target.exists() and not force:
        raise ExportError(f"export {name}: {target} exists (use --force to replace it)")
    text = (
        provenance_header(record, name, now or datetime.now(UTC), winner)
        + "\n"
        + winner.source.lstrip("\n")
    )
    try:
        check_source(text, filename=str(target))
    except UnsafeCodeError as exc:
        raise ExportError(f"export {name}: the winner fails the safety check: {exc}") from exc
    directory.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    try:
        Registry(winners_dir=directory).resolve(name)
    except (LookupError, OSError, UnsafeCodeError) as exc:
        target.unlink(missing_ok=True)
        raise ExportError(f"export {name}: the written file does not load: {exc}") from exc
    return target


def _stage_rows(results: Mapping[str, Mapping[str, Any]], stage: str) -> list[tuple[str, str]]:
    rows = []
    ordered = ([WINNER] if WINNER in results else []) + sorted(k for k in results if k != WINNER)
    for label in ordered:
        result = results[label]
        if "error" in result:
            rows.append((label, f"error: {str(result['error'])[:80]}"))
        elif f"{stage}_score" in result:
            rows.append((label, _fmt(result[f"{stage}_score"])))
    return rows


def _simulation(meta: Mapping[str, Any]) -> str:
    """Every simulator option the run evaluated with, as ``NAME=VALUE, ...`` (all of them:
    a default may change, the header must still say what the run used)."""
    recorded = meta.get("config")
    if not isinstance(recorded, Mapping):
        return ""  # a database without a recorded configuration: nothing to say
    try:
        config = config_from_record(recorded, "recorded config")
    except ConfigError as exc:  # an edited database: say so, do not guess
        return "unreadable: " + "; ".join(exc.errors)
    options = asdict(config.evaluator.simulation)
    return ", ".join(f"{k}={v}" for k, v in options.items())


def _fmt(value: object) -> str:
    return f"{value:.6g}" if isinstance(value, int | float) else "–"
