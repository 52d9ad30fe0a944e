"""Fitness relative to a reference heuristic: the reference scores exactly -1 (minimised
objective), a better candidate scores above it, and falling behind the reference on any
scenario costs ``regression_penalty`` times the shortfall; ``gain_cap`` bounds what any one
scenario can count above it."""

from __future__ import annotations

import asyncio

import pytest

from heuristics.evolve.config import (
    API_VERSION,
    KIND,
    ConfigError,
    EvaluatorConfig,
    ScenarioRef,
    config_from_mapping,
)
from heuristics.evolve.evaluator import Evaluation, Evaluator, signed_objective
from heuristics.evolve.executor import LocalExecutor
from heuristics.evolve.seeds import SEED_SOURCES
from heuristics.sandbox import SandboxLimits

SCREEN = ScenarioRef("weibull:100")
TRAIN = (ScenarioRef("weibull:200", scenario_seed=1), ScenarioRef("weibull:300", scenario_seed=2))
PENALTY = 3.0


def _evaluate(sources: list[str], **options: object) -> list[Evaluation]:
    config = EvaluatorConfig(screen=SCREEN, train=TRAIN, validation=(), **options)  # type: ignore[arg-type]
    evaluator = Evaluator(config, LocalExecutor(1, SandboxLimits()))
    try:
        asyncio.run(evaluator.calibrate())
        return [asyncio.run(evaluator.evaluate(s, screen_bar=None)) for s in sources]
    finally:
        evaluator.executor.close()


def _excess(evaluation: Evaluation) -> list[float]:
    return [evaluation.metrics["train"][ref.label]["excess_percent"] for ref in TRAIN]


@pytest.fixture(scope="module")
def runs() -> dict[str, tuple[Evaluation, Evaluation]]:
    names = ["first-fit", "best-fit-cpu", "worst-fit"]
    sources = [SEED_SOURCES[n] for n in names]
    absolute = _evaluate(sources)
    relative = _evaluate(sources, reference="first-fit", regression_penalty=PENALTY)
    return {n: (a, r) for n, a, r in zip(names, absolute, relative, strict=True)}


def test_the_reference_itself_scores_minus_one(runs: dict) -> None:
    _, relative = runs["first-fit"]
    assert relative.score == pytest.approx(-1.0)
    assert relative.screen_score == pytest.approx(-1.0)


def test_a_better_candidate_scores_its_mean_ratio_to_the_reference(runs: dict) -> None:
    reference = _excess(runs["first-fit"][0])
    absolute, relative = runs["best-fit-cpu"]
    ratios = [e / r for e, r in zip(_excess(absolute), reference, strict=True)]
    assert all(r <= 1 for r in ratios) and min(ratios) < 1  # never behind first fit
    assert relative.score == pytest.approx(-sum(ratios) / len(ratios))
    assert relative.score > -1


def test_falling_behind_the_reference_costs_the_penalty_times_the_shortfall(runs: dict) -> None:
    reference = _excess(runs["first-fit"][0])
    absolute, relative = runs["worst-fit"]
    ratios = [e / r for e, r in zip(_excess(absolute), reference, strict=True)]
    assert all(r > 1 for r in ratios)  # worst fit opens more bins than first fit
    expected = [-r - PENALTY * (r - 1) for r in ratios]
    assert relative.score == pytest.approx(sum(expected) / len(expected))


def test_a_gain_cap_bounds_each_scenarios_gain_over_the_reference(runs: dict) -> None:
    """Best fit beats first fit by more than 1 % on some scenario; capped at 1 %, that
    scenario counts as exactly 1 % better, and the others as they are."""
    cap = 0.01
    reference = _excess(runs["first-fit"][0])
    absolute, uncapped = runs["best-fit-cpu"]
    ratios = [e / r for e, r in zip(_excess(absolute), reference, strict=True)]
    assert min(ratios) < 1 - cap  # the cap binds somewhere
    capped = _evaluate(
        [SEED_SOURCES["best-fit-cpu"], SEED_SOURCES["worst-fit"]],
        reference="first-fit", regression_penalty=PENALTY, gain_cap=cap,
    )  # fmt: skip
    expected = [min(-r, -1 + cap) for r in ratios]
    assert capped[0].score == pytest.approx(sum(expected) / len(expected))
    assert uncapped.score > capped[0].score > -1
    assert capped[1].score == pytest.approx(runs["worst-fit"][1].score)  # losses are not capped


