"""Hostile candidates: each one ends as a recorded failure, and the sandbox carries on.

Every case runs a candidate through :meth:`heuristics.sandbox.Sandbox.run` on the
worker's built-in probe cluster, checks the failure and its reason, then checks that a
well-behaved candidate still runs on the same sandbox afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from heuristics.sandbox import Sandbox, SandboxLimits

GOOD = "import numpy as np\ndef score(pod, nodes, ctx):\n    return -nodes.cpu_free.astype(float)\n"

HOSTILE: dict[str, tuple[str, str]] = {
    "infinite loop": ("def score(pod, nodes, ctx):\n    while True:\n        pass\n", "timeout"),
    "memory bomb (numpy)": (
        "import numpy as np\ndef score(pod, nodes, ctx):\n    return np.ones((200000, 200000))\n",
        "MemoryError",
    ),
    "memory bomb (list)": (
        "def score(pod, nodes, ctx):\n    x = [0] * (10 ** 11)\n    return x\n",
        "MemoryError",
    ),
    "fork bomb": (
        "import os\ndef score(pod, nodes, ctx):\n    while True:\n        os.fork()\n",
        "UnsafeCodeError",
    ),
    "import os": ("import os\ndef score(pod, nodes, ctx):\n    return os.getpid()\n", "import os"),
    "file write": (
        "def score(pod, nodes, ctx):\n    open('/tmp/pwned', 'w').write('x')\n    return 0\n",
        "'open'",
    ),
    "socket": (
        "import socket\ndef score(pod, nodes, ctx):\n    socket.create_connection(('1.1.1.1', 80))\n",
        "import socket",
    ),
    "escape through dunders": (
        "def score(pod, nodes, ctx):\n    return ().__class__.__bases__[0].__subclasses__()\n",
        "underscore",
    ),
    "escape through a generator frame": (
        "def score(pod, nodes, ctx):\n    g = (x for x in [1])\n"
        "    return g.gi_frame.f_back.f_globals\n",
        "is not allowed",
    ),
    "exception storm": (
        "def score(pod, nodes, ctx):\n    raise ValueError('boom ' * 10)\n",
        "ValueError: boom",
    ),
    "gigantic output": (
        "import numpy as np\ndef score(pod, nodes, ctx):\n    raise ValueError('x' * 10 ** 7)\n",
        "ValueError",
    ),
    "gigantic array": (
        "import numpy as np\ndef score(pod, nodes, ctx):\n    return np.zeros(10 ** 7)\n",
        "expected shape",
    ),
    "wrong return shape": (
        "import numpy as np\ndef score(pod, nodes, ctx):\n    return np.zeros((len(nodes), 2))\n",
        "expected shape",
    ),
    "NaN scores": (
        "import numpy as np\ndef score(pod, nodes, ctx):\n    return np.full(len(nodes), np.nan)\n",
        "finite",
    ),
    "wrong return type": ("def score(pod, nodes, ctx):\n    return 'best'\n", "expected"),
    "infinite recursion": (
        "def score(pod, nodes, ctx):\n    return score(pod, nodes, ctx)\n",
        "RecursionError",
    ),
    "no entry point": ("def place(pod, nodes, ctx):\n    return 0\n", "no function score"),
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(workers=1, limits=SandboxLimits(cpu_s=20, memory_mib=2048)) as box:
        yield box


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_candidate_ends_as_a_recorded_failure(sandbox: Sandbox, case: str) -> None:
    source, reason = HOSTILE[case]
    result = sandbox.run(source, {"kind": "probe"}, timeout_s=2.0)
    assert not result.ok
    assert result.value is None
    assert result.error is not None and reason in result.error
    assert len(result.error) <= 2100  # a gigantic message is cut, never shipped whole
    after = sandbox.run(GOOD, {"kind": "probe"}, timeout_s=10.0)
    assert after.ok, after.error
    assert after.value is not None and len(after.value["placements"]) == 20


@pytest.mark.slow
def test_a_cpu_hog_is_stopped_by_the_cpu_limit_before_the_wall_clock() -> None:
    with Sandbox(workers=1, limits=SandboxLimits(cpu_s=1)) as box:
        result = box.run(HOSTILE["infinite loop"][0], {"kind": "probe"}, timeout_s=30.0)
        assert not result.ok
        assert result.error is not None and "SIGXCPU" in result.error
        assert result.wall_s < 10
        assert box.run(GOOD, {"kind": "probe"}, timeout_s=10.0).ok


def test_the_hostile_suite_covers_every_case_of_the_issue() -> None:
    required = {"infinite loop", "fork bomb", "import os", "file write", "socket",
                "exception storm", "gigantic output", "wrong return shape", "NaN scores"}  # fmt: skip
    assert required <= set(HOSTILE)
    assert any(name.startswith("memory bomb") for name in HOSTILE)
    assert len(HOSTILE) == 17
