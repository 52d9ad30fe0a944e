"""Seed sources: self-contained, and, where they restate a registered baseline, the same
placements as it, pod for pod."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cluster_traces.scenarios import Scenario, keep_nodes, load_scenario
from heuristics.evolve.seeds import SEED_SOURCES
from heuristics.registry import resolve
from heuristics.safety import check_source, compile_heuristic
from simulator import simulate

RESTATED = ("first-fit", "tetris", "fgd", "kube-default")
"""Seeds that restate the registered heuristic of the same name exactly (best-fit and
worst-fit are FGD's and FunSearch's simpler forms, not binforge's registered ones)."""


@pytest.mark.parametrize("name", sorted(SEED_SOURCES))
def test_every_seed_passes_the_sandbox_checks(name: str) -> None:
    check_source(SEED_SOURCES[name], filename=f"<seed {name}>")
    assert callable(compile_heuristic(SEED_SOURCES[name]))


def _same_placements(name: str, scenario: Scenario) -> None:
    registered = simulate(scenario, resolve(name).heuristic, seed=0).placements
    seed = simulate(scenario, compile_heuristic(SEED_SOURCES[name]), seed=0).placements
    assert len(registered) > 100
    assert np.array_equal(seed, registered), f"{name} on {scenario.name}"


@pytest.mark.parametrize("name", RESTATED)
def test_a_restated_seed_places_every_pod_like_the_registered_baseline(name: str) -> None:
    _same_placements(name, load_scenario("synthetic"))


@pytest.mark.parametrize("name", RESTATED)
def test_a_restated_seed_matches_on_gpu_sharing_and_cpu_only_traces(
    name: str, trace_dir: Path
) -> None:
    # a busy replay with departures (shared GPUs, queueing), a memory-bound CPU-only
    # replay, and a saturate run on a tenth of the 1,523 GPU nodes
    _same_placements(name, load_scenario("alibaba-gpu-v2023:loaded-3"))
    _same_placements(name, load_scenario("alibaba-v2017:loaded-70"))
    _same_placements(name, keep_nodes(load_scenario("alibaba-gpu-v2023:gpushare80"), 0.1, 0))
