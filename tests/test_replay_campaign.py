"""Campaign 3 (time replay on loaded replays): the shipped winner loads by name, passes
the safety check, and on a window the search never saw strands less than kube-default
without failing more pods; the campaign is registered for ``make results``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cluster_traces.scenarios import load_scenario
from heuristics.evolve.campaigns import CAMPAIGNS, CAMPAIGNS_DIR, evaluate_metrics
from heuristics.evolve.config import load_config
from heuristics.registry import WINNERS_DIR, resolve
from heuristics.safety import check_source

CAMPAIGN = {campaign.name: campaign for campaign in CAMPAIGNS}["replay"]
WINNER = CAMPAIGN.winner


def test_the_replay_winner_loads_by_name_and_passes_the_safety_check() -> None:
    path = WINNERS_DIR / f"{WINNER}.py"
    source = path.read_text(encoding="utf-8")
    check_source(source, str(path))
    assert source.startswith(f"# binforge winner {WINNER!r}")
    assert callable(resolve(WINNER).heuristic)


def test_the_replay_campaign_searches_and_tests_only_loaded_replays() -> None:
    config = load_config(CAMPAIGNS_DIR / "replay.yaml")
    refs = (config.evaluator.screen, *config.evaluator.train, *config.evaluator.validation)
    assert all(":loaded-" in ref.name for ref in (*refs, *CAMPAIGN.test))
    assert config.evaluator.objective == "stranded_share_guarded"
    assert {ref.name.split(":")[0] for ref in CAMPAIGN.test} == {
        "alibaba-gpu-v2023",
        "alibaba-v2017",
    }
    assert CAMPAIGN.guards == ("pods_failed", "pods_pending_mean")
    assert CAMPAIGN.baselines[0] == "kube-default"


def test_the_winner_strands_less_than_kube_default_without_more_failures_on_an_unseen_window(
    trace_dir: Path,
) -> None:
    scenario = load_scenario("alibaba-gpu-v2023:loaded-4", seed=0)
    names = ("stranded_share_mean", "pods_failed")
    ours = evaluate_metrics([scenario], WINNER, (0,), names)
    kube = evaluate_metrics([scenario], "kube-default", (0,), names)
    assert ours["stranded_share_mean"].value < kube["stranded_share_mean"].value
    assert ours["pods_failed"].value <= kube["pods_failed"].value
    assert np.isfinite(ours["stranded_share_mean"].value)
