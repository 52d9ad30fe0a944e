"""The ``gemini`` proposer: Google's Gemini models through the google-genai SDK.

google-genai is the maintained SDK (the older google-generativeai reached its end of life
on 2025-09-30). The API version is pinned from config because the SDK's default changed in
3.0. The SDK's own retries stay off: :func:`~heuristics.evolve.llm_call.call_with_retries`
retries 429 and 5xx answers, timeouts and dropped connections with jittered exponential
backoff, honouring ``Retry-After`` or the API's ``RetryInfo.retryDelay``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from heuristics.evolve import proposer as registry
from heuristics.evolve.config import EvolutionConfig, GeminiConfig, PromptConfig
from heuristics.evolve.llm_call import (
    Reply,
    Verdict,
    parse_retry_after,
    propose_with_retries,
)
from heuristics.evolve.prompt import Prompt, build_prompt
from heuristics.evolve.proposer import Proposal, ProposalRequest

__all__ = [
    "FALLBACK_KEY_ENV",
    "GeminiProposer",
    "MissingApiKeyError",
    "classify_gemini_error",
    "gemini_api_key",
]

FALLBACK_KEY_ENV = "GOOGLE_API_KEY"
"""Read when the configured key variable (``GEMINI_API_KEY`` by default) is unset."""


class MissingApiKeyError(KeyError):
    """No API key in the environment (a ``KeyError``, as a missing variable is)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "missing API key"


def gemini_api_key(config: GeminiConfig) -> str:
    """The API key from ``config.api_key_env``, else from ``GOOGLE_API_KEY``.

    Raises:
        MissingApiKeyError: when neither variable is set (the message names both).
    """
    for name in (config.api_key_env, FALLBACK_KEY_ENV):
        value = os.environ.get(name, "").strip()
        if value:
            return value
    raise MissingApiKeyError(
        f"gemini proposer: no API key: set {config.api_key_env} (or {FALLBACK_KEY_ENV})"
    )


class GeminiProposer:
    """Asks a Gemini model for a child program; every failure becomes a recorded error."""

    name = "gemini"

    def __init__(
        self,
        config: GeminiConfig,
        prompt_config: PromptConfig,
        *,
        api_key: str | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        """Build the SDK client (no request is sent yet).

        Raises:
            MissingApiKeyError: when no API key is given or found in the environment.
        """
        self.config = config
        self.prompt_config = prompt_config
        self._sleep = sleep
        options = types.HttpOptions(
            base_url=config.base_url,
            api_version=config.api_version,
            timeout=int(config.timeout_s * 1000),
        )
        self._client = genai.Client(
            api_key=api_key or gemini_api_key(config), vertexai=False, http_options=options
        )

    async def propose(self, request: ProposalRequest) -> Proposal:
        """A child of ``request.parents``; a failed call or parse is in ``Proposal.error``."""
        prompt = build_prompt(request, self.prompt_config)
        return await propose_with_retries(
            lambda: self._generate(prompt, request.seed),
            classify_gemini_error,
            prompt,
            proposer=self.name,
            section=self.config,
            seed=request.seed,
            sleep=self._sleep,
        )

    async def _generate(self, prompt: Prompt, seed: int) -> Reply:
        settings = types.GenerateContentConfig(
            system_instruction=prompt.system,
            temperature=self.config.temperature,
            max_output_tokens=self.config.max_output_tokens,
            seed=seed % (2**31),
        )
        # the SDK enforces timeout_s per request; this bounds a stalled connection too
        response = await asyncio.wait_for(
            self._client.aio.models.generate_content(
                model=self.config.model, contents=prompt.user, config=settings
            ),
            timeout=self.config.timeout_s + 5.0,
        )
        return _reply(response)


def _reply(response: types.GenerateContentResponse) -> Reply:
    candidate = response.candidates[0] if response.candidates else None
    parts = candidate.content.parts if candidate and candidate.content else None
    text = "".join(p.text for p in parts or [] if p.text and not p.thought)
    if candidate is None:
        feedback = response.prompt_feedback
        block = feedback.block_reason if feedback else None
        finish = f"BLOCKED_{_enum_name(block)}" if block else "NO_CANDIDATE"
    else:
        finish = _enum_name(candidate.finish_reason)
    usage = response.usage_metadata
    prompt_tokens = (usage.prompt_token_count or 0) if usage else 0
    output_tokens = (
        (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0) if usage else 0
    )
    return Reply(
        text=text, finish_reason=finish, input_tokens=prompt_tokens, output_tokens=output_tokens
    )


def _enum_name(value: Any) -> str:
    if value is None:
        return ""
    return str(getattr(value, "name", value)).upper()


def classify_gemini_error(exc: BaseException) -> Verdict:
    """Retry rate limits (429), server errors (5xx), timeouts and connection failures."""
    if isinstance(exc, genai_errors.APIError):
        retryable = exc.code == 429 or 500 <= exc.code < 600
        return Verdict(retryable, _retry_after_s(exc) if retryable else None)
    return Verdict(isinstance(exc, TimeoutError | ConnectionError | OSError))


def _retry_after_s(exc: genai_errors.APIError) -> float | None:
    headers = getattr(getattr(exc, "response", None), "headers", None)
    if headers is not None:
        header = parse_retry_after(headers.get("Retry-After"))
        if header is not None:
            return header
    details = exc.details.get("error", exc.details) if isinstance(exc.details, dict) else {}
    for detail in details.get("details", []) if isinstance(details, dict) else []:
        if isinstance(detail, dict) and "retryDelay" in detail:
            return parse_retry_after(str(detail["retryDelay"]))
    return None


def _create(config: EvolutionConfig) -> GeminiProposer:
    return GeminiProposer(config.gemini, config.prompt)


registry.register("gemini", _create)
