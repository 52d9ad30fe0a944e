"""Choose among finished runs on held-out validation (``binforge select``).

The rule campaign 3 used (``docs/results.md``): take the ``top`` best behaviourally
distinct programs of each run by training fitness, score each on the runs' validation
scenarios with the runs' own objective (relative to ``evaluator.reference`` when the
config sets one), in sandbox workers, and rank them by that score. Validation is still
never used *inside* a search; this chooses between the programs searches have finished
with, and ``binforge export RUN_DIR --program ID`` ships the choice.

A rule can also ask on how many validation scenarios each candidate *meets* the
reference (``meets=METRIC``): its METRIC is strictly better than every reference's there
and none of the config's guards (``evaluator.guards``) is above the best reference's
level. Campaign 3's target is ``meets="stranded_share_mean"`` with kube-default as the
reference and failed and pending pods as the guards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from heuristics.evolve.config import EvolutionConfig
from heuristics.evolve.database import Program, rank
from heuristics.evolve.engine import sandbox_limits
from heuristics.evolve.evaluator import Evaluator
from heuristics.evolve.executor import LocalExecutor
from heuristics.evolve.objectives import is_objective, lower_is_better, objective_value
from heuristics.evolve.run_dir import config_changes, config_from_record
from heuristics.evolve.run_record import RunDirError, load_run

__all__ = ["Choice", "meets_reference", "select"]


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
        meets: per validation scenario, whether it meets the reference there (see the
            module's doc); empty unless asked for.
    """

    run_dir: Path
    program: int
    train_score: float
    validation_score: float | None
    validation_scores: dict[str, float]
    error: str = ""
    meets: dict[str, bool] = field(default_factory=dict)


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
    meets: str | None = None,
) -> list[Choice]:
    """Every candidate of ``run_dirs``, best validation score first (failures last). A run
    directory named twice (say by ``runs/a runs/*``) counts once.

    ``also`` names more programs to validate beside them, as (run directory of
    ``run_dirs``, program id): for example a seed that is the incumbent winner, which a
    rule compares the candidates with under the same evaluator. ``meets``, a metric or
    objective name: also judge each candidate against the runs' reference on every
    validation scenario (``Choice.meets``).

    Raises:
        RunDirError: a run directory that cannot be read or has no recorded config.
        ValueError: ``top`` or ``workers`` below 1, runs whose evaluator settings differ
            (their validation scores would not compare), or an ``also`` entry whose run
            is not among ``run_dirs`` or whose program it does not have; ``meets``
            for runs without ``evaluator.reference``.
    """
    if top < 1:
        raise ValueError(f"select: top: expected >= 1, got {top}")
    if workers < 1:
        raise ValueError(f"select: workers: expected >= 1, got {workers}")
    if meets is not None and not is_objective(meets):
        raise ValueError(f"select: meets: expected a simulator metric or objective, got {meets!r}")
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
    if meets is not None and configs and not configs[0].evaluator.references:
        raise ValueError(
            f"select: meets {meets!r}: the runs' config has no evaluator.reference to meet"
        )
    if not candidates:
        return []
    return asyncio.run(_score(candidates, configs[0], workers, meets))


async def _score(
    candidates: Sequence[tuple[Path, Program]],
    config: EvolutionConfig,
    workers: int,
    meets: str | None,
) -> list[Choice]:
    executor = LocalExecutor(workers, sandbox_limits(config))
    evaluator = Evaluator(config.evaluator, executor)
    try:
        await evaluator.calibrate()
        if meets is not None:
            _check_reported(evaluator, meets)
        results = await asyncio.gather(
            *(evaluator.validate(p.source, stages=("validation",)) for _, p in candidates)
        )
    finally:
        executor.close()
    references = list(evaluator.reference_metrics.values())  # calibrated on validation too
    choices = [
        Choice(
            run_dir=run_dir,
            program=program.id,
            train_score=float(program.score or 0.0),
            validation_score=result.get("validation_score"),
            validation_scores=dict(result.get("validation_scores", {})),
            error=str(result.get("error", "")),
            meets=meets_reference(
                result.get("validation"), references, meets, config.evaluator.guards
            ),
        )
        for (run_dir, program), result in zip(candidates, results, strict=True)
    ]
    choices.sort(key=lambda c: (c.validation_score is None, -(c.validation_score or 0.0)))
    return choices


def _check_reported(evaluator: Evaluator, metric: str) -> None:
    """Refuse ``metric`` (or a guard) that the reference's validation scenarios do not
    report, before any candidate is validated."""
    for name, by_label in evaluator.reference_metrics.items():
        for ref in evaluator.config.validation:
            for needed in (metric, *evaluator.config.guards):
                try:
                    objective_value(by_label[ref.label], needed)
                except KeyError as exc:
                    raise ValueError(
                        f"select: meets {metric!r}: reference {name!r} on {ref.label}: "
                        f"{exc.args[0]}"
                    ) from None


def meets_reference(
    candidate: Mapping[str, Mapping[str, float]] | None,
    references: Sequence[Mapping[str, Mapping[str, float]]],
    metric: str | None,
    guards: Sequence[str],
) -> dict[str, bool]:
    """Per scenario of ``candidate`` (label -> metrics): whether its ``metric`` is strictly
    better than every reference's there and each of ``guards`` (lower is better) at most
    the best reference's. Empty without a metric, a candidate or references. ``metric`` is
    better lower when :func:`heuristics.evolve.objectives.lower_is_better` says so, else
    higher."""
    if metric is None or candidate is None or not references:
        return {}
    sign = -1.0 if lower_is_better(metric) else 1.0
    out = {}
    for label, metrics in candidate.items():
        levels = [reference[label] for reference in references]
        better = all(
            sign * objective_value(metrics, metric) > sign * objective_value(level, metric)
            for level in levels
        )
        within = all(
            objective_value(metrics, guard) <= min(objective_value(lv, guard) for lv in levels)
            for guard in guards
        )
        out[label] = better and within
    return out
