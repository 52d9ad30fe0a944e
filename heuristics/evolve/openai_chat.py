"""The ``openai`` proposer: any OpenAI-compatible chat-completions server.

vLLM, Ollama, llama.cpp's server and hosted APIs all speak ``POST {base_url}/chat/completions``;
the official ``openai`` package talks to them with ``AsyncOpenAI(base_url=..., api_key=...)``.
Its own retries are off (``max_retries=0``): the shared loop in
:mod:`heuristics.evolve.llm_call` retries 429, 5xx, timeouts and dropped connections,
honouring ``Retry-After``. Tokens come from ``usage.prompt_tokens`` and
``usage.completion_tokens``; a ``length`` finish reason is the MAX_TOKENS case.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

import openai

from heuristics.evolve import proposer as registry
from heuristics.evolve.config import EvolutionConfig, OpenAIConfig, PromptConfig
from heuristics.evolve.llm_call import (
    Reply,
    Verdict,
    parse_retry_after,
    propose_with_retries,
)
from heuristics.evolve.prompt import Prompt, build_prompt
from heuristics.evolve.proposer import Proposal, ProposalRequest

__all__ = ["PLACEHOLDER_KEY", "OpenAIChatProposer", "classify_openai_error"]

PLACEHOLDER_KEY = "not-needed"
"""Sent when the key variable is unset: local servers (vLLM, Ollama) need no key."""


class OpenAIChatProposer:
    """Asks a chat-completions model for a child program; failures become recorded errors."""

    name = "openai"

    def __init__(
        self,
        config: OpenAIConfig,
        prompt_config: PromptConfig,
        *,
        api_key: str | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        """Build the client (no request is sent yet); the key defaults to ``config.api_key_env``."""
        self.config = config
        self.prompt_config = prompt_config
        self._sleep = sleep
        key = api_key or os.environ.get(config.api_key_env, "").strip() or PLACEHOLDER_KEY
        self._client = openai.AsyncOpenAI(
            base_url=config.base_url, api_key=key, timeout=config.timeout_s, max_retries=0
        )

    async def propose(self, request: ProposalRequest) -> Proposal:
        """A child of ``request.parents``; a failed call or parse is in ``Proposal.error``."""
        prompt = build_prompt(request, self.prompt_config)
        return await propose_with_retries(
            lambda: self._complete(prompt, request.seed),
            classify_openai_error,
            prompt,
            proposer=self.name,
            section=self.config,
            seed=request.seed,
            sleep=self._sleep,
        )

    async def _complete(self, prompt: Prompt, seed: int) -> Reply:
        completion = await self._client.chat.completions.create(
            model=self.config.model,
            messages=[
                {"role": "system", "content": prompt.system},
                {"role": "user", "content": prompt.user},
            ],
            temperature=self.config.temperature,
            max_tokens=self.config.max_output_tokens,
            seed=seed % (2**31),
        )
        choice = completion.choices[0] if completion.choices else None
        text = (choice.message.content or "") if choice else ""
        finish = (choice.finish_reason or "").upper() if choice else "NO_CHOICE"
        usage = completion.usage
        return Reply(
            text=text,
            finish_reason="MAX_TOKENS" if finish == "LENGTH" else finish,
            input_tokens=usage.prompt_tokens if usage else 0,
            output_tokens=usage.completion_tokens if usage else 0,
        )


def classify_openai_error(exc: BaseException) -> Verdict:
    """Retry rate limits (429), server errors (5xx), timeouts and connection failures."""
    if isinstance(exc, openai.APIStatusError):
        retryable = exc.status_code == 429 or exc.status_code >= 500
        after = parse_retry_after(exc.response.headers.get("retry-after")) if retryable else None
        return Verdict(retryable, after)
    return Verdict(isinstance(exc, openai.APIConnectionError | TimeoutError | ConnectionError))


def _create(config: EvolutionConfig) -> OpenAIChatProposer:
    return OpenAIChatProposer(config.openai, config.prompt)


registry.register("openai", _create)
