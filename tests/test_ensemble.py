"""The ``ensemble`` proposer sends each request to one member, drawn by weight from the
request's seed, and returns that member's proposal with its own name and model."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace

import pytest
from recorded_llm_server import RecordedLLMServer, load_exchanges

from heuristics.evolve import proposer as registry
from heuristics.evolve.config import EnsembleMember, EvolutionConfig, OpenAIConfig, PromptConfig
from heuristics.evolve.ensemble import EnsembleProposer
from heuristics.evolve.openai_chat import OpenAIChatProposer
from heuristics.evolve.proposer import Parent, ProposalRequest

PARENT = Parent(source="def score(pod, nodes, ctx):\n    return nodes.cpu_free * -1.0\n", score=1.0)


def _openai(url: str, model: str) -> OpenAIChatProposer:
    config = OpenAIConfig(base_url=url + "/v1", model=model, retries=0, timeout_s=10.0)
    return OpenAIChatProposer(config, PromptConfig(diff_share=0.0), api_key="k")


def test_members_are_drawn_in_proportion_to_their_weights_and_reproducibly() -> None:
    fast, strong = _openai("http://127.0.0.1:9", "fast"), _openai("http://127.0.0.1:9", "strong")
    ensemble = EnsembleProposer([(0.8, fast), (0.2, strong)])
    picks = [ensemble.pick(seed) for seed in range(2000)]
    share = Counter(p.config.model for p in picks)["fast"] / len(picks)  # type: ignore[attr-defined]
    assert 0.76 < share < 0.84
    assert picks == [ensemble.pick(seed) for seed in range(2000)]


def test_a_request_goes_to_the_drawn_member_and_keeps_its_model() -> None:
    recording = load_exchanges("openai_rewrite")
    with RecordedLLMServer(recording) as fast_server, RecordedLLMServer(recording) as strong_server:
        ensemble = EnsembleProposer(
            [(3.0, _openai(fast_server.url, "fast")), (1.0, _openai(strong_server.url, "strong"))]
        )

        async def run_all() -> list[str]:
            requests = [ProposalRequest((PARENT,), island=0, seed=s) for s in range(12)]
            return [(await ensemble.propose(r)).model for r in requests]

        models = asyncio.run(run_all())
    assert len(fast_server.requests) == models.count("fast") > 0
    assert len(strong_server.requests) == models.count("strong") > 0
    assert models == [ensemble.pick(s).config.model for s in range(12)]  # type: ignore[attr-defined]


def test_weights_must_be_positive_and_members_present() -> None:
    with pytest.raises(ValueError, match="weight"):
        EnsembleProposer([(0.0, _openai("http://127.0.0.1:9", "m"))])
    with pytest.raises(ValueError, match="at least one"):
        EnsembleProposer([])


def test_the_registered_ensemble_builds_members_with_their_model_overrides() -> None:
    config = replace(
        EvolutionConfig(),
        ensemble=(
            EnsembleMember("openai", 0.8, "small-coder"),
            EnsembleMember("openai", 0.2, None),
        ),
        openai=OpenAIConfig(model="big-coder"),
    )
    ensemble = registry.create("ensemble", config)
    assert isinstance(ensemble, EnsembleProposer)
    assert [m.config.model for m in ensemble.members] == ["small-coder", "big-coder"]  # type: ignore[attr-defined]
    assert ensemble.weights == [0.8, 0.2]
