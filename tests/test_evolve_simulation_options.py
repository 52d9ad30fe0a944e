"""A run's simulator options (``evaluator.simulation``): checked with the config, applied to
every simulation the search makes (screen, training, validation, the probe's recorded
decisions) and to ``make results``, and a changed option is a changed run."""

from __future__ import annotations

import asyncio
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from cluster_traces.scenarios import load_scenario
from heuristics.evolve.campaigns import evaluate_metrics
from heuristics.evolve.config import (
    API_VERSION,
    KIND,
    ConfigError,
    EvaluatorConfig,
    EvolutionConfig,
    ScenarioRef,
    config_from_mapping,
)
from heuristics.evolve.engine import sandbox_limits
from heuristics.evolve.evaluator import Evaluator
from heuristics.evolve.executor import LocalExecutor
from heuristics.evolve.probe import recorded_decisions
from heuristics.evolve.run_dir import config_changes, config_from_record
from heuristics.evolve.seeds import SEED_SOURCES
from heuristics.registry import resolve
from simulator import SimulationOptions, simulate

# On this window kube-default fails 12 pods under kube-scheduler's queue (the simulator's
# defaults) and 11 under the queue campaign 3's first attempts ran with (a 300 s backoff
# cap, no popping from backoff, arrival order): the options visibly change the outcome.
WINDOW = "alibaba-gpu-v2023:loaded-0"
UPSTREAM = SimulationOptions()
FIRST_SETTINGS = {"backoff_max_s": 300.0, "pop_from_backoff": False, "queue_order": "arrival"}
FIRST_QUEUE = SimulationOptions(**FIRST_SETTINGS)  # type: ignore[arg-type]


def _config(evaluator: dict[str, object]) -> EvolutionConfig:
    return config_from_mapping({"apiVersion": API_VERSION, "kind": KIND, "evaluator": evaluator})


def test_a_config_sets_the_simulator_options_of_its_evaluations() -> None:
    config = _config({"simulation": FIRST_SETTINGS})
    assert config.evaluator.simulation == FIRST_QUEUE
    assert _config({}).evaluator.simulation == UPSTREAM
    assert UPSTREAM.backoff_max_s == 10.0  # kube-scheduler's podMaxBackoffSeconds
    assert UPSTREAM.pop_from_backoff and UPSTREAM.queue_order == "last_attempt"


