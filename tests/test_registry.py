"""Specification of heuristics.registry: one place to look heuristics up by name, winner or
file; files always pass the safety check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cluster_traces.model import Cluster
from heuristics import registry
from heuristics.baselines import best_fit
from heuristics.contract import Context, NodeState, Pod, choose
from heuristics.feasibility import view
from heuristics.registry import (
    NamedHeuristic,
    Registry,
    UnknownHeuristicError,
)
from heuristics.safety import UnsafeCodeError

BASELINES = [
    "first-fit",
    "best-fit",
    "worst-fit",
    "random",
    "kube-default",
    "most-allocated",
    "requested-to-capacity-ratio",
    "volcano-binpack",
    "tetris",
    "fgd",
    "alphaevolve-borg",
    "gpu-packing",
]

PREFER_LAST = "def score(pod, nodes, ctx):\n    return nodes.index.astype(float)\n"


def decide(named: NamedHeuristic) -> int:
    state = NodeState(
        Cluster(
            names=np.array(["a", "b", "c"]),
            cpu_milli=np.array([4000, 4000, 4000]),
            memory_mib=np.array([1024] * 3),
            gpu_count=np.zeros(3, dtype=np.int64),
            gpu_model=np.array([""] * 3),
        )
    )
    pod = Pod(1000, 1)
    none = np.zeros(0, dtype=np.int64)
    ctx = Context(none, none, none, none, np.zeros(0))
    nodes = view(state, pod)
    return choose(named.heuristic(pod, nodes, ctx), nodes)


def test_every_baseline_of_the_issue_is_registered() -> None:
    assert set(BASELINES) <= set(registry.names())
    assert list(registry.names()) == sorted(registry.names())


def test_get_returns_the_baseline_function() -> None:
    assert registry.get("best-fit") is best_fit


def test_resolving_a_registered_name_gives_its_summary_and_provenance() -> None:
    named = registry.resolve("best-fit")
    assert named.name == "best-fit"
    assert named.heuristic is best_fit
    assert named.source == "builtin:heuristics.baselines.packing.best_fit"
    assert named.summary
    with pytest.raises(AttributeError):
        named.name = "other"  # type: ignore[misc]


def test_an_unknown_name_is_a_clear_error_listing_the_known_ones() -> None:
    with pytest.raises(UnknownHeuristicError) as error:
        registry.resolve("best-fitt")
    message = str(error.value)
    assert "unknown heuristic 'best-fitt'" in message
    assert "best-fit, dot-product" in message
    with pytest.raises(UnknownHeuristicError, match="registered: "):
        registry.get("nope")


def test_register_rejects_taken_and_malformed_names() -> None:
    fresh = Registry()
    fresh.register("mine", lambda: best_fit, "test")
    assert fresh.names() == ("mine",)
    with pytest.raises(ValueError, match="already registered"):
        fresh.register("mine", lambda: best_fit, "test")
    with pytest.raises(ValueError, match="lower-case name"):
        fresh.register("Has Space", lambda: best_fit, "test")


def test_a_name_with_a_trailing_newline_names_nothing(tmp_path: Path) -> None:
    (tmp_path / "nl\n.py").write_text(PREFER_LAST)
    fresh = Registry(winners_dir=tmp_path)
    assert fresh.winners() == ()
    with pytest.raises(UnknownHeuristicError, match="unknown heuristic"):
        fresh.locate("nl\n")
    with pytest.raises(ValueError, match="lower-case name"):
        fresh.register("mine\n", lambda: best_fit, "test")


def test_a_file_path_is_compiled_through_the_safety_check(tmp_path: Path) -> None:
    path = tmp_path / "prefer_last.py"
    path.write_text(PREFER_LAST)
    named = registry.resolve(str(path))
    assert (named.name, named.source) == ("prefer_last", str(path))
    assert decide(named) == 2


def test_an_unsafe_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.py"
    path.write_text("import os\n\ndef score(pod, nodes, ctx):\n    return nodes.cpu_free\n")
    with pytest.raises(UnsafeCodeError):
        registry.resolve(str(path))


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UnknownHeuristicError, match="no such file"):
        registry.resolve(str(tmp_path / "absent.py"))


def test_winners_are_files_in_the_winners_directory(tmp_path: Path) -> None:
    (tmp_path / "champion.py").write_text(PREFER_LAST)
    (tmp_path / "__init__.py").write_text("")
    fresh = Registry(winners_dir=tmp_path)
    assert fresh.winners() == ("champion",)
    named = fresh.resolve("champion")
    assert named.source == str(tmp_path / "champion.py")
    assert decide(named) == 2
    with pytest.raises(UnknownHeuristicError, match="winners: champion"):
        fresh.resolve("runner-up")


def test_locating_a_spec_finds_its_file_without_loading_it(tmp_path: Path) -> None:
    (tmp_path / "champion.py").write_text("import os\n")  # would fail the safety check
    fresh = Registry(winners_dir=tmp_path)
    assert registry.locate("best-fit") is None  # registered: no file
    assert fresh.locate("champion") == tmp_path / "champion.py"
    assert fresh.locate(str(tmp_path / "champion.py")) == tmp_path / "champion.py"
    with pytest.raises(UnknownHeuristicError, match="unknown heuristic 'runner-up'"):
        fresh.locate("runner-up")
    with pytest.raises(UnknownHeuristicError, match="no such file"):
        fresh.locate(str(tmp_path / "absent.py"))
    with pytest.raises(UnsafeCodeError):
        fresh.resolve("champion")


def test_the_shipped_winners_package_holds_only_loadable_winners() -> None:
    for name in registry.winners():
        assert callable(registry.resolve(name).heuristic)
    assert registry.WINNERS_DIR.joinpath("__init__.py").is_file()
