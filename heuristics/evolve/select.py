"""Choose among finished runs on held-out validation (``binforge select``).

The rule campaign 3 used (``docs/results.md``): take the ``top`` best behaviourally
distinct programs of each run by training fitness, score each on the runs' validation
scenarios with the runs' own objective (relative to ``evaluator.reference`` when the
config sets one), in sandbox workers, and rank them by that score. Validation is still
never used *inside* a search; this chooses between the programs searches have finished
with, and ``binforge export RUN_DIR --program ID`` ships the choice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from heuristics.evolve.config import EvolutionConfig
from heuristics.evolve.database import Program, rank
from heuristics.evolve.engine import sandbox_limits
from heuristics.evolve.evaluator import Evaluator
from heuristics.evolve.executor import LocalExecutor
from heuristics.evolve.run_dir import config_changes, config_from_record
from heuristics.evolve.run_record import RunDirError, load_run

__all__ = ["Choice", "select"]


@dataclass(frozen=True)
class Choice:
    """One candidate: where it comes from and how it scores (higher is better).

    Attributes:
        run_dir: the run it belongs to.
        program: its program id there (``binforge export RUN_DIR --program ID``).
        train_score: its training fitness, as the search recorded it.
        validation_score: its validation fitness (None when it failed there).
        validation_scores: the objective per validation scenario (not relative).
        error: why it has no validation score.
    """

    run_dir: Path
    program: int
    train_score: float
    validation_score: float | None
    validation_scores: dict[str, float]
    error: str = ""


def _best_distinct(programs: Sequence[Program], top: int) -> list[Program]:
    evaluated = [p for p in programs if p.status == "evaluated" and p.score is not None]
    evaluated.sort(key=rank, reverse=True)  # the order the run's best is chosen in
    chosen: list[Program] = []
    seen: set[int | None] = set()
    for program in evaluated:
        if program.signature in seen or program.source is None:
            continue
        seen.add(program.signature)
        chosen.append(program)
        if len(chosen) == top:
            break
    return chosen


def select(
    run_dirs: Sequence[str | Path],
    top: int = 5,
    workers: int = 2,
    also: Sequence[tuple[str | Path, int]] = (),
) -> list[Choice]:
    """Every candidate of ``run_dirs``, best validation score first (failures last). A run
    directory named twice (say by ``runs/a runs/*``) counts once.

    ``also`` names more programs to validate beside them, as (run directory of
    ``run_dirs``, program id): for example a seed that is the incumbent winner, which a
    rule compares the candidates with under the same evaluator.

    Raises:
        RunDirError: a run directory that cannot be read or has no recorded config.
        ValueError: ``top`` or ``workers`` below 1, runs whose evaluator settings differ
            (their validation scores would not compare), or an ``also`` entry whose run
            is not among ``run_dirs`` or whose program it does not have.
    """
    if top < 1:
        raise ValueError(f"select: top: expected >= 1, got {top}")
    if workers < 1:
        raise ValueError(f"select: workers: expected >= 1, got {workers}")
    candidates: list[tuple[Path, Program]] = []
    configs: list[EvolutionConfig] = []
    unique: dict[Path, Path] = {}
    for named in map(Path, run_dirs):
        unique.setdefault(named.resolve(), named)
    for where, _ in also:
        if Path(where).resolve() not in unique:
            raise ValueError(f"select: {where} is not one of the run directories named")
    for run_dir in unique.values():
        record = load_run(run_dir)
        recorded = record.meta.get("config")
        if not isinstance(recorded, dict):
            raise RunDirError(f"run directory {run_dir}: no recorded config to validate with")
        config = config_from_record(recorded, f"{run_dir}: recorded config")
        if configs and config.evaluator != configs[0].evaluator:
            differ = [c for c in config_changes(configs[0], config) if c.startswith("evaluator.")]
            raise ValueError(
                f"select: {run_dir} evaluates differently from {Path(run_dirs[0])} "
                "(evaluator settings differ): its validation scores would not compare; "
                "differing: " + "; ".join(differ)
            )
        configs.append(config)
        chosen = _best_distinct(record.programs, top)
        by_id = {p.id: p for p in record.programs}
        for where, program_id in also:
            if Path(where).resolve() != run_dir.resolve():
                continue
            program = by_id.get(program_id)
            if program is None or program.source is None:
                raise ValueError(f"select: {run_dir} has no program #{program_id} with a source")
            if all(p.id != program_id for p in chosen):
                chosen.append(program)
        candidates += [(run_dir, p) for p in chosen]
    if not candidates:
        return []
    return asyncio.run(_score(candidates, configs[0], workers))


async def _score(
    candidates: Sequence[tuple[Path, Program]], config: EvolutionConfig, workers: int
) -> list[Choice]:
    executor = LocalExecutor(workers, sandbox_limits(config))
    evaluator = Evaluator(config.evaluator, executor)
    try:
        await evaluator.calibrate()
        results = await asyncio.gather(
            *(evaluator.validate(p.source, stages=("validation",)) for _, p in candidates)
        )
    finally:
        executor.close()
    choices = [
        Choice(
            run_dir=run_dir,
            program=program.id,
            train_score=float(program.score or 0.0),
            validation_score=result.get("validation_score"),
            validation_scores=dict(result.get("validation_scores", {})),
            error=str(result.get("error", "")),
        )
        for (run_dir, program), result in zip(candidates, results, strict=True)
    ]
    choices.sort(key=lambda c: (c.validation_score is None, -(c.validation_score or 0.0)))
    return choices
