"""The prompt: contract with units, rules, parents as ``score_v0``/``score_v1`` weakest first
with their metrics and failures, and a request for ``score_v2`` as a rewrite or as diffs.

The two golden files pin the exact text; regenerate them after a deliberate change with
``BINFORGE_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_prompt.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from heuristics.evolve.config import PromptConfig
from heuristics.evolve.edits import Edit, parse_answer
from heuristics.evolve.prompt import build_prompt
from heuristics.evolve.proposer import Parent, ProposalRequest

GOLDEN = Path(__file__).parent / "golden"

BEST = Parent(
    source="import numpy as np\n\n\ndef score(pod, nodes, ctx):\n"
    '    """Best fit on GPU share."""\n'
    "    left = nodes.gpu_free - pod.gpu_milli_total\n    return -left.astype(float)\n",
    score=91.25,
    metrics={"train.gpu_alloc_at_130": 91.25, "screen.gpu_alloc_at_130": 90.5},
)
WEAKER = Parent(
    source="def score(pod, nodes, ctx):\n    return nodes.cpu_free * 0.0\n",
    score=84.0,
    metrics={"train.gpu_alloc_at_130": 84.0},
    errors=("screen seed 3: HeuristicError: scores: expected finite numbers, got NaN",),
)


def _request(seed: int) -> ProposalRequest:
    return ProposalRequest(parents=(BEST, WEAKER), island=1, seed=seed)


def _check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("BINFORGE_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_a_rewrite_prompt_matches_its_golden_file() -> None:
    prompt = build_prompt(_request(0), PromptConfig(parents=2, diff_share=0.0))
    assert prompt.kind == "rewrite"
    _check_golden("prompt_rewrite.txt", prompt.text)


def test_a_diff_prompt_matches_its_golden_file() -> None:
    prompt = build_prompt(_request(0), PromptConfig(parents=2, diff_share=1.0))
    assert prompt.kind == "diff"
    _check_golden("prompt_diff.txt", prompt.text)


def test_parents_are_shown_weakest_first_and_the_next_version_is_asked_for() -> None:
    prompt = build_prompt(_request(0), PromptConfig(parents=2, diff_share=0.0))
    assert prompt.user.index("def score_v0(") < prompt.user.index("def score_v1(")
    assert prompt.user.index("fitness 84") < prompt.user.index("fitness 91.25")
    assert prompt.target_version == 2
    assert "score_v2" in prompt.user
    assert "NaN" in prompt.user
    assert "train.gpu_alloc_at_130: 91.25" in prompt.user


def test_the_contract_names_every_input_with_its_unit() -> None:
    prompt = build_prompt(_request(0), PromptConfig())
    for name in ("pod.cpu_milli", "pod.memory_mib", "pod.gpu_milli", "nodes.gpu_free_milli",
                 "nodes.memory_free", "ctx.shape_probability", "millicores", "MiB"):  # fmt: skip
        assert name in prompt.system
    assert "import numpy as np" in prompt.system


def test_three_parents_ask_for_version_three() -> None:
    third = Parent(source="def score(pod, nodes, ctx):\n    return -nodes.pods * 1.0\n", score=1.0)
    request = ProposalRequest(parents=(BEST, WEAKER, third), island=0, seed=5)
    prompt = build_prompt(request, PromptConfig(parents=3, diff_share=0.0))
    assert prompt.target_version == 3
    assert "def score_v2(" in prompt.user
    assert "Write score_v3" in prompt.user


def test_the_diff_base_is_the_best_parent_as_shown_so_its_diffs_apply() -> None:
    prompt = build_prompt(_request(0), PromptConfig(parents=2, diff_share=1.0))
    assert prompt.base_source.startswith("import numpy as np")
    assert "def score_v1(pod, nodes, ctx):" in prompt.base_source
    answer = "<<<<<<< SEARCH\ndef score_v1(pod, nodes, ctx):\n=======\ndef score_v2(pod, nodes, ctx):\n>>>>>>> REPLACE"
    assert isinstance(parse_answer(answer, prompt.base_source, prompt.target_version), Edit)


def test_the_kind_is_chosen_by_seed_in_the_configured_share() -> None:
    config = PromptConfig(parents=2, diff_share=0.5)
    kinds = [build_prompt(_request(seed), config).kind for seed in range(200)]
    assert kinds == [build_prompt(_request(seed), config).kind for seed in range(200)]
    assert 60 < kinds.count("diff") < 140


def test_a_request_without_parents_is_refused() -> None:
    with pytest.raises(ValueError, match="no parents"):
        build_prompt(ProposalRequest(parents=(), island=0, seed=0), PromptConfig())


def test_long_metric_lists_are_cut_to_keep_the_prompt_short() -> None:
    many = Parent(
        source=BEST.source, score=1.0, metrics={f"train.s{i:02d}.m": float(i) for i in range(40)}
    )
    prompt = build_prompt(ProposalRequest((many,), island=0, seed=0), PromptConfig(parents=1))
    assert "train.s15.m" in prompt.user and "train.s16.m" not in prompt.user
    assert "... and 24 more" in prompt.user