@pytest.mark.parametrize(
    ("simulation", "message"),
    [
        ({"backof_max_s": 10}, "evaluator.simulation.backof_max_s: unknown field"),
        ({"backoff_max_s": "10s"}, "evaluator.simulation.backoff_max_s: expected float, got '10s'"),
        ({"backoff_max_s": 0.5}, "evaluator.simulation: simulation options: backoff_initial_s"),
        ({"on_heuristic_error": "ignore"}, "evaluator.simulation.on_heuristic_error: expected one"),
        ({"pop_from_backoff": "yes"}, "evaluator.simulation.pop_from_backoff: expected bool"),
        ({"queue_order": "fifo"}, "evaluator.simulation.queue_order: expected one"),
    ],
)
def test_a_bad_simulator_option_is_named_by_its_field_path(
    simulation: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _config({"simulation": simulation})
    problems = caught.value.errors
    assert len(problems) == 1 and problems[0].startswith(message), problems


def test_a_run_resumed_with_other_simulator_options_is_a_changed_run() -> None:
    recorded = EvolutionConfig()
    requested = replace(recorded, evaluator=replace(recorded.evaluator, simulation=FIRST_QUEUE))
    assert config_changes(recorded, requested) == [
        "evaluator.simulation.backoff_max_s: 10.0 -> 300.0",
        "evaluator.simulation.pop_from_backoff: True -> False",
        "evaluator.simulation.queue_order: 'last_attempt' -> 'arrival'",
    ]


def test_a_run_recorded_before_the_option_keeps_the_queue_it_ran_with() -> None:
    stored = asdict(EvolutionConfig())
    del stored["evaluator"]["simulation"]
    assert config_from_record(stored, "old run").evaluator.simulation == FIRST_QUEUE
    assert config_from_record(asdict(EvolutionConfig()), "new run").evaluator.simulation == (
        UPSTREAM
    )


def test_a_run_recorded_before_the_queue_options_keeps_its_cap_and_its_old_queue() -> None:
    # campaign 3's eighth attempt recorded a 10 s cap, before pop_from_backoff and
    # queue_order existed
    stored = asdict(EvolutionConfig())
    del stored["evaluator"]["simulation"]["pop_from_backoff"]
    del stored["evaluator"]["simulation"]["queue_order"]
    assert config_from_record(stored, "eighth attempt").evaluator.simulation == (
        SimulationOptions(pop_from_backoff=False, queue_order="arrival")
    )


def test_the_evaluator_simulates_with_the_configs_options(trace_dir: Path) -> None:
    window = ScenarioRef(WINDOW)
    scenario = load_scenario(WINDOW, trace_dir, seed=0)
    kube = resolve("kube-default")
    failed = {
        options: simulate(scenario, kube, seed=0, **vars(options)).metrics["pods_failed"]
        for options in (FIRST_QUEUE, UPSTREAM)
    }
    assert failed == {FIRST_QUEUE: 11, UPSTREAM: 12}  # as docs/simulator.md says
    for options, expected in failed.items():
        config = EvaluatorConfig(
            screen=window,
            train=(window,),
            validation=(),
            simulation=options,
            data_dir=str(trace_dir),
        )
        limits = sandbox_limits(EvolutionConfig(evaluator=config))  # preloads the window
        evaluator = Evaluator(config, LocalExecutor(1, limits))
        try:
            evaluation = asyncio.run(
                evaluator.evaluate(SEED_SOURCES["kube-default"], screen_bar=None)
            )
        finally:
            evaluator.executor.close()
        assert evaluation.status == "evaluated", evaluation.errors
        assert evaluation.metrics["train"][window.label]["pods_failed"] == expected


def test_make_results_simulates_with_the_options_it_is_given(trace_dir: Path) -> None:
    scenario = load_scenario(WINDOW, trace_dir, seed=0)
    names = ("pods_failed",)
    default = evaluate_metrics([scenario], "kube-default", (0,), names)["pods_failed"]
    first = evaluate_metrics([scenario], "kube-default", (0,), names, FIRST_QUEUE)["pods_failed"]
    direct = simulate(scenario, resolve("kube-default"), seed=0, **FIRST_SETTINGS)  # type: ignore[arg-type]
    assert first.value == direct.metrics["pods_failed"] != default.value


def test_the_probe_records_its_decisions_under_the_same_options(trace_dir: Path) -> None:
    scenario = load_scenario(WINDOW, trace_dir, seed=0)
    default = recorded_decisions(scenario, 32)
    first = recorded_decisions(scenario, 32, options=FIRST_SETTINGS)
    again = recorded_decisions(scenario, 32, options=FIRST_SETTINGS)
    candidates = [[len(d.index) for d in decisions] for decisions in (default, first, again)]
    assert candidates[0] != candidates[1] and candidates[1] == candidates[2]


def test_a_sandbox_worker_keeps_the_probes_decisions_apart_by_options(trace_dir: Path) -> None:
    """The worker caches recorded decisions per scenario *and* options: a task under other
    options records anew, a task under the same options is served from the cache."""
    from heuristics import sandbox_worker

    ref = {**asdict(ScenarioRef(WINDOW)), "label": WINDOW}
    data_dir = str(trace_dir)
    default = sandbox_worker._recorded(ref, 32, data_dir, asdict(UPSTREAM))
    first = sandbox_worker._recorded(ref, 32, data_dir, asdict(FIRST_QUEUE))
    assert sandbox_worker._recorded(ref, 32, data_dir, asdict(FIRST_QUEUE)) is first
    assert sandbox_worker._recorded(ref, 32, data_dir, asdict(UPSTREAM)) is default
    assert [len(d.index) for d in default] != [len(d.index) for d in first]
