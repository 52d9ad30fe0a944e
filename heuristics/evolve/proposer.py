"""The proposer interface: what the engine asks for and what a proposer returns.

A proposer turns a :class:`ProposalRequest` (two or three parent programs with their
scores, metrics and failures) into a :class:`Proposal` (a new heuristic source, or the
reason there is none). Proposers never raise for a bad answer from a model: they return a
``Proposal`` whose ``source`` is None and whose ``error`` says why, so the engine can
record it.

Every proposer is registered here by name with a factory taking the whole
:class:`~heuristics.evolve.config.EvolutionConfig`; :func:`create` builds one by name.
The built-in proposers (``gp``, ``gemini``, ``openai``, ``ensemble``) live in their own
modules and register themselves on import; :func:`create` imports them on demand.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from heuristics.evolve.config import EvolutionConfig

__all__ = [
    "Parent",
    "Proposal",
    "ProposalKind",
    "ProposalRequest",
    "Proposer",
    "ProposerFactory",
    "create",
    "names",
    "register",
]

ProposalKind = Literal["rewrite", "diff", "mutation", "crossover"]


@dataclass(frozen=True)
class Parent:
    """A program shown to a proposer.

    Attributes:
        source: the program's full source (defines ``score(pod, nodes, ctx)``).
        score: its fitness (higher is better), None when it was never scored.
        metrics: simulator metrics by name (for example ``train.gpu_alloc_at_130``).
        errors: what went wrong when it was evaluated (empty when nothing did).
    """

    source: str
    score: float | None
    metrics: Mapping[str, float] = field(default_factory=dict)
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProposalRequest:
    """One request for a new program.

    Attributes:
        parents: the programs to improve on, best first.
        island: the island the child will live on.
        seed: seed for every random choice the proposer makes for this request.
    """

    parents: tuple[Parent, ...]
    island: int
    seed: int


@dataclass(frozen=True)
class Proposal:
    """A proposer's answer.

    Attributes:
        source: the new program's full source, None when there is none.
        raw_text: what the model (or the GP proposer) produced, before parsing.
        kind: ``rewrite`` or ``diff`` (LLM answers), ``mutation`` or ``crossover`` (GP).
        error: why there is no usable source (a failed call, a failed parse), else None.
        proposer: the proposer's registered name.
        model: the model that answered ("" for proposers without one).
        prompt: the prompt sent ("" for proposers without one).
        input_tokens, output_tokens: tokens billed for this proposal.
        cost_usd: what this proposal cost, in US dollars.
    """

    source: str | None
    raw_text: str
    kind: ProposalKind
    error: str | None = None
    proposer: str = ""
    model: str = ""
    prompt: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


class Proposer(Protocol):
    """Anything that proposes programs: it has a ``name`` and an async ``propose``."""

    name: str

    async def propose(self, request: ProposalRequest) -> Proposal:
        """A new program derived from ``request.parents``; never raises for bad answers."""
        ...


ProposerFactory = Callable[["EvolutionConfig"], Proposer]

_FACTORIES: dict[str, ProposerFactory] = {}

_BUILTIN_MODULES = {
    "gp": "heuristics.evolve.gp",
    "gemini": "heuristics.evolve.gemini",
    "openai": "heuristics.evolve.openai_chat",
    "ensemble": "heuristics.evolve.ensemble",
}


def register(name: str, factory: ProposerFactory) -> None:
    """Register ``factory`` under ``name`` (a later registration replaces an earlier one)."""
    _FACTORIES[name] = factory


def names() -> tuple[str, ...]:
    """Every proposer name that :func:`create` accepts, sorted."""
    return tuple(sorted(set(_FACTORIES) | set(_BUILTIN_MODULES)))


def create(name: str, config: EvolutionConfig) -> Proposer:
    """Build the proposer registered as ``name`` from ``config``.

    Raises:
        KeyError: for an unknown name (the message lists the known ones).
    """
    if name not in _FACTORIES and name in _BUILTIN_MODULES:
        importlib.import_module(_BUILTIN_MODULES[name])
    factory = _FACTORIES.get(name)
    if factory is None:
        raise KeyError(f"unknown proposer {name!r}; known: {', '.join(names())}")
    return factory(config)
