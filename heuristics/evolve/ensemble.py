"""The ``ensemble`` proposer: asks one of several proposers per request, by weight.

AlphaEvolve mixes a fast model (most proposals) with a strong one (fewer, better ones).
The member is drawn from the request's seed, so the same requests go to the same members.
Each member is built from its own section of the configuration (``gemini``, ``openai``,
``gp``) with an optional model override, and its proposals keep its own name and model.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

from heuristics.evolve import proposer as registry
from heuristics.evolve.config import EnsembleMember, EvolutionConfig
from heuristics.evolve.proposer import Proposal, ProposalRequest, Proposer

__all__ = ["EnsembleProposer", "member_config"]

# keeps member draws independent of other uses of the request seed (prompt kind, jitter)
_SEED_SALT = 0x5EED_E45E


class EnsembleProposer:
    """Delegates each request to one member, drawn with probability proportional to weight."""

    name = "ensemble"

    def __init__(self, members: Sequence[tuple[float, Proposer]]) -> None:
        """Raises:
        ValueError: without members, or with a weight that is not positive.
        """
        if not members:
            raise ValueError("ensemble: expected at least one member")
        for index, (weight, _) in enumerate(members):
            if not weight > 0:
                raise ValueError(f"ensemble[{index}].weight: expected > 0, got {weight}")
        self.weights = [float(w) for w, _ in members]
        self.members = [p for _, p in members]

    def pick(self, seed: int) -> Proposer:
        """The member that answers a request with this seed."""
        rng = random.Random(seed ^ _SEED_SALT)
        return rng.choices(self.members, weights=self.weights, k=1)[0]

    async def propose(self, request: ProposalRequest) -> Proposal:
        """The chosen member's proposal, unchanged."""
        return await self.pick(request.seed).propose(request)


def member_config(config: EvolutionConfig, member: EnsembleMember) -> EvolutionConfig:
    """``config`` with the member's model override applied to the member's own section."""
    if member.model is None:
        return config
    if member.proposer == "gemini":
        return replace(config, gemini=replace(config.gemini, model=member.model))
    if member.proposer == "openai":
        return replace(config, openai=replace(config.openai, model=member.model))
    return config


def _create(config: EvolutionConfig) -> EnsembleProposer:
    members = []
    for index, member in enumerate(config.ensemble):
        if member.proposer == "ensemble":
            raise ValueError(f"ensemble[{index}].proposer: an ensemble cannot contain itself")
        members.append(
            (member.weight, registry.create(member.proposer, member_config(config, member)))
        )
    return EnsembleProposer(members)


registry.register("ensemble", _create)
