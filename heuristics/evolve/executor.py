"""Where evaluations run: one small async interface, a local and a Ray implementation.

Both run every candidate in :class:`heuristics.sandbox.Sandbox` workers; they differ
only in which machine hosts the workers. ``local`` (the default) keeps a pool of
``workers`` sandbox workers on this machine. ``ray`` (optional extra ``binforge[ray]``)
runs one sandbox per Ray actor, so a search can span a Ray cluster without code changes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any, Protocol

from heuristics.evolve.config import ExecutorConfig
from heuristics.sandbox import Sandbox, SandboxLimits, SandboxResult

__all__ = ["Executor", "LocalExecutor", "RayExecutor", "make_executor"]


class Executor(Protocol):
    """Runs sandbox tasks asynchronously; ``close`` releases every worker."""

    async def run(
        self,
        source: str | None,
        task: Mapping[str, Any],
        timeout_s: float,
        *,
        heuristic: str | None = None,
    ) -> SandboxResult: ...

    def close(self) -> None: ...


class LocalExecutor:
    """A pool of sandbox workers on this machine, driven from threads."""

    def __init__(self, workers: int, limits: SandboxLimits) -> None:
        self.sandbox = Sandbox(workers, limits)

    async def run(
        self,
        source: str | None,
        task: Mapping[str, Any],
        timeout_s: float,
        *,
        heuristic: str | None = None,
    ) -> SandboxResult:
        return await asyncio.to_thread(
            self.sandbox.run, source, task, timeout_s, heuristic=heuristic
        )

    def close(self) -> None:
        self.sandbox.close()


class RayExecutor:
    """One sandbox per Ray actor; requests go to the least busy actor.

    Raises:
        RuntimeError: when ray is not installed (``pip install 'binforge[ray]'``).
    """

    def __init__(self, workers: int, limits: SandboxLimits, address: str | None) -> None:
        try:
            import ray
        except ImportError as exc:
            raise RuntimeError(
                "executor ray: the ray package is not installed; pip install 'binforge[ray]'"
            ) from exc
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        actor = ray.remote(num_cpus=1)(_SandboxActor)
        self._ray = ray
        self._actors: list[Any] = [actor.remote(limits) for _ in range(workers)]
        self._free: asyncio.Queue[Any] | None = None

    async def run(
        self,
        source: str | None,
        task: Mapping[str, Any],
        timeout_s: float,
        *,
        heuristic: str | None = None,
    ) -> SandboxResult:
        if self._free is None:
            self._free = asyncio.Queue()
            for actor in self._actors:
                self._free.put_nowait(actor)
        actor = await self._free.get()
        try:
            result: SandboxResult = await actor.run.remote(source, dict(task), timeout_s, heuristic)
            return result
        finally:
            self._free.put_nowait(actor)

    def close(self) -> None:
        """Close the actors' sandboxes (their workers and scratch directories), kill the
        actors, and shut Ray down if this executor started it. An actor that does not
        answer within 30 s is killed without its sandbox closed."""
        with contextlib.suppress(self._ray.exceptions.RayError):
            self._ray.get([actor.close.remote() for actor in self._actors], timeout=30)
        for actor in self._actors:
            self._ray.kill(actor)
        if self._owns_ray:
            self._ray.shutdown()


class _SandboxActor:
    def __init__(self, limits: SandboxLimits) -> None:
        self.sandbox = Sandbox(1, limits)

    def run(
        self, source: str | None, task: Mapping[str, Any], timeout_s: float, heuristic: str | None
    ) -> SandboxResult:
        return self.sandbox.run(source, task, timeout_s, heuristic=heuristic)

    def close(self) -> None:
        self.sandbox.close()


def make_executor(config: ExecutorConfig, limits: SandboxLimits) -> Executor:
    """The executor ``config.kind`` names."""
    if config.kind == "ray":
        return RayExecutor(config.workers, limits, config.ray_address)
    return LocalExecutor(config.workers, limits)
