"""Evolution throughput: sandbox overhead, evaluations per minute, time outside evaluation.

* sandbox overhead per evaluation: wall time of ``Sandbox.run`` minus the simulation time
  measured inside the worker (compiling the candidate, the pipe round trip, JSON), on a
  warm worker, median of 20 small evaluations;
* evaluations per minute: a ``gp`` run on the alibaba-gpu-v2023 ``saturate`` scenario
  with the cascade (screen on a fifth of the nodes, train on the full cluster), two
  workers, :data:`RUN_S` seconds;
* share of worker time outside evaluation in that run: ``1 - eval_s / (workers x wall_s)``.

Needs ``BINFORGE_TRACE_DIR`` for the Alibaba figures (skipped with a note otherwise).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks import Measurement
from heuristics.evolve.config import (
    BudgetConfig,
    EvaluatorConfig,
    EvolutionConfig,
    ExecutorConfig,
    ScenarioRef,
)
from heuristics.evolve.engine import Engine
from heuristics.evolve.seeds import SEED_SOURCES
from heuristics.sandbox import Sandbox

RUN_S = 60.0
ALIBABA = "alibaba-gpu-v2023:default"


def run() -> list[Measurement]:
    rows = [_sandbox_overhead()]
    trace_dir = os.environ.get("BINFORGE_TRACE_DIR", "")
    if not trace_dir or not Path(trace_dir).is_dir():
        print("  bench_evolve: BINFORGE_TRACE_DIR unset: Alibaba figures skipped", file=sys.stderr)
        return rows
    return rows + _alibaba_run(trace_dir)


def _sandbox_overhead() -> Measurement:
    task = {
        "kind": "simulate",
        "scenarios": [{"name": "weibull:200", "seeds": [0], "label": "w"}],
    }
    overheads = []
    with Sandbox(workers=1) as box:
        box.warm()
        box.run(SEED_SOURCES["best-fit-cpu"], task, 60)  # loads the scenario once
        for _ in range(20):
            result = box.run(SEED_SOURCES["best-fit-cpu"], task, 60)
            assert result.ok and result.value is not None, result.error
            overheads.append(result.wall_s - float(result.value["simulate_s"]))
    value = statistics.median(overheads) * 1000
    return Measurement(
        "sandbox overhead per evaluation (warm worker)", value, "ms", "< 100 ms", value < 100
    )


def _alibaba_run(trace_dir: str) -> list[Measurement]:
    config = EvolutionConfig(
        seed=1,
        seed_heuristics=("best-fit", "first-fit"),
        evaluator=EvaluatorConfig(
            screen=ScenarioRef(ALIBABA, nodes_fraction=0.2),
            train=(ScenarioRef(ALIBABA),),
            validation=(),
            screen_tolerance=0.005,
            data_dir=trace_dir,
        ),
        budget=BudgetConfig(samples=None, cost_usd=None, time_s=RUN_S),
        executor=ExecutorConfig(workers=2, proposals_in_flight=2),
    )
    with tempfile.TemporaryDirectory() as run_dir:
        engine = Engine(config, Path(run_dir) / "run", progress=None)
        try:
            summary = asyncio.run(engine.run())
        finally:
            engine.close()
    per_minute = summary.evaluations / (summary.wall_s / 60)
    outside = 1 - summary.eval_s / (config.executor.workers * summary.wall_s)
    return [
        Measurement(
            f"evaluations/min, gp on {ALIBABA} saturate, cascade, 2 workers",
            per_minute,
            "evals/min",
            ">= 30",
            per_minute >= 30,
        ),
        Measurement("share of worker time outside evaluation", outside, "ratio", "", None),
    ]
