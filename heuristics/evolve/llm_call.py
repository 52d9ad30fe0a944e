"""What every LLM proposer shares: bounded retries with backoff, and answer -> Proposal.

The SDKs' own retries are switched off so that one loop, :func:`call_with_retries`,
decides: retry on rate limits (429), server errors (5xx), timeouts and dropped
connections, with exponential backoff, jitter and the server's ``Retry-After`` honoured;
give up after a bounded number of attempts. :func:`proposal_from_reply` turns a model's
reply into a :class:`~heuristics.evolve.proposer.Proposal`, recording why an answer is
unusable (empty text, output cut at the token limit, a failed parse) and what it cost;
:func:`propose_with_retries` is the two together, the whole of a proposer's ``propose``
once its prompt is built.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Protocol

from heuristics.evolve.edits import Edit, parse_answer
from heuristics.evolve.prompt import Prompt
from heuristics.evolve.proposer import Proposal

__all__ = [
    "CallFailedError",
    "ModelSection",
    "Pricing",
    "Reply",
    "RetryPolicy",
    "Verdict",
    "call_with_retries",
    "failed_proposal",
    "parse_retry_after",
    "proposal_from_reply",
    "propose_with_retries",
]


@dataclass(frozen=True)
class Reply:
    """One model answer.

    Attributes:
        text: the answer's text ("" when the model returned none).
        finish_reason: the API's finish reason, normalised to upper case
            (``STOP``, ``MAX_TOKENS``, ``SAFETY``...; OpenAI's ``length`` becomes ``MAX_TOKENS``).
        input_tokens, output_tokens: tokens billed (output includes thinking tokens).
    """

    text: str
    finish_reason: str
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class Pricing:
    """Prices in US dollars per million tokens."""

    input_usd_per_mtok: float
    output_usd_per_mtok: float

    def cost_usd(self, input_tokens: int, output_tokens: int) -> float:
        """The price of a call that used these tokens, in US dollars."""
        return (
            input_tokens * self.input_usd_per_mtok + output_tokens * self.output_usd_per_mtok
        ) / 1e6


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry.

    Attributes:
        retries: attempts after the first.
        backoff_s: delay before the first retry; it doubles on each further retry.
        max_backoff_s: longest single delay, whatever the backoff or ``Retry-After`` say.
    """

    retries: int
    backoff_s: float
    max_backoff_s: float = 60.0

    def delay_s(self, retry: int, retry_after_s: float | None, rng: random.Random) -> float:
        """The wait before retry number ``retry`` (0-based): jittered backoff, at least
        ``retry_after_s`` when the server sent one, at most ``max_backoff_s``."""
        jittered = self.backoff_s * (2**retry) * rng.uniform(0.5, 1.0)
        wanted = max(jittered, retry_after_s or 0.0)
        return min(wanted, self.max_backoff_s)


@dataclass(frozen=True)
class Verdict:
    """How a proposer classifies a failed call: retry it or not, and the server's wait."""

    retryable: bool
    retry_after_s: float | None = None


class CallFailedError(RuntimeError):
    """A model call that failed for good (not retryable, or out of retries)."""

    def __init__(self, attempts: int, cause: BaseException) -> None:
        super().__init__(f"call failed after {attempts} attempt(s): {_describe(cause)}")
        self.attempts = attempts


async def call_with_retries(
    call: Callable[[], Awaitable[Reply]],
    classify: Callable[[BaseException], Verdict],
    policy: RetryPolicy,
    rng: random.Random,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> tuple[Reply, int]:
    """Run ``call`` until it succeeds; returns the reply and the attempts it took.

    Raises:
        CallFailedError: when ``classify`` says an error is not retryable, or after
            ``policy.retries`` retries.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return await call(), attempt
        except Exception as exc:
            verdict = classify(exc)
            if not verdict.retryable or attempt > policy.retries:
                raise CallFailedError(attempt, exc) from exc
            await sleep(policy.delay_s(attempt - 1, verdict.retry_after_s, rng))


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds) or a ``"3s"`` duration."""
    if not value:
        return None
    text = value.strip().removesuffix("s")
    try:
        seconds = float(text)
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff
    return max(seconds, 0.0)


def proposal_from_reply(
    reply: Reply, prompt: Prompt, *, proposer: str, model: str, pricing: Pricing, max_tokens: int
) -> Proposal:
    """The proposal an answer gives: a source, or the reason there is none; never raises."""
    base = Proposal(
        source=None,
        raw_text=reply.text,
        kind=prompt.kind,
        proposer=proposer,
        model=model,
        prompt=prompt.text,
        input_tokens=reply.input_tokens,
        output_tokens=reply.output_tokens,
        cost_usd=pricing.cost_usd(reply.input_tokens, reply.output_tokens),
    )
    truncated = reply.finish_reason == "MAX_TOKENS"
    if not reply.text.strip():
        why = (
            f"max_tokens: empty answer, output cut at the limit of {max_tokens} tokens"
            if truncated
            else f"empty_answer: no text (finish reason {reply.finish_reason or 'unknown'})"
        )
        return replace(base, error=why)
    parsed = parse_answer(reply.text, prompt.base_source, prompt.target_version)
    if isinstance(parsed, Edit):
        return replace(base, source=parsed.source, kind=parsed.kind)
    error = str(parsed)
    if truncated:
        error = f"max_tokens: answer cut at the limit of {max_tokens} tokens; {error}"
    return replace(base, error=error)


def failed_proposal(error: BaseException, prompt: Prompt, *, proposer: str, model: str) -> Proposal:
    """The proposal recorded when no answer came back (nothing billed)."""
    return Proposal(
        source=None,
        raw_text="",
        kind=prompt.kind,
        error=f"api_error: {error}",
        proposer=proposer,
        model=model,
        prompt=prompt.text,
    )


class ModelSection(Protocol):
    """What :func:`propose_with_retries` reads from a proposer's config section
    (:class:`~heuristics.evolve.config.GeminiConfig`, :class:`~heuristics.evolve.config.OpenAIConfig`)."""

    @property
    def model(self) -> str: ...
    @property
    def max_output_tokens(self) -> int: ...
    @property
    def retries(self) -> int: ...
    @property
    def backoff_s(self) -> float: ...
    @property
    def price_input_usd_per_mtok(self) -> float: ...
    @property
    def price_output_usd_per_mtok(self) -> float: ...


async def propose_with_retries(
    call: Callable[[], Awaitable[Reply]],
    classify: Callable[[BaseException], Verdict],
    prompt: Prompt,
    *,
    proposer: str,
    section: ModelSection,
    seed: int,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> Proposal:
    """Ask the model for ``prompt`` with retries; returns the proposal its answer gives,
    or a failed one when no answer came back. Never raises on a failed call or parse."""
    policy = RetryPolicy(retries=section.retries, backoff_s=section.backoff_s)
    try:
        reply, _ = await call_with_retries(call, classify, policy, random.Random(seed), sleep)
    except CallFailedError as exc:
        return failed_proposal(exc, prompt, proposer=proposer, model=section.model)
    return proposal_from_reply(
        reply,
        prompt,
        proposer=proposer,
        model=section.model,
        pricing=Pricing(section.price_input_usd_per_mtok, section.price_output_usd_per_mtok),
        max_tokens=section.max_output_tokens,
    )


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text[:500]}"
