"""The ``openai`` proposer, driven through the real ``openai`` package against a local
server that speaks the chat-completions wire format and replays recorded answers.

It sends ``POST /v1/chat/completions`` with a bearer key, a system and a user message;
turns rewrites and diffs into sources; records prose, broken code and an empty ``length``
answer as failures; retries 429 after ``Retry-After`` and gives up on endless 5xx after the
configured retries; and accounts tokens and cost from ``usage``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest
from recorded_llm_server import RecordedLLMServer, load_exchanges

from heuristics.evolve import proposer as registry
from heuristics.evolve.config import EvolutionConfig, OpenAIConfig, PromptConfig
from heuristics.evolve.openai_chat import PLACEHOLDER_KEY, OpenAIChatProposer
from heuristics.evolve.proposer import Parent, Proposal, ProposalRequest
from heuristics.safety import compile_heuristic

BEST = Parent(
    source="import numpy as np\n\n\ndef score(pod, nodes, ctx):\n"
    '    """Best fit on GPU share."""\n'
    "    left = nodes.gpu_free - pod.gpu_milli_total\n    return -left.astype(float)\n",
    score=91.25,
)
WEAKER = Parent(source="def score(pod, nodes, ctx):\n    return nodes.cpu_free * 0.0\n", score=84.0)
REQUEST = ProposalRequest(parents=(BEST, WEAKER), island=2, seed=11)
CONFIG = OpenAIConfig(
    model="qwen2.5-coder-7b-instruct",
    temperature=0.6,
    max_output_tokens=4096,
    timeout_s=10.0,
    retries=2,
    backoff_s=0.01,
    price_input_usd_per_mtok=0.10,
    price_output_usd_per_mtok=0.40,
)


def _propose(
    recording: str, diff_share: float = 0.0, **overrides: object
) -> tuple[Proposal, RecordedLLMServer]:
    with RecordedLLMServer(load_exchanges(recording)) as server:
        config = replace(CONFIG, base_url=server.url + "/v1", **overrides)  # type: ignore[arg-type]
        proposer = OpenAIChatProposer(
            config, PromptConfig(parents=2, diff_share=diff_share), api_key="sk-test"
        )
        proposal = asyncio.run(proposer.propose(REQUEST))
    return proposal, server


def test_a_full_rewrite_becomes_a_safe_source_with_its_tokens_and_cost() -> None:
    proposal, _ = _propose("openai_rewrite")
    assert proposal.error is None
    assert proposal.kind == "rewrite"
    assert proposal.source is not None
    assert callable(compile_heuristic(proposal.source))
    assert (proposal.input_tokens, proposal.output_tokens) == (790, 160)
    assert proposal.cost_usd == pytest.approx((790 * 0.10 + 160 * 0.40) / 1e6)
    assert (proposal.proposer, proposal.model) == ("openai", "qwen2.5-coder-7b-instruct")


def test_the_request_follows_the_chat_completions_wire_format() -> None:
    _, server = _propose("openai_rewrite")
    (seen,) = server.requests
    assert seen.path == "/v1/chat/completions"
    assert seen.headers["authorization"] == "Bearer sk-test"
    body = seen.body
    assert body["model"] == "qwen2.5-coder-7b-instruct"
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "def score(pod, nodes, ctx)" in body["messages"][0]["content"]
    assert "Write score_v2" in body["messages"][1]["content"]
    assert body["temperature"] == 0.6
    assert body["max_tokens"] == 4096
    assert body["seed"] == 11


def test_a_diff_answer_is_applied_to_the_best_parent() -> None:
    proposal, _ = _propose("openai_diff", diff_share=1.0)
    assert proposal.error is None, proposal.error
    assert proposal.kind == "diff"
    assert proposal.source is not None and "idle_bonus" in proposal.source


def test_prose_without_code_is_a_recorded_failure() -> None:
    proposal, _ = _propose("openai_prose")
    assert proposal.source is None
    assert proposal.error is not None and proposal.error.startswith("no_code")
    assert proposal.output_tokens == 41


def test_broken_code_is_a_recorded_syntax_error() -> None:
    proposal, _ = _propose("openai_broken")
    assert proposal.error is not None and proposal.error.startswith("syntax_error")


def test_an_empty_length_answer_is_recorded_as_max_tokens() -> None:
    proposal, _ = _propose("openai_max_tokens")
    assert proposal.source is None
    assert proposal.error is not None and proposal.error.startswith("max_tokens")
    assert proposal.output_tokens == 4096
    assert proposal.cost_usd == pytest.approx((790 * 0.10 + 4096 * 0.40) / 1e6)


def test_a_429_is_retried_after_the_servers_retry_after() -> None:
    started = time.monotonic()
    proposal, server = _propose("openai_429_then_ok")
    assert time.monotonic() - started >= 1.0
    assert len(server.requests) == 2
    assert proposal.source is not None


def test_endless_server_errors_stop_after_the_configured_retries() -> None:
    proposal, server = _propose("openai_500_forever", retries=3)
    assert len(server.requests) == 4
    assert proposal.source is None
    assert proposal.error is not None
    assert "after 4 attempt(s)" in proposal.error and "500" in proposal.error


def test_openai_is_registered_and_works_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with RecordedLLMServer(load_exchanges("openai_rewrite")) as server:
        config = replace(EvolutionConfig(), openai=replace(CONFIG, base_url=server.url + "/v1"))
        proposer = registry.create("openai", config)
        assert proposer.name == "openai"
        proposal = asyncio.run(proposer.propose(REQUEST))
    assert proposal.source is not None
    assert server.requests[0].headers["authorization"] == f"Bearer {PLACEHOLDER_KEY}"
