"""The ``gemini`` proposer, driven through the real google-genai SDK against a local server
that speaks the generateContent wire format and replays recorded answers.

It sends ``POST /{api_version}/models/{model}:generateContent`` with the key in
``x-goog-api-key``; turns rewrites and diffs into sources; records prose, broken code and an
empty MAX_TOKENS answer as failures; retries 429 and 5xx honouring the server's wait; and
accounts tokens and cost from ``usageMetadata``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import pytest
from recorded_llm_server import RecordedLLMServer, load_exchanges

from binforge.cli import main
from heuristics.evolve import proposer as registry
from heuristics.evolve.config import EvolutionConfig, GeminiConfig, PromptConfig
from heuristics.evolve.gemini import GeminiProposer, MissingApiKeyError
from heuristics.evolve.proposer import Parent, Proposal, ProposalRequest
from heuristics.safety import compile_heuristic

BEST = Parent(
    source="import numpy as np\n\n\ndef score(pod, nodes, ctx):\n"
    '    """Best fit on GPU share."""\n'
    "    left = nodes.gpu_free - pod.gpu_milli_total\n    return -left.astype(float)\n",
    score=91.25,
    metrics={"train.gpu_alloc_at_130": 91.25},
)
WEAKER = Parent(source="def score(pod, nodes, ctx):\n    return nodes.cpu_free * 0.0\n", score=84.0)
REQUEST = ProposalRequest(parents=(BEST, WEAKER), island=0, seed=7)
# google-genai 3.x subclasses aiohttp.ClientSession, which aiohttp deprecates: not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession")

CONFIG = GeminiConfig(
    model="gemini-3.5-flash",
    api_version="v1beta",
    temperature=0.7,
    max_output_tokens=8192,
    timeout_s=10.0,
    retries=2,
    backoff_s=0.01,
    price_input_usd_per_mtok=0.30,
    price_output_usd_per_mtok=2.50,
)


def _propose(
    recording: str, diff_share: float = 0.0, **overrides: object
) -> tuple[Proposal, RecordedLLMServer]:
    with RecordedLLMServer(load_exchanges(recording)) as server:
        config = replace(CONFIG, base_url=server.url, **overrides)  # type: ignore[arg-type]
        proposer = GeminiProposer(
            config, PromptConfig(parents=2, diff_share=diff_share), api_key="test-key"
        )
        proposal = asyncio.run(proposer.propose(REQUEST))
    return proposal, server


def test_a_full_rewrite_becomes_a_safe_source_with_its_tokens_and_cost() -> None:
    proposal, server = _propose("gemini_rewrite")
    assert proposal.error is None
    assert proposal.kind == "rewrite"
    assert proposal.source is not None and "def score(pod, nodes, ctx):" in proposal.source
    assert callable(compile_heuristic(proposal.source))
    assert (proposal.input_tokens, proposal.output_tokens) == (812, 164)
    assert proposal.cost_usd == pytest.approx((812 * 0.30 + 164 * 2.50) / 1e6)
    assert (proposal.proposer, proposal.model) == ("gemini", "gemini-3.5-flash")
    assert "score_v2" in proposal.prompt
    assert len(server.requests) == 1


def test_the_request_follows_the_generate_content_wire_format() -> None:
    _, server = _propose("gemini_rewrite")
    (seen,) = server.requests
    assert seen.path == "/v1beta/models/gemini-3.5-flash:generateContent"
    assert seen.headers["x-goog-api-key"] == "test-key"
    body = seen.body
    assert body["contents"][0]["role"] == "user"
    assert "Write score_v2" in body["contents"][0]["parts"][0]["text"]
    assert "def score(pod, nodes, ctx)" in body["systemInstruction"]["parts"][0]["text"]
    assert body["generationConfig"]["temperature"] == 0.7
    assert body["generationConfig"]["maxOutputTokens"] == 8192
    assert body["generationConfig"]["seed"] == 7


def test_the_api_version_is_the_pinned_one_from_config() -> None:
    _, server = _propose("gemini_rewrite", api_version="v1")
    assert server.requests[0].path == "/v1/models/gemini-3.5-flash:generateContent"


def test_a_diff_answer_is_applied_to_the_best_parent() -> None:
    proposal, _ = _propose("gemini_diff", diff_share=1.0)
    assert proposal.error is None, proposal.error
    assert proposal.kind == "diff"
    assert proposal.source is not None
    assert "idle_bonus = 0.1 * (nodes.gpu_idle == nodes.gpu_total)" in proposal.source
    assert '"""Best fit on GPU share."""' in proposal.source
    assert "def score(pod, nodes, ctx):" in proposal.source


def test_prose_without_code_is_a_recorded_failure_that_still_costs() -> None:
    proposal, _ = _propose("gemini_prose")
    assert proposal.source is None
    assert proposal.error is not None and proposal.error.startswith("no_code")
    assert "popular shapes" in proposal.raw_text
    assert proposal.output_tokens == 41
    assert proposal.cost_usd > 0


def test_broken_code_is_a_recorded_syntax_error() -> None:
    proposal, _ = _propose("gemini_broken")
    assert proposal.source is None
    assert proposal.error is not None and proposal.error.startswith("syntax_error")


def test_an_empty_max_tokens_answer_is_recorded_and_thinking_tokens_are_billed() -> None:
    proposal, _ = _propose("gemini_max_tokens")
    assert proposal.source is None
    assert proposal.error is not None and proposal.error.startswith("max_tokens")
    assert "8192" in proposal.error
    assert proposal.output_tokens == 8192
    assert proposal.cost_usd == pytest.approx((812 * 0.30 + 8192 * 2.50) / 1e6)


def test_a_blocked_prompt_is_recorded_as_an_empty_answer_billing_its_input() -> None:
    proposal, _ = _propose("gemini_blocked")
    assert proposal.source is None
    assert proposal.error == "empty_answer: no text (finish reason BLOCKED_SAFETY)"
    assert (proposal.input_tokens, proposal.output_tokens) == (812, 0)


def test_a_429_is_retried_after_the_servers_retry_after() -> None:
    started = time.monotonic()
    proposal, server = _propose("gemini_429_then_ok")
    assert time.monotonic() - started >= 1.0  # Retry-After: 1, far above backoff_s
    assert len(server.requests) == 2
    assert proposal.error is None
    assert proposal.source is not None


def test_a_503_is_retried_after_the_apis_retry_delay() -> None:
    started = time.monotonic()
    proposal, server = _propose("gemini_503_retry_delay")
    assert time.monotonic() - started >= 0.3  # RetryInfo.retryDelay: "0.3s"
    assert len(server.requests) == 2
    assert proposal.source is not None


def test_retries_are_bounded_and_the_last_error_is_recorded() -> None:
    proposal, server = _propose("gemini_503_retry_delay", retries=0)
    assert len(server.requests) == 1
    assert proposal.source is None
    assert proposal.error is not None and "503" in proposal.error
    assert proposal.cost_usd == 0.0


def test_a_client_error_is_not_retried() -> None:
    proposal, server = _propose("gemini_400", retries=3)
    assert len(server.requests) == 1
    assert proposal.error is not None and "API key not valid" in proposal.error


def test_a_server_that_never_answers_times_out_as_a_recorded_failure() -> None:
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        host, port = silent.getsockname()
        config = replace(CONFIG, base_url=f"http://{host}:{port}", timeout_s=0.5, retries=1)
        proposer = GeminiProposer(config, PromptConfig(diff_share=0.0), api_key="k")
        started = time.monotonic()
        proposal = asyncio.run(proposer.propose(REQUEST))
    assert proposal.source is None and proposal.error is not None
    assert time.monotonic() - started < 15


def test_gemini_is_registered_and_reads_its_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    with pytest.raises(MissingApiKeyError, match="GEMINI_API_KEY"):
        registry.create("gemini", EvolutionConfig())
    monkeypatch.setenv("GOOGLE_API_KEY", "from-env")
    assert registry.create("gemini", EvolutionConfig()).name == "gemini"


def test_the_cli_says_which_key_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    assert main(["evolve", "--proposer", "gemini", "--run-dir", str(tmp_path / "run")]) == 2
    assert "no API key: set GEMINI_API_KEY (or GOOGLE_API_KEY)" in capsys.readouterr().err
