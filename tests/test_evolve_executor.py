"""Executors: the same sandbox tasks run locally or on a (local) Ray instance."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import tempfile
from pathlib import Path

import pytest
from conftest import require

from heuristics.evolve.config import ExecutorConfig
from heuristics.evolve.executor import Executor, LocalExecutor, make_executor
from heuristics.sandbox import SandboxLimits, SandboxResult

BEST_FIT = "def score(pod, nodes, ctx):\n    return -(nodes.cpu_free - pod.cpu_milli) * 1.0\n"
TASK = {"kind": "simulate", "scenarios": [{"name": "weibull:100", "seeds": [0], "label": "w"}]}
LIMITS = SandboxLimits(preload=({"name": "weibull:100", "label": "w"},))


def _four_runs(executor: Executor, scratch: list[int] | None = None) -> list[SandboxResult]:
    """Four runs at once; ``scratch`` gets the count of sandbox scratch directories in
    ``$TMPDIR`` just before the executor closes."""

    async def main() -> list[SandboxResult]:
        return list(await asyncio.gather(*(executor.run(BEST_FIT, TASK, 120) for _ in range(4))))

    try:
        return asyncio.run(main())
    finally:
        if scratch is not None:
            scratch.append(len(list(Path(os.environ["TMPDIR"]).glob("binforge-sandbox-*"))))
        executor.close()


def test_the_local_executor_runs_tasks_concurrently_in_sandboxes() -> None:
    executor = make_executor(ExecutorConfig(kind="local", workers=2), LIMITS)
    assert isinstance(executor, LocalExecutor)
    results = _four_runs(executor)
    assert all(r.ok for r in results), [r.error for r in results]
    excess = {r.value["metrics"]["w"]["excess_percent"] for r in results if r.value}
    assert len(excess) == 1  # the same candidate on the same scenario: the same answer


@pytest.mark.slow
def test_the_ray_executor_gives_the_same_answers_on_a_local_ray_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """...and closing it removes its actors' sandbox scratch directories, as the local
    executor's close does."""
    require(importlib.util.find_spec("ray") is not None, "ray is not installed (binforge[ray])")
    monkeypatch.setenv("RAY_TMPDIR", tempfile.gettempdir())  # Ray's sockets: a short path
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the sandboxes' scratch: the actors'
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # and this process's
    scratch: list[int] = []
    local = _four_runs(make_executor(ExecutorConfig(kind="local", workers=1), LIMITS), scratch)
    remote = _four_runs(make_executor(ExecutorConfig(kind="ray", workers=2), LIMITS), scratch)
    assert scratch == [1, 2]  # one scratch directory per sandbox worker while they ran
    assert list(tmp_path.glob("binforge-sandbox-*")) == []  # and none after close
    assert all(r.ok for r in remote), [r.error for r in remote]
    assert [r.value for r in remote if r.value] != []
    for a, b in zip(local, remote, strict=True):
        assert a.value is not None and b.value is not None
        assert a.value["metrics"] == b.value["metrics"]
        assert a.value["signature"] == b.value["signature"]
