"""The decision probe: a candidate that chooses like a known program is a duplicate
without a screen run; one that chooses differently goes on to the screen.

The probe's own functions are exercised on trusted seed sources in this process; the
evaluator tests go through real sandbox workers, as every candidate does.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from cluster_traces.scenarios import load_scenario
from heuristics.evolve.config import (
    ConfigError,
    DatabaseConfig,
    EvaluatorConfig,
    EvolutionConfig,
    ScenarioRef,
    config_from_mapping,
    validate_config,
)
from heuristics.evolve.database import ProgramDatabase
from heuristics.evolve.evaluator import Evaluator
from heuristics.evolve.executor import LocalExecutor
from heuristics.evolve.probe import probe_signature, recorded_decisions
from heuristics.evolve.seeds import SEED_SOURCES
from heuristics.safety import compile_heuristic
from heuristics.sandbox import SandboxLimits

BEST_FIT = SEED_SOURCES["best-fit-cpu"]
# argmax is unchanged by a positive affine map or a monotone function of the whole score
RESCALED = (
    "import numpy as np\n\n\ndef score(pod, nodes, ctx):\n"
    "    s = -(nodes.cpu_free - pod.cpu_milli) / np.maximum(nodes.cpu_total, 1)\n"
    "    return 3.0 * np.exp(2.0 * s) + 7.0\n"
)
FIRST_FIT = SEED_SOURCES["first-fit"]
SCREEN = ScenarioRef("weibull:100")


@pytest.fixture(scope="module")
def decisions() -> list:
    return recorded_decisions(load_scenario("weibull:100", None, seed=0), 60)


def _signature(source: str, decisions: list) -> int | None:
    return probe_signature(compile_heuristic(source, "<test>"), decisions)["signature"]


def test_recorded_decisions_are_deterministic_and_each_offers_a_real_choice(
    decisions: list,
) -> None:
    again = recorded_decisions(load_scenario("weibull:100", None, seed=0), 60)
    assert len(decisions) == 60
    assert all(len(d.index) > 1 for d in decisions)
    assert _signature(BEST_FIT, decisions) == _signature(BEST_FIT, again)


def test_a_monotone_transform_of_a_score_has_the_same_probe_signature(decisions: list) -> None:
    assert _signature(RESCALED, decisions) == _signature(BEST_FIT, decisions)


def test_a_heuristic_that_chooses_differently_has_another_probe_signature(
    decisions: list,
) -> None:
    assert _signature(FIRST_FIT, decisions) != _signature(BEST_FIT, decisions)


def test_the_signature_tells_apart_programs_that_differ_only_in_their_second_choice(
    decisions: list,
) -> None:
    # the same first choice as best fit; the runner-up is the emptiest node, not the next
    # tightest one
    runner_up = (
        "import numpy as np\n\n\ndef score(pod, nodes, ctx):\n"
        "    gap = (nodes.cpu_free - pod.cpu_milli) / np.maximum(nodes.cpu_total, 1)\n"
        "    return np.where(gap == gap.min(), 2.0, gap)\n"
    )
    best, other = (compile_heuristic(s, "<test>") for s in (BEST_FIT, runner_up))
    assert probe_signature(best, decisions, depth=1) == probe_signature(other, decisions, depth=1)
    assert (
        probe_signature(best, decisions)["signature"]
        != probe_signature(other, decisions)["signature"]
    )


def test_a_candidate_that_writes_into_its_inputs_cannot_change_later_probes(
    decisions: list,
) -> None:
    before = _signature(BEST_FIT, decisions)
    vandal = (
        "import numpy as np\n\n\ndef score(pod, nodes, ctx):\n"
        "    nodes.index[:] = 0\n    nodes.cpu_free[:] = 0\n    return np.zeros(len(nodes))\n"
    )
    assert _signature(vandal, decisions) is not None
    assert _signature(BEST_FIT, decisions) == before


def test_a_heuristic_that_raises_gets_no_signature_and_the_reason(decisions: list) -> None:
    broken = "def score(pod, nodes, ctx):\n    return 1 / 0\n"
    result = probe_signature(compile_heuristic(broken, "<test>"), decisions)
    assert result["signature"] is None
    assert "ZeroDivisionError" in result["error"]


def _evaluator(probe: int) -> Evaluator:
    config = EvaluatorConfig(
        screen=SCREEN,
        train=(ScenarioRef("weibull:200", scenario_seed=1),),
        validation=(),
        probe_decisions=probe,
    )
    limits = SandboxLimits(preload=({"name": "weibull:100", "label": "weibull:100"},))
    return Evaluator(config, LocalExecutor(1, limits))


def test_an_equivalent_program_is_a_duplicate_without_a_screen_run() -> None:
    evaluator = _evaluator(probe=60)
    try:
        known = asyncio.run(evaluator.evaluate(BEST_FIT, screen_bar=None))
        assert known.status == "evaluated" and known.probe_signature is not None
        twin = asyncio.run(
            evaluator.evaluate(
                RESCALED,
                screen_bar=known.screen_score,
                known_signatures={known.signature or 0},
                known_probe_signatures={known.probe_signature},
            )
        )
    finally:
        evaluator.executor.close()
    assert twin.status == "duplicate"
    assert twin.errors == ("same probe decisions as a known program",)
    assert twin.screen_score is None and "screen" not in twin.metrics  # no screen ran
    assert twin.probe_signature == known.probe_signature


def test_a_genuinely_different_program_goes_on_to_the_screen() -> None:
    evaluator = _evaluator(probe=60)
    try:
        known = asyncio.run(evaluator.evaluate(BEST_FIT, screen_bar=None))
        other = asyncio.run(
            evaluator.evaluate(
                FIRST_FIT,
                screen_bar=None,
                known_signatures={known.signature or 0},
                known_probe_signatures={known.probe_signature or 0},
            )
        )
    finally:
        evaluator.executor.close()
    assert other.status == "evaluated"
    assert "screen" in other.metrics and other.score is not None
    assert other.probe_signature not in (None, known.probe_signature)


def test_with_the_probe_off_duplicates_are_still_found_by_the_screen() -> None:
    evaluator = _evaluator(probe=0)
    try:
        known = asyncio.run(evaluator.evaluate(BEST_FIT, screen_bar=None))
        twin = asyncio.run(
            evaluator.evaluate(RESCALED, screen_bar=None, known_signatures={known.signature or 0})
        )
    finally:
        evaluator.executor.close()
    assert known.probe_signature is None
    assert twin.status == "duplicate" and "screen" in twin.metrics


def test_probe_decisions_must_not_be_negative() -> None:
    bad = EvolutionConfig(evaluator=EvaluatorConfig(probe_decisions=-1))
    with pytest.raises(ConfigError) as caught:
        validate_config(bad)
    assert list(caught.value.errors) == [
        "evaluator.probe_decisions: expected >= 0 (0 turns the probe off), got -1"
    ]
    with pytest.raises(ConfigError) as caught:
        config_from_mapping(
            {
                "apiVersion": "binforge.dev/v1alpha1",
                "kind": "EvolutionConfig",
                "evaluator": {"probe_decisions": "many"},
            }
        )
    assert "evaluator.probe_decisions: expected int, got 'many'" in caught.value.errors


def test_the_database_keeps_probe_signatures_of_committed_programs(tmp_path: Path) -> None:
    db = ProgramDatabase(tmp_path / "programs.sqlite", DatabaseConfig())
    for sample, status in enumerate(["evaluated", "failed", "duplicate", "screened"]):
        pid = db.add(sample=sample, island=0, status="proposed", kind="mutation")
        db.record(pid, status=status, probe_signature=100 + sample)
    assert db.probe_signatures() == {100, 102, 103}  # a failed program's does not count
    assert db.probe_signatures(upto=1) == {100}
    db.close()


def test_a_run_directory_from_before_the_probe_gets_the_column(tmp_path: Path) -> None:
    path = tmp_path / "programs.sqlite"
    ProgramDatabase(path, DatabaseConfig()).close()
    old = sqlite3.connect(path)
    old.execute("ALTER TABLE programs DROP COLUMN probe_signature")
    old.execute(
        "INSERT INTO programs (sample, island, status, kind, created_at)"
        " VALUES (0, 0, 'evaluated', 'seed', 0)"
    )
    old.commit()
    old.close()
    db = ProgramDatabase(path, DatabaseConfig())
    db.record(1, status="evaluated", probe_signature=7)
    assert db.probe_signatures() == {7}
    db.close()