def test_a_gain_cap_without_a_reference_is_a_config_error() -> None:
    head = {"apiVersion": API_VERSION, "kind": KIND}
    with pytest.raises(ConfigError, match=r"evaluator\.gain_cap: needs evaluator\.reference"):
        config_from_mapping({**head, "evaluator": {"gain_cap": 0.05}})
    with pytest.raises(ConfigError, match=r"evaluator\.gain_cap: expected >= 0"):
        config_from_mapping({**head, "evaluator": {"reference": "fgd", "gain_cap": -0.1}})


def test_a_penalty_without_a_reference_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"evaluator\.regression_penalty"):
        config_from_mapping({"evaluator": {"regression_penalty": 2}})


def test_with_several_references_each_scenario_counts_against_the_best_of_them(
    runs: dict,
) -> None:
    """Worst fit opens more bins than first fit on every training scenario, so against
    both, in either order, a candidate scores exactly as against first fit alone."""
    source = SEED_SOURCES["best-fit-cpu"]
    scores = [
        _evaluate([source], reference=pair, regression_penalty=PENALTY)[0].score
        for pair in [("worst-fit", "first-fit"), ("first-fit", "worst-fit")]
    ]
    assert scores == pytest.approx([runs["best-fit-cpu"][1].score] * 2)


def test_a_reference_is_one_heuristic_or_a_list_of_them() -> None:
    head = {"apiVersion": API_VERSION, "kind": KIND}
    one = config_from_mapping({**head, "evaluator": {"reference": "fgd"}}).evaluator
    two = config_from_mapping({**head, "evaluator": {"reference": ["kube-default", "fgd"]}})
    assert (one.references, two.evaluator.references) == (("fgd",), ("kube-default", "fgd"))
    with pytest.raises(ConfigError, match=r"evaluator\.reference: expected a registered"):
        config_from_mapping({**head, "evaluator": {"reference": []}})
    with pytest.raises(ConfigError, match=r"evaluator\.reference\[1\]: expected str"):
        config_from_mapping({**head, "evaluator": {"reference": ["fgd", 3]}})


def _bins(evaluation: Evaluation) -> list[float]:
    return [evaluation.metrics["train"][ref.label]["bins_used_mean"] for ref in TRAIN]


def test_a_guard_costs_its_penalty_times_the_excess_over_the_references_level(
    runs: dict,
) -> None:
    """A guard metric above the reference's on a scenario costs ``guard_penalty`` times
    the relative excess there; within the guard everywhere, it costs nothing."""
    weight = 2.0
    guarded = _evaluate(
        [SEED_SOURCES["best-fit-cpu"], SEED_SOURCES["worst-fit"]],
        reference="first-fit", regression_penalty=PENALTY,
        guards=("bins_used_mean",), guard_penalty=weight,
    )  # fmt: skip
    reference = _bins(runs["first-fit"][0])
    assert all(b <= r for b, r in zip(_bins(runs["best-fit-cpu"][0]), reference, strict=True))
    assert guarded[0].score == pytest.approx(runs["best-fit-cpu"][1].score)
    excess = [(w - r) / r for w, r in zip(_bins(runs["worst-fit"][0]), reference, strict=True)]
    assert all(e > 0 for e in excess)
    expected = runs["worst-fit"][1].score - weight * sum(excess) / len(excess)
    assert guarded[1].score == pytest.approx(expected)


@pytest.mark.parametrize(
    ("evaluator", "message"),
    [
        ({"guards": ["pods_failed"]}, r"evaluator\.guards: needs evaluator\.reference"),
        ({"reference": "fgd", "guards": ["pods_stuck"]}, r"evaluator\.guards\[0\]: expected a simulator metric"),
        ({"reference": "fgd", "guards": ["gpu_alloc_at_130"]}, r"evaluator\.guards\[0\]: expected a simulator metric where lower is better"),
        ({"reference": "fgd", "guards": ["pods_failed"], "guard_penalty": -1}, r"evaluator\.guard_penalty: expected >= 0"),
    ],
)  # fmt: skip
def test_a_guard_needs_a_reference_a_known_metric_and_a_penalty_of_zero_or_more(
    evaluator: dict, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_mapping({"apiVersion": API_VERSION, "kind": KIND, "evaluator": evaluator})


def test_queue_metrics_are_minimised_when_the_direction_is_auto() -> None:
    metrics = {"pods_pending_mean": 4.0, "queue_delay_p90_s": 30.0, "gpu_alloc_percent": 70.0,
               "pods_pending_fragmented_mean": 2.0}  # fmt: skip
    assert signed_objective(metrics, "replay", "pods_pending_mean", "auto") == -4.0
    assert signed_objective(metrics, "replay", "pods_pending_fragmented_mean", "auto") == -2.0
    assert signed_objective(metrics, "replay", "queue_delay_p90_s", "auto") == -30.0
    assert signed_objective(metrics, "replay", "gpu_alloc_percent", "auto") == 70.0
