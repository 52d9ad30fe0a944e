"""``binforge select``: the best distinct programs of finished runs, ranked on held-out
validation in sandbox workers, ready for ``binforge export --program``."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from test_evolve_engine import TINY as ENGINE_TINY

from binforge.cli import main
from cluster_traces.scenarios import load_scenario
from heuristics.evolve.campaigns import evaluate_metrics
from heuristics.evolve.config import ScenarioRef
from heuristics.evolve.engine import Engine
from heuristics.evolve.run_record import load_run
from heuristics.evolve.seeds import SEED_SOURCES, seed_source
from heuristics.evolve.select import meets_reference, select
from simulator import SimulationOptions

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


@pytest.fixture(scope="module")
def guarded_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run relative to first-fit, with bins used as a guard, on two validation sets."""
    evaluator = replace(
        TINY.evaluator,
        validation=(ScenarioRef("weibull:300", scenario_seed=2), ScenarioRef("weibull:250", scenario_seed=5)),
        reference="first-fit", guards=("bins_used_mean",),
    )  # fmt: skip
    run_dir = tmp_path_factory.mktemp("runs") / "guarded"
    engine = Engine(replace(TINY, evaluator=evaluator), run_dir, progress=None)
    try:
        asyncio.run(engine.run())
    finally:
        engine.close()
    return run_dir


def test_a_program_meets_the_reference_only_if_strictly_better_and_within_every_guard() -> None:
    ref = {"a": {"excess_percent": 4.0, "bins_used_mean": 10.0}}
    other = {"a": {"excess_percent": 3.0, "bins_used_mean": 12.0}}

    def meets(excess: float, bins: float, refs: list = [ref]) -> bool:  # noqa: B006
        candidate = {"a": {"excess_percent": excess, "bins_used_mean": bins}}
        return meets_reference(candidate, refs, "excess_percent", ["bins_used_mean"])["a"]

    assert meets(3.5, 10.0)
    assert not meets(4.0, 10.0)  # level with the reference is not better
    assert not meets(3.5, 10.5)  # better, but above the guard
    # with two references: better than both, and within the best guard level of them
    assert not meets(3.5, 10.0, [ref, other])
    assert meets(2.0, 10.0, [ref, other]) and not meets(2.0, 11.0, [ref, other])
    assert meets_reference(None, [ref], "excess_percent", []) == {}


def test_meets_counts_the_validation_scenarios_where_a_program_beats_the_reference(
    guarded_run: Path,
) -> None:
    seeds = {
        name: min(p.id for p in load_run(guarded_run).programs if p.source == SEED_SOURCES[name])
        for name in TINY.seed_heuristics
    }
    reference = seeds["first-fit"]  # the config's reference, as a seed
    choices = select(
        [guarded_run], top=2, workers=1, also=[(guarded_run, i) for i in seeds.values()],
        meets="excess_percent",
    )  # fmt: skip
    by_id = {c.program: c for c in choices}
    level = by_id[reference].validation_scores
    assert not any(by_id[reference].meets.values())
    for choice in choices:
        assert list(choice.meets) == list(level) and len(level) == 2
        # bins used fall with excess on one instance, so the guard holds when excess is lower
        for label, score in choice.validation_scores.items():
            assert choice.meets[label] == (score > level[label])
    assert any(any(c.meets.values()) for c in choices)  # best fit on CPU, somewhere


def test_the_cli_prints_how_many_scenarios_each_program_meets_the_reference_on(
    guarded_run: Path, runs: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["select", str(guarded_run), "--top", "1", "--workers", "1"]
    first_fit = min(
        p.id for p in load_run(guarded_run).programs if p.source == SEED_SOURCES["first-fit"]
    )
    assert (
        main([*argv, "--program", f"{guarded_run}:{first_fit}", "--meets", "excess_percent"]) == 0
    )
    out = capsys.readouterr().out
    assert " meets " in out and " 0/2 .. " in out  # the reference meets itself nowhere
    assert main([*argv, "--meets", "excess"]) == 2
    err = capsys.readouterr().err
    assert "select: meets: expected a simulator metric or objective, got 'excess'" in err
    assert main(["select", str(runs[0]), "--meets", "excess_percent"]) == 2
    assert "has no evaluator.reference to meet" in capsys.readouterr().err


def test_a_metric_the_validation_scenarios_do_not_report_is_refused_before_validating(
    guarded_run: Path,
) -> None:
    with pytest.raises(
        ValueError,
        match=r"meets 'pods_pending_mean': reference 'first-fit' "
        r"on weibull:300#2: .*'pods_pending_mean' not reported",
    ):
        select([guarded_run], top=1, workers=1, meets="pods_pending_mean")


@pytest.fixture(scope="module")
def queue_guarded_run(tmp_path_factory: pytest.TempPathFactory, trace_dir: Path) -> Path:
    """A replay run relative to kube-default with failed pods as its guard, validated on a
    node subset where replay-fgd-spread strands less than kube-default but fails more pods."""
    window = "alibaba-gpu-v2023:loaded-3"
    evaluator = replace(
        TINY.evaluator,
        screen=ScenarioRef(window, scenario_seed=4), train=(ScenarioRef(window, scenario_seed=4),),
        validation=(ScenarioRef(window, scenario_seed=3),),
        objective="stranded_share_mean", reference="kube-default", guards=("pods_failed",),
    )  # fmt: skip
    config = replace(
        TINY, evaluator=evaluator, seed_heuristics=("replay-fgd-spread", "first-fit"),
        budget=replace(TINY.budget, samples=2),
    )  # fmt: skip
    run_dir = tmp_path_factory.mktemp("runs") / "queue-guarded"
    engine = Engine(config, run_dir, progress=None)
    try:
        asyncio.run(engine.run())
    finally:
        engine.close()
    return run_dir


def test_a_program_that_beats_the_reference_but_fails_more_pods_does_not_meet_it(
    queue_guarded_run: Path,
) -> None:
    programs = load_run(queue_guarded_run).programs
    spread = min(p.id for p in programs if p.source == seed_source("replay-fgd-spread"))
    choices = select(
        [queue_guarded_run], top=1, workers=1, also=[(queue_guarded_run, spread)],
        meets="stranded_share_mean",
    )  # fmt: skip
    named = next(c for c in choices if c.program == spread)
    # the premise, simulated directly: it strands less than kube-default but fails more pods
    scenario = load_scenario("alibaba-gpu-v2023:loaded-3", seed=3)
    names = ("stranded_share_mean", "pods_failed")
    ours = evaluate_metrics([scenario], "replay-fgd-spread", (0,), names, SimulationOptions())
    kube = evaluate_metrics([scenario], "kube-default", (0,), names, SimulationOptions())
    assert ours["stranded_share_mean"].value < kube["stranded_share_mean"].value
    assert ours["pods_failed"].value > kube["pods_failed"].value
    assert named.validation_scores == {"alibaba-gpu-v2023:loaded-3#3": pytest.approx(
        -ours["stranded_share_mean"].value)}  # fmt: skip
    assert named.meets == {"alibaba-gpu-v2023:loaded-3#3": False}  # the guard says no
