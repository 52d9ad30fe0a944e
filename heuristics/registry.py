"""The one registry of heuristics: the simulator, the evolution engine and the extender
look policies up here, so what was evaluated is what is served.

A *spec* names a heuristic in one of three ways, tried in this order:

1. a registered name (the baselines, registered below: ``best-fit``, ``fgd``, ...);
2. a path to a ``.py`` file (it contains a path separator or ends in ``.py``);
3. a winner: ``heuristics/winners/NAME.py``.

File and winner sources are untrusted code: they always pass
:func:`heuristics.safety.compile_heuristic` (which raises
:class:`heuristics.safety.UnsafeCodeError`) and never run otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from heuristics import baselines
from heuristics.contract import Heuristic

__all__ = [
    "REGISTRY",
    "WINNERS_DIR",
    "HeuristicLoadError",
    "NamedHeuristic",
    "Registry",
    "UnknownHeuristicError",
    "get",
    "locate",
    "names",
    "register",
    "resolve",
    "winners",
]

WINNERS_DIR = Path(__file__).parent / "winners"
"""Where exported winners live: ``NAME.py`` defining ``score(pod, nodes, ctx)``."""

_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_WINNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


class UnknownHeuristicError(LookupError):
    """A spec that is neither a registered name, a winner nor a ``.py`` file."""


class HeuristicLoadError(OSError):
    """A heuristic file could not be read."""


@dataclass(frozen=True)
class NamedHeuristic:
    """A heuristic with where it came from.

    Attributes:
        name: the registered name, the winner's name or the file's stem.
        heuristic: the ``score(pod, nodes, ctx)`` function.
        summary: one line saying what it does.
        source: provenance: ``builtin:<module>.<function>`` or the file's path.
    """

    name: str
    heuristic: Heuristic
    summary: str
    source: str


@dataclass(frozen=True)
class _Entry:
    factory: Callable[[], Heuristic]
    summary: str
    source: str


class Registry:
    """Named heuristic factories. :data:`REGISTRY` is the default one; tests build their own."""

    def __init__(self, winners_dir: Path = WINNERS_DIR) -> None:
        self._entries: dict[str, _Entry] = {}
        self.winners_dir = winners_dir

    def register(
        self, name: str, factory: Callable[[], Heuristic], summary: str, source: str = ""
    ) -> None:
        """Register ``factory`` (called by :meth:`get`) under ``name``.

        Raises:
            ValueError: for a name that is not lower-case ``[a-z0-9_.-]`` or is taken.
        """
        if not _NAME.fullmatch(name):
            raise ValueError(f"register heuristic {name!r}: expected a lower-case name")
        if name in self._entries:
            raise ValueError(f"register heuristic {name!r}: the name is already registered")
        if not source:
            module = getattr(factory, "__module__", "?")
            source = f"builtin:{module}.{getattr(factory, '__qualname__', '?')}"
        self._entries[name] = _Entry(factory, summary, source)

    def names(self) -> tuple[str, ...]:
        """Registered names, sorted."""
        return tuple(sorted(self._entries))

    def winners(self) -> tuple[str, ...]:
        """Winner names (``winners_dir/*.py`` stems, not starting with ``_``), sorted."""
        if not self.winners_dir.is_dir():
            return ()
        return tuple(
            sorted(
                p.stem
                for p in self.winners_dir.glob("*.py")
                if not p.name.startswith("_") and _WINNER.fullmatch(p.stem)
            )
        )

    def get(self, name: str) -> Heuristic:
        """The registered heuristic ``name``.

        Raises:
            UnknownHeuristicError: when no heuristic is registered under ``name``.
        """
        entry = self._entries.get(name)
        if entry is None:
            raise UnknownHeuristicError(self._unknown(name))
        return entry.factory()

    def resolve(self, spec: str) -> NamedHeuristic:
        """The heuristic a spec names: a registered name, a ``.py`` path or a winner.

        Raises:
            UnknownHeuristicError: when the spec names nothing known (the message lists
                the registered names and winners).
            HeuristicLoadError: when a named file cannot be read.
            heuristics.safety.UnsafeCodeError: when a file's source fails the safety check.
        """
        path = self.locate(spec)
        if path is None:
            entry = self._entries[spec]
            return NamedHeuristic(spec, entry.factory(), entry.summary, entry.source)
        if path == self.winners_dir / f"{spec}.py":
            return _load(path, spec, f"winner {spec}")
        return _load(path, path.stem, f"heuristic file {path}")

    def locate(self, spec: str) -> Path | None:
        """Where a spec's heuristic comes from, without loading it: None for a registered
        name, else the file (a ``.py`` path or a winner).

        Raises:
            UnknownHeuristicError: when the spec names nothing known.
        """
        if spec in self._entries:
            return None
        if spec.endswith(".py") or "/" in spec or "\\" in spec:
            path = Path(spec)
            if not path.is_file():
                raise UnknownHeuristicError(
                    f"heuristic file {spec!r}: no such file; {self._known()}"
                )
            return path
        if _WINNER.fullmatch(spec):
            path = self.winners_dir / f"{spec}.py"
            if path.is_file():
                return path
        raise UnknownHeuristicError(self._unknown(spec))

    def _known(self) -> str:
        winners = ", ".join(self.winners()) or "none"
        return f"registered: {', '.join(self.names())}; winners: {winners}"

    def _unknown(self, spec: str) -> str:
        return f"unknown heuristic {spec!r}; {self._known()}; or give a path to a .py file"


def _load(path: Path, name: str, summary: str) -> NamedHeuristic:
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HeuristicLoadError(f"read heuristic file {path}: {exc}") from exc
    from heuristics.safety import compile_heuristic  # lazy: safety is only for files

    heuristic = compile_heuristic(source, str(path))
    return NamedHeuristic(name, heuristic, summary, str(path))


def _builtin(function: Heuristic) -> Callable[[], Heuristic]:
    return lambda: function


def _register_baselines(registry: Registry) -> None:
    """Every baseline, in one place (see each function's docstring for formula and source)."""
    b = baselines

    def add(name: str, function: Heuristic, summary: str) -> None:
        source = f"builtin:{function.__module__}.{getattr(function, '__name__', name)}"
        registry.register(name, _builtin(function), summary, source)

    add("first-fit", b.first_fit, "constant score: the lowest-index feasible node")
    add("best-fit", b.best_fit, "least CPU+GPU left over (FGD BestFit; FunSearch -(bins-item))")
    add("worst-fit", b.worst_fit, "most CPU+GPU left over")
    add("random", b.random_fit, "pseudo-random, hashed from pod and node data")
    add("kube-default", b.kube_default, "kube-scheduler LeastAllocated + BalancedAllocation")
    add("least-allocated", b.least_allocated, "kube-scheduler NodeResourcesFit LeastAllocated")
    add("balanced-allocation", b.balanced_allocation, "kube-scheduler BalancedAllocation")
    add("most-allocated", b.most_allocated, "kube-scheduler NodeResourcesFit MostAllocated")
    registry.register(
        "requested-to-capacity-ratio",
        lambda: b.requested_to_capacity_ratio(b.DEFAULT_SHAPE),
        "kube-scheduler RequestedToCapacityRatio, shape (0,0)-(100,10)",
        "builtin:heuristics.baselines.kube.requested_to_capacity_ratio",
    )
    add("volcano-binpack", b.volcano_binpack, "Volcano binpack, cpu/memory/GPU weight 1")
    add("tetris", b.tetris, "Tetris: demand · free, normalised by capacity, highest")
    add("dot-product", b.dot_product, "FGD's dot-product baseline: smallest demand · free")
    add("fgd", b.fgd, "FGD: least growth of expected GPU fragmentation")
    add("alphaevolve-borg", b.alphaevolve_borg, "AlphaEvolve Borg: -(c + m + m/c + c/m)")
    add("gpu-packing", b.gpu_packing, "FGD's GPU packing: shared GPUs, then used nodes")


REGISTRY = Registry()
"""The default registry, holding every baseline."""
_register_baselines(REGISTRY)


def register(name: str, factory: Callable[[], Heuristic], summary: str, source: str = "") -> None:
    """Register a heuristic factory in :data:`REGISTRY` (see :meth:`Registry.register`)."""
    REGISTRY.register(name, factory, summary, source)


def get(name: str) -> Heuristic:
    """The registered heuristic ``name`` from :data:`REGISTRY` (see :meth:`Registry.get`)."""
    return REGISTRY.get(name)


def names() -> tuple[str, ...]:
    """Names registered in :data:`REGISTRY`, sorted."""
    return REGISTRY.names()


def winners() -> tuple[str, ...]:
    """Winner names in :data:`WINNERS_DIR`, sorted."""
    return REGISTRY.winners()


def resolve(spec: str) -> NamedHeuristic:
    """Resolve a spec against :data:`REGISTRY` (see :meth:`Registry.resolve`)."""
    return REGISTRY.resolve(spec)


def locate(spec: str) -> Path | None:
    """Check a spec against :data:`REGISTRY` without loading it (see :meth:`Registry.locate`)."""
    return REGISTRY.locate(spec)
