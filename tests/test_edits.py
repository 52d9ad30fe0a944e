"""Parsing model answers: rewrites and SEARCH/REPLACE diffs become a safe ``score`` module,
and every answer that cannot becomes a recorded reason instead of an exception."""

from __future__ import annotations

import numpy as np
import pytest

from heuristics.evolve.edits import FAILURE_REASONS, Edit, EditFailure, parse_answer
from heuristics.safety import compile_heuristic

PARENT_V1 = '''import numpy as np


def score_v1(pod, nodes, ctx):
    """Best fit on GPU share."""
    left = nodes.gpu_free - pod.gpu_milli_total
    return -left.astype(float)
'''


def _edit(answer: str) -> Edit:
    result = parse_answer(answer, PARENT_V1, target_version=2)
    assert isinstance(result, Edit), result
    return result


def _failure(answer: str) -> EditFailure:
    result = parse_answer(answer, PARENT_V1, target_version=2)
    assert isinstance(result, EditFailure), result
    assert result.reason in FAILURE_REASONS
    return result


def test_a_fenced_rewrite_is_renamed_to_score_and_compiles() -> None:
    answer = (
        "Here is a better one.\n```python\nimport numpy as np\n\n\n"
        "def score_v2(pod, nodes, ctx):\n    return nodes.cpu_free * -1.0\n```\nEnjoy."
    )
    edit = _edit(answer)
    assert edit.kind == "rewrite"
    assert "def score(pod, nodes, ctx):" in edit.source
    assert "score_v2" not in edit.source
    assert callable(compile_heuristic(edit.source))


def test_the_block_defining_the_requested_version_is_chosen_among_several() -> None:
    answer = (
        "```python\ndef helper(x):\n    return x\n```\n"
        "```python\nimport numpy as np\n\ndef score_v2(pod, nodes, ctx):\n    return np.zeros(len(nodes))\n```\n"
        "```bash\necho not python\n```\n"
    )
    assert "np.zeros(len(nodes))" in _edit(answer).source


def test_copies_of_older_versions_in_the_answer_are_dropped() -> None:
    answer = (
        "```python\nimport numpy as np\n\ndef score_v1(pod, nodes, ctx):\n    return -nodes.gpu_free\n\n\n"
        "def score_v2(pod, nodes, ctx):\n    return -nodes.cpu_free * 1.0\n```"
    )
    source = _edit(answer).source
    assert source.count("def ") == 1
    assert "def score(pod, nodes, ctx):" in source


def test_bare_code_without_fences_is_accepted_up_to_the_trailing_prose() -> None:
    answer = (
        "Sure.\nimport numpy as np\n\ndef score_v2(pod, nodes, ctx):\n"
        "    return nodes.memory_free * -1.0\nThis prefers fuller nodes."
    )
    source = _edit(answer).source
    assert source.rstrip().endswith("return nodes.memory_free * -1.0")


def test_an_exact_diff_edits_the_parent_and_renames_it() -> None:
    answer = (
        "<<<<<<< SEARCH\ndef score_v1(pod, nodes, ctx):\n=======\ndef score_v2(pod, nodes, ctx):\n>>>>>>> REPLACE\n"
        "<<<<<<< SEARCH\n    return -left.astype(float)\n=======\n"
        "    return -left.astype(float) - 0.001 * nodes.cpu_free\n>>>>>>> REPLACE\n"
    )
    edit = _edit(answer)
    assert edit.kind == "diff"
    assert "return -left.astype(float) - 0.001 * nodes.cpu_free" in edit.source
    assert '"""Best fit on GPU share."""' in edit.source
    assert "def score(pod, nodes, ctx):" in edit.source


