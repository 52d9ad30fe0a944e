"""The offline GP proposer: seeded, safe children that differ from their parents."""

from __future__ import annotations

import ast
import asyncio
import random

import pytest

from cluster_traces.scenarios import load_scenario
from heuristics.contract import HeuristicError
from heuristics.evolve.config import EvolutionConfig, GPConfig
from heuristics.evolve.gp import GATES, mutate_source
from heuristics.evolve.proposer import Parent, ProposalRequest, create
from heuristics.evolve.seeds import SEED_SOURCES
from heuristics.safety import check_source, compile_heuristic
from simulator import simulate


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


def _functions(source: str) -> dict[str, ast.FunctionDef]:
    return {s.name: s for s in ast.parse(source).body if isinstance(s, ast.FunctionDef)}


def test_a_blend_keeps_the_donor_whole_and_adds_it_to_the_parents_score() -> None:
    config = GPConfig(blend_rate=1.0, max_nodes=900)
    donor = _functions(SEED_SOURCES["kube-default"])["score"]
    scenario = load_scenario("synthetic")
    for seed in range(6):
        child = mutate_source(
            [SEED_SOURCES["fgd"], SEED_SOURCES["kube-default"]],
            random.Random(seed),
            config,
            crossover=True,
        )
        functions = _functions(child)
        assert set(functions) == {"blend_1", "score"}
        assert [ast.dump(s) for s in functions["blend_1"].body] == [ast.dump(s) for s in donor.body]
        assert "blend_1(pod, nodes, ctx)" in ast.unparse(functions["score"])
        result = simulate(scenario, compile_heuristic(child), seed=0)
        assert len(result.placements) > 100
    again = mutate_source(
        [child, SEED_SOURCES["worst-fit"]], random.Random(9), config, crossover=True
    )
    assert set(_functions(again)) == {"blend_1", "blend_2", "score"}


def test_without_a_blend_rate_crossovers_only_graft_expressions() -> None:
    for seed in range(20):
        child = mutate_source(
            [SEED_SOURCES["tetris"], SEED_SOURCES["kube-default"]],
            random.Random(seed),
            GPConfig(),
            crossover=True,
        )
        assert set(_functions(child)) == {"score"}


def _axes(source: str) -> set[object]:
    return {
        k.value.value
        for k in ast.walk(ast.parse(source))
        if isinstance(k, ast.keyword) and k.arg == "axis" and isinstance(k.value, ast.Constant)
    }


def test_keep_structure_leaves_array_shaping_constants_alone() -> None:
    config = GPConfig(max_nodes=900, keep_structure=True)
    children = [mutate_source([SEED_SOURCES["fgd"]], random.Random(i), config) for i in range(40)]
    assert all(_axes(child) == {1} for child in children)
    loose = [mutate_source([SEED_SOURCES["fgd"]], random.Random(i), GPConfig(max_nodes=900))
             for i in range(40)]  # fmt: skip
    assert any(_axes(child) != {1} for child in loose)  # without it, some break the shapes


def _whole_score_features(config: GPConfig) -> int:
    """Children of tetris whose returned score is the parent's plus or minus a feature."""
    count = 0
    for i in range(60):
        child = mutate_source([SEED_SOURCES["tetris"]], random.Random(i), config)
        returned = next(n for n in ast.walk(ast.parse(child)) if isinstance(n, ast.Return))
        assert isinstance(returned.value, ast.Call)  # the guard
        inner = returned.value.args[0]
        assert isinstance(inner, ast.BinOp)
        left = inner.left
        count += isinstance(left, ast.BinOp) and ast.unparse(left.left) == "cpu + mem + gpu"
    return count


def test_score_feature_share_puts_feature_insertions_on_the_whole_score() -> None:
    assert _whole_score_features(GPConfig(score_feature_share=1.0)) > 2 * _whole_score_features(
        GPConfig()
    )


def _gated(children: list[str]) -> int:
    return sum(any(gate in child for gate in GATES) for child in children)


def test_gate_share_multiplies_inserted_features_by_a_cluster_or_pod_condition() -> None:
    def children(config: GPConfig) -> list[str]:
        return [
            mutate_source([SEED_SOURCES["tetris"]], random.Random(i), config) for i in range(60)
        ]

    plain = children(GPConfig())
    assert _gated(plain) == 0
    assert children(GPConfig(gate_share=0.0)) == plain  # off: the same draws as before
    gated = [c for c in children(GPConfig(gate_share=1.0)) if _gated([c])]
    assert len(gated) >= 10
    scenario = load_scenario("synthetic")  # GPU nodes and pods: every gate is evaluated
    for child in gated[:5]:
        assert len(simulate(scenario, compile_heuristic(child), seed=0).placements) > 100


def _shape_failures(config: GPConfig, crossover: bool) -> int:
    """Children of FGD (grafted from kube-default in a crossover) that raise a numpy shape
    error on the synthetic GPU cluster."""
    scenario = load_scenario("synthetic")
    parents = [SEED_SOURCES["fgd"], SEED_SOURCES["kube-default"]]
    failures = 0
    for seed in range(40):
        child = mutate_source(parents, random.Random(seed), config, crossover=crossover)
        try:
            simulate(scenario, compile_heuristic(child), seed=0)
        except HeuristicError as exc:
            failures += any(word in str(exc) for word in ("broadcast", "axis", "indices"))
    return failures


@pytest.mark.filterwarnings("ignore::SyntaxWarning")  # loose children subscript a number
def test_shape_safe_operators_do_not_break_the_shapes_of_fgds_per_gpu_arrays() -> None:
    loose = GPConfig(max_nodes=900, keep_structure=True, blend_rate=0.0)
    safe = GPConfig(max_nodes=900, keep_structure=True, blend_rate=0.0, shape_safe=True)
    for crossover in (False, True):
        assert _shape_failures(loose, crossover) >= 3  # without it, some children break
        assert _shape_failures(safe, crossover) == 0
