"""Executors: the same sandbox tasks run locally or on a (local) Ray instance."""

from __future__ import annotations

import asyncio
import importlib.util

import pytest
from conftest import require

from heuristics.evolve.config import ExecutorConfig
from heuristics.evolve.executor import Executor, LocalExecutor, make_executor
from heuristics.sandbox import SandboxLimits, SandboxResult

BEST_FIT = "def score(pod, nodes, ctx):\n    return -(nodes.cpu_free - pod.cpu_milli) * 1.0\n"
TASK = {"kind": "simulate", "scenarios": [{"name": "weibull:100", "seeds": [0], "label": "w"}]}
LIMITS = SandboxLimits(preload=({"name": "weibull:100", "label": "w"},))


def _four_runs(executor: Executor) -> list[SandboxResult]:
    async def main() -> list[SandboxResult]:
        return list(await asyncio.gather(*(executor.run(BEST_FIT, TASK, 120) for _ in range(4))))

    try:
        return asyncio.run(main())
    finally:
        executor.close()


def test_the_local_executor_runs_tasks_concurrently_in_sandboxes() -> None:
    executor = make_executor(ExecutorConfig(kind="local", workers=2), LIMITS)
    assert isinstance(executor, LocalExecutor)
    results = _four_runs(executor)
    assert all(r.ok for r in results), [r.error for r in results]
    excess = {r.value["metrics"]["w"]["excess_percent"] for r in results if r.value}
    assert len(excess) == 1  # the same candidate on the same scenario: the same answer


@pytest.mark.slow
def test_the_ray_executor_gives_the_same_answers_on_a_local_ray_instance() -> None:
    require(importlib.util.find_spec("ray") is not None, "ray is not installed (binforge[ray])")
    local = _four_runs(make_executor(ExecutorConfig(kind="local", workers=1), LIMITS))
    remote = _four_runs(make_executor(ExecutorConfig(kind="ray", workers=2), LIMITS))
    assert all(r.ok for r in remote), [r.error for r in remote]
    assert [r.value for r in remote if r.value] != []
    for a, b in zip(local, remote, strict=True):
        assert a.value is not None and b.value is not None
        assert a.value["metrics"] == b.value["metrics"]
        assert a.value["signature"] == b.value["signature"]
