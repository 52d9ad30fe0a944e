"""The offline GP proposer: seeded, safe children that differ from their parents."""

from __future__ import annotations

import asyncio
import random

from heuristics.evolve.config import EvolutionConfig, GPConfig
from heuristics.evolve.gp import SEED_SOURCES, mutate_source
from heuristics.evolve.proposer import Parent, ProposalRequest, create
from heuristics.safety import check_source, compile_heuristic


def _request(seed: int) -> ProposalRequest:
    parents = (Parent(SEED_SOURCES["best-fit"], -4.0), Parent(SEED_SOURCES["tetris"], -9.0))
    return ProposalRequest(parents=parents, island=0, seed=seed)


def test_every_seed_source_passes_the_safety_check() -> None:
    for name, source in SEED_SOURCES.items():
        assert callable(compile_heuristic(source, f"{name}.py"))


def test_the_gp_proposer_is_registered_and_reproducible() -> None:
    proposer = create("gp", EvolutionConfig())
    first = asyncio.run(proposer.propose(_request(7)))
    again = asyncio.run(proposer.propose(_request(7)))
    other = asyncio.run(proposer.propose(_request(8)))
    assert first.proposer == "gp" and first.kind in ("mutation", "crossover")
    assert first.source is not None and first.error is None
    assert first.source == again.source
    assert other.source != first.source


def test_children_are_safe_valid_and_differ_from_their_parent() -> None:
    rng = random.Random(0)
    config = GPConfig()
    children = set()
    for i in range(60):
        child = mutate_source(
            [SEED_SOURCES["best-fit-cpu"], SEED_SOURCES["best-fit"]],
            rng,
            config,
            crossover=i % 3 == 0,
        )
        check_source(child)
        assert child != SEED_SOURCES["best-fit-cpu"]
        children.add(child)
    assert len(children) > 50


def test_every_child_keeps_the_guard_so_it_scores_every_node() -> None:
    child = mutate_source([SEED_SOURCES["first-fit"]], random.Random(3), GPConfig())
    assert "np.nan_to_num(" in child and "np.ones(len(nodes))" in child


def test_a_parent_that_fails_the_safety_check_yields_an_error_not_a_crash() -> None:
    proposer = create("gp", EvolutionConfig())
    bad = ProposalRequest((Parent("import os\ndef score(p, n, c): return 0\n", None),), 0, 1)
    proposal = asyncio.run(proposer.propose(bad))
    assert proposal.source is None
    assert proposal.error is not None and "import os" in proposal.error
