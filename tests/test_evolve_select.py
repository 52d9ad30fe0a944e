"""``binforge select``: the best distinct programs of finished runs, ranked on held-out
validation in sandbox workers, ready for ``binforge export --program``."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from test_evolve_engine import TINY as ENGINE_TINY

from binforge.cli import main
from heuristics.evolve.config import ScenarioRef
from heuristics.evolve.engine import Engine
from heuristics.evolve.run_record import load_run
from heuristics.evolve.select import select

pytestmark = pytest.mark.slow

TINY = replace(
    ENGINE_TINY,
    seed_heuristics=("best-fit-cpu", "first-fit", "worst-fit"),
    budget=replace(ENGINE_TINY.budget, samples=8),
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    dirs = []
    for seed in (3, 4):
        run_dir = tmp_path_factory.mktemp("runs") / f"seed{seed}"
        engine = Engine(replace(TINY, seed=seed), run_dir, progress=None)
        try:
            asyncio.run(engine.run())
        finally:
            engine.close()
        dirs.append(run_dir)
    return dirs


def test_candidates_are_each_runs_best_distinct_programs_ranked_on_validation(
    runs: list[Path],
) -> None:
    choices = select(runs, top=2, workers=1)
    assert len(choices) == 4 and {c.run_dir for c in choices} == set(runs)
    scores = [c.validation_score for c in choices]
    assert None not in scores and scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    for choice in choices:
        program = {p.id: p for p in load_run(choice.run_dir).programs}[choice.program]
        assert program.status == "evaluated" and program.score == choice.train_score
        assert list(choice.validation_scores) == ["weibull:300#2"]
        # the validation fitness is the objective itself here (no reference is set)
        assert choice.validation_score == pytest.approx(choice.validation_scores["weibull:300#2"])


def test_a_run_named_twice_counts_once(runs: list[Path]) -> None:
    again = runs[0].parent / ".." / runs[0].parent.name / runs[0].name  # another spelling
    choices = select([runs[0], again], top=2, workers=1)
    assert [c.program for c in choices] == [c.program for c in select([runs[0]], top=2, workers=1)]
    assert {c.run_dir for c in choices} == {runs[0]}


def test_runs_that_evaluate_differently_are_refused(runs: list[Path], tmp_path: Path) -> None:
    other = tmp_path / "other"
    changed = replace(
        TINY, evaluator=replace(TINY.evaluator, validation=(ScenarioRef("weibull:100"),))
    )
    engine = Engine(changed, other, progress=None)
    try:
        asyncio.run(engine.run())
    finally:
        engine.close()
    with pytest.raises(ValueError, match="evaluates differently") as refused:
        select([runs[0], other], top=1, workers=1)
    assert "differing: evaluator.validation[0].name: 'weibull:300' -> 'weibull:100'" in str(
        refused.value
    )


def test_the_cli_prints_the_ranking_and_the_export_command(
    runs: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["select", *map(str, runs), "--top", "1", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "best on validation: binforge export" in out and "--program" in out


def test_a_named_program_is_validated_beside_the_best_ones(runs: list[Path]) -> None:
    seed = 1  # the first seed heuristic, which the best programs need not include
    best = {c.program for c in select([runs[0]], top=1, workers=1)}
    choices = select([runs[0]], top=1, workers=1, also=[(runs[0], seed)])
    assert {c.program for c in choices} == best | {seed}
    named = next(c for c in choices if c.program == seed)
    assert named.validation_score is not None and named.error == ""
    assert len(select([runs[0]], top=1, workers=1, also=[(runs[0], min(best))])) == 1


def test_a_named_program_outside_the_runs_is_refused(runs: list[Path]) -> None:
    with pytest.raises(ValueError, match="is not one of the run directories named"):
        select([runs[0]], top=1, workers=1, also=[(runs[1], 1)])
    with pytest.raises(ValueError, match="has no program #9999"):
        select([runs[0]], top=1, workers=1, also=[(runs[0], 9999)])


def test_the_cli_takes_named_programs_as_run_dir_colon_id(
    runs: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["select", str(runs[0]), "--top", "1", "--workers", "1"]
    assert main([*argv, "--program", f"{runs[0]}:1"]) == 0
    assert "#1 " in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main([*argv, "--program", "no-colon"])
    assert "expected RUN_DIR:ID" in capsys.readouterr().err


def test_no_workers_is_refused_rather_than_waited_on(
    runs: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["select", str(runs[0]), "--workers", "0"]) == 2
    assert "select: workers: expected >= 1, got 0" in capsys.readouterr().err
