"""The safety check: an allow-list of syntax and names, enforced before any candidate runs."""

from __future__ import annotations

import numpy as np
import pytest

from cluster_traces.model import Cluster
from heuristics.contract import Context, NodeState, NodeView, Pod, choose
from heuristics.feasibility import view
from heuristics.safety import (
    MAX_AST_NODES,
    MAX_SOURCE_BYTES,
    UnsafeCodeError,
    check_source,
    compile_heuristic,
)

BEST_FIT = '''"""Best fit on CPU."""
import numpy as np
import math

SCALE = 2.0


def residual(pod, nodes):
    return nodes.cpu_free - pod.cpu_milli


def score(pod, nodes, ctx):
    return -residual(pod, nodes) * SCALE + math.sqrt(4.0) + np.zeros(len(nodes))
'''


def _nodes() -> tuple[Pod, NodeView, Context]:
    cluster = Cluster(
        names=np.array(["a", "b", "c"]),
        cpu_milli=np.array([8000, 4000, 16000]),
        memory_mib=np.array([8192, 8192, 8192]),
        gpu_count=np.array([0, 0, 0]),
        gpu_model=np.array(["", "", ""]),
    )
    one = np.array([1])
    ctx = Context(one, one, one, one, shape_probability=np.array([1.0]))
    pod = Pod(cpu_milli=3000, memory_mib=1024)
    return pod, view(NodeState(cluster), pod), ctx


def test_a_safe_heuristic_compiles_and_scores_like_plain_python() -> None:
    score = compile_heuristic(BEST_FIT, "best_fit.py")
    pod, nodes, ctx = _nodes()
    assert choose(score(pod, nodes, ctx), nodes) == 1  # the 4-core node leaves least behind


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("import os\ndef score(p, n, c): return 0", "import os"),
        ("import numpy\ndef score(p, n, c): return 0", "import numpy"),
        ("from math import sqrt\ndef score(p, n, c): return 0", "ImportFrom"),
        ("def score(p, n, c):\n    import subprocess\n    return 0", "import subprocess"),
        ("def score(p, n, c): return p.__class__", "'__class__'"),
        ("def score(p, n, c): return n._state", "'_state'"),
        ("def score(p, n, c): return __builtins__", "'__builtins__'"),
        ("def score(p, n, c): return open('x').read()", "'open'"),
        ("def score(p, n, c): return eval('1')", "'eval'"),
        ("def score(p, n, c): return exec('1')", "'exec'"),
        ("def score(p, n, c): return getattr(p, 'cpu_milli')", "'getattr'"),
        ("def score(p, n, c): return globals()", "'globals'"),
        ("def score(p, n, c): return vars(p)", "'vars'"),
        ("def score(p, n, c): return compile('1', 'x', 'eval')", "'compile'"),
        ("def score(p, n, c): return breakpoint()", "'breakpoint'"),
        ("import numpy as np\ndef score(p, n, c): return np.load('x.npy')", "'load'"),
        ("import numpy as np\ndef score(p, n, c): return n.cpu_free.ctypes", "'ctypes'"),
        ("def score(p, n, c): return '{0.__class__}'.format(p)", "'format'"),
        ("def score(p, n, c): return (x for x in [1]).gi_frame", "'gi_frame'"),
        (
            "def score(p, n, c):\n    try:\n        1 / 0\n    except ZeroDivisionError as e:\n"
            "        return e.with_traceback(None)",
            "'with_traceback'",
        ),
        ("class A: pass\ndef score(p, n, c): return 0", "ClassDef"),
        ("def score(p, n, c):\n    global x\n    return 0", "Global"),
        ("def score(p, n, c):\n    with p: return 0", "With"),
        ("def score(p, n, c):\n    yield 0", "Yield"),
        ("async def score(p, n, c): return 0", "AsyncFunctionDef"),
        ("x = [].append(1)\ndef score(p, n, c): return 0", "top level"),
        ("print('hi')\ndef score(p, n, c): return 0", "top level"),
        ("def other(p, n, c): return 0", "no function score"),
        ("def score(p, n): return 0", "must accept"),
        ("def score(p, n, c) return 0", "syntax error"),
        ("def score(p, n, c): return b'x'", "bytes"),
    ],
)
def test_unsafe_or_malformed_sources_are_rejected_with_the_reason(source: str, reason: str) -> None:
    with pytest.raises(UnsafeCodeError) as caught:
        compile_heuristic(source, "candidate.py")
    assert reason in str(caught.value)
    assert str(caught.value).startswith("candidate.py:")


def test_the_error_names_the_offending_line() -> None:
    source = "import numpy as np\n\ndef score(p, n, c):\n    x = 1\n    return open('f')\n"
    with pytest.raises(UnsafeCodeError) as caught:
        check_source(source, "w.py")
    assert caught.value.line == 5
    assert str(caught.value).startswith("w.py:5:")


def test_sources_over_the_size_limits_are_rejected() -> None:
    padding = "# " + "x" * MAX_SOURCE_BYTES + "\n"
    with pytest.raises(UnsafeCodeError, match="bytes"):
        check_source(padding + "def score(p, n, c): return 0\n")
    terms = ", ".join(["1"] * MAX_AST_NODES)
    with pytest.raises(UnsafeCodeError, match="syntax nodes"):
        check_source(f"def score(p, n, c): return [{terms}]\n")
    nested = "(" * 5000 + "1" + ")" * 5000
    with pytest.raises(UnsafeCodeError):
        check_source(f"def score(p, n, c): return {nested}\n")


def test_compiled_code_sees_only_restricted_builtins() -> None:
    # 'type' is not in the allow-list of names, and nothing else reaches the real builtins
    score = compile_heuristic("def score(p, n, c):\n    return len(n) * 0.0\n")
    assert "open" not in score.__globals__["__builtins__"]
    assert "__import__" in score.__globals__["__builtins__"]
    pod, nodes, ctx = _nodes()
    assert score(pod, nodes, ctx) == 0.0


def test_the_restricted_import_hands_out_numpy_and_math_only() -> None:
    score = compile_heuristic("import numpy as np\nimport math\ndef score(p, n, c): return 0\n")
    importer = score.__globals__["__builtins__"]["__import__"]
    assert importer("math") is __import__("math")
    with pytest.raises(ImportError):
        importer("os")
