"""End to end: an evolution run whose proposer is a model behind the chat-completions wire
format (the local recorded server), then ``report`` and ``export`` on its run directory.

Slow (a real engine, sandbox workers and simulations): marked ``slow``.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from recorded_llm_server import RecordedLLMServer, load_exchanges

from heuristics.evolve.config import (
    BudgetConfig,
    DatabaseConfig,
    EvolutionConfig,
    ExecutorConfig,
    OpenAIConfig,
    PromptConfig,
)
from heuristics.evolve.engine import Engine
from heuristics.evolve.export import export_winner
from heuristics.evolve.report import write_report
from heuristics.evolve.run_record import load_run
from heuristics.registry import Registry

pytestmark = pytest.mark.slow


def test_a_run_with_a_model_proposer_records_proposals_and_can_be_reported_and_exported(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "run"
    with RecordedLLMServer(load_exchanges("openai_rewrite")) as server:
        config = replace(
            EvolutionConfig(),
            proposer="openai",
            openai=OpenAIConfig(
                base_url=server.url + "/v1",
                model="recorded-coder",
                retries=0,
                timeout_s=10.0,
                price_input_usd_per_mtok=1.0,
                price_output_usd_per_mtok=2.0,
            ),
            budget=BudgetConfig(samples=3, cost_usd=None, time_s=120.0),
            database=DatabaseConfig(islands=1),
            executor=ExecutorConfig(workers=1, proposals_in_flight=1),
            seed_heuristics=("best-fit", "first-fit"),
            prompt=PromptConfig(diff_share=0.0),
        )
        engine = Engine(config, run_dir, progress=None)

        async def evolve_and_validate() -> None:
            await engine.run()
            await engine.validate(("best-fit",))

        try:
            asyncio.run(evolve_and_validate())
        finally:
            engine.close()

    assert [r.path for r in server.requests] == ["/v1/chat/completions"] * 3
    record = load_run(run_dir)
    samples = [p for p in record.programs if p.sample is not None]
    assert len(samples) == 3
    assert {(p.proposer, p.model) for p in samples} == {("openai", "recorded-coder")}
    assert all(p.source is not None and "def score(pod, nodes, ctx):" in p.source for p in samples)
    assert {p.status for p in samples[1:]} == {"duplicate"}  # the recording answers the same
    assert record.tokens[("openai", "recorded-coder")] == (3 * 790, 3 * 160)
    assert sum(p.cost_usd for p in samples) == pytest.approx(3 * (790 * 1.0 + 160 * 2.0) / 1e6)
    assert {"winner", "best-fit"} <= set(record.results)

    page = write_report(run_dir).read_text(encoding="utf-8")
    assert page.count("data:image/png") == 2
    assert "recorded-coder" in page

    path = export_winner(run_dir, "llm-run", dest=tmp_path / "winners")
    assert callable(Registry(winners_dir=tmp_path / "winners").resolve("llm-run").heuristic)
    assert "# held-out validation fitness against the baselines:" in path.read_text(
        encoding="utf-8"
    )