def test_a_diff_with_wrong_indentation_is_applied_whitespace_tolerantly() -> None:
    answer = (
        "```\n<<<<<<< SEARCH\nleft = nodes.gpu_free - pod.gpu_milli_total   \n"
        "return -left.astype(float)\n=======\nleft = nodes.gpu_free - pod.gpu_milli_total\n"
        "if len(nodes) > 1:\n    left = left + 0.5\nreturn -left.astype(float)\n>>>>>>> REPLACE\n```"
    )
    source = _edit(answer).source
    assert "    if len(nodes) > 1:\n        left = left + 0.5\n" in source
    heuristic = compile_heuristic(source)
    assert heuristic is not None


def test_a_diff_keeping_the_old_name_still_yields_score() -> None:
    answer = "<<<<<<< SEARCH\n    return -left.astype(float)\n=======\n    return -left * 2.0\n>>>>>>> REPLACE"
    assert "def score(pod, nodes, ctx):" in _edit(answer).source


def test_search_text_absent_from_the_parent_is_reported_as_not_found() -> None:
    answer = (
        "<<<<<<< SEARCH\n    return nodes.pods\n=======\n    return -nodes.pods\n>>>>>>> REPLACE"
    )
    failure = _failure(answer)
    assert failure.reason == "search_not_found"
    assert "diff block 1" in failure.detail


def test_search_text_matching_twice_is_reported_as_ambiguous() -> None:
    parent = "def score_v1(pod, nodes, ctx):\n    x = 1.0\n    x = 1.0\n    return nodes.pods * x\n"
    answer = "<<<<<<< SEARCH\n    x = 1.0\n=======\n    x = 2.0\n>>>>>>> REPLACE"
    failure = parse_answer(answer, parent, target_version=2)
    assert isinstance(failure, EditFailure)
    assert failure.reason == "ambiguous_search"


def test_prose_without_code_is_reported_as_no_code() -> None:
    failure = _failure("I would prefer nodes with fewer idle GPUs, weighted by model.")
    assert failure.reason == "no_code"


def test_an_unterminated_diff_is_reported_as_no_code() -> None:
    assert _failure("<<<<<<< SEARCH\n    return x\n=======\n    return y\n").reason == "no_code"


def test_broken_code_is_reported_as_a_syntax_error_with_its_line() -> None:
    answer = "```python\ndef score_v2(pod, nodes, ctx):\n    return (nodes.cpu_free\n```"
    failure = _failure(answer)
    assert failure.reason == "syntax_error"
    assert "line" in failure.detail


def test_code_importing_os_is_reported_as_unsafe() -> None:
    answer = (
        "```python\nimport os\n\ndef score_v2(pod, nodes, ctx):\n    return nodes.pods * 1.0\n```"
    )
    failure = _failure(answer)
    assert failure.reason == "unsafe_code"
    assert "import os" in failure.detail


def test_a_block_without_the_entry_point_is_reported_as_missing_function() -> None:
    answer = "```python\ndef helper(pod, nodes, ctx):\n    return nodes.pods * 1.0\n```"
    assert _failure(answer).reason == "missing_function"


@pytest.mark.parametrize("target", [2, 3])
def test_the_parsed_heuristic_scores_real_arrays(target: int) -> None:
    answer = (
        f"```python\nimport numpy as np\n\ndef score_v{target}(pod, nodes, ctx):\n"
        "    return -np.asarray(nodes.cpu_free, dtype=float)\n```"
    )
    edit = parse_answer(answer, PARENT_V1, target_version=target)
    assert isinstance(edit, Edit)

    class Nodes:
        cpu_free = np.array([3, 1, 2])

    scores = compile_heuristic(edit.source)(None, Nodes(), None)  # type: ignore[arg-type]
    assert int(np.argmax(scores)) == 1


def test_windows_line_endings_in_an_answer_are_tolerated() -> None:
    answer = "<<<<<<< SEARCH\r\n    return -left.astype(float)\r\n=======\r\n    return -left * 3.0\r\n>>>>>>> REPLACE\r\n"
    assert "return -left * 3.0" in _edit(answer).source
