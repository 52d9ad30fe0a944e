"""``binforge simulate``: the comparison table, JSON, CSV and plots, and clear errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from binforge.cli import main
from cluster_traces.scenarios import load_scenario
from heuristics.evolve.campaigns import CAMPAIGNS_DIR, evaluate_metrics
from heuristics.evolve.config import load_config
from simulator import SimulationOptions

NAN_HEURISTIC = """
import numpy as np


def score(pod, nodes, ctx):
    return np.full(len(nodes), np.nan)
"""


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.traces
def test_orlib_binpack1_reproduces_funsearch_first_and_best_fit(
    trace_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["simulate", "--scenario", "orlib:binpack1", "--policy", "first-fit,best-fit"]
    status, out, _ = run([*argv, "--trace-dir", str(trace_dir), "--json", "-"], capsys)
    assert status == 0
    policies = json.loads(out)["policies"]
    assert round(policies["first-fit"]["summary"]["excess_percent"]["mean"], 2) == 6.42
    assert round(policies["best-fit"]["summary"]["excess_percent"]["mean"], 2) == 5.81
    # Against best-fit, first-fit uses 0.3 more bins per instance (52.2 vs 51.9).
    assert policies["first-fit"]["recovered_vs_baseline"]["nodes"] == pytest.approx(-0.3)

    status, out, _ = run([*argv, "--trace-dir", str(trace_dir)], capsys)
    assert status == 0
    assert "first-fit  6.42 ± 0.00" in out
    assert "recovered compute vs best-fit" in out


def test_saturate_writes_json_csv_and_plots_over_seeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["simulate", "--scenario", "synthetic", "--policy", "first-fit", "--seeds", "2"]
    status, out, _ = run([*argv, "--out", str(tmp_path)], capsys)
    assert status == 0
    assert "gpu_alloc_at_130" in out and "recovered compute vs best-fit" in out
    document = json.loads((tmp_path / "results.json").read_text())
    assert document["protocol"] == "saturate"
    assert [r["seed"] for r in document["policies"]["first-fit"]["runs"]] == [0, 1]
    assert set(document["policies"]) == {"first-fit", "best-fit"}  # the baseline runs too
    assert "gpus" in document["policies"]["first-fit"]["recovered_vs_baseline"]
    with (tmp_path / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4 and float(rows[0]["gpu_alloc_at_130"]) > 0
    plot = tmp_path / "gpu_alloc_percent.png"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_unknown_policy_is_a_clear_error_listing_known_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, _, err = run(["simulate", "--scenario", "synthetic", "--policy", "nope"], capsys)
    assert status == 2
    assert "unknown heuristic 'nope'" in err and "best-fit" in err


def test_an_unknown_scenario_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(["simulate", "--scenario", "nowhere:x", "--policy", "best-fit"], capsys)
    assert status == 2
    assert "unknown scenario 'nowhere:x'" in err


def test_a_heuristic_file_returning_nan_fails_or_is_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "nan_scores.py"
    path.write_text(NAN_HEURISTIC)
    argv = ["simulate", "--scenario", "synthetic", "--policy", str(path)]
    status, _, err = run(argv, capsys)
    assert status == 2
    assert "finite" in err and "pod 0" in err

    status, out, _ = run([*argv, "--on-error", "count", "--json", "-"], capsys)
    assert status == 0
    policy = json.loads(out)["policies"][str(path)]
    metrics = policy["runs"][0]["metrics"]
    assert metrics["heuristic_errors"] > 0 and metrics["pods_placed"] == 0


def test_no_compute_is_recovered_by_a_heuristic_whose_errors_left_items_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Every item it failed is an item left out, so it opens no bins at all: counted
    # naively, that would be every bin of best fit's packing "saved".
    path = tmp_path / "nan_scores.py"
    path.write_text(NAN_HEURISTIC)
    argv = ["simulate", "--scenario", "uniform:120", "--policy", f"{path},first-fit"]
    status, out, _ = run([*argv, "--on-error", "count", "--json", "-"], capsys)
    assert status == 0
    policies = json.loads(out)["policies"]
    assert policies[str(path)]["summary"]["bins_used_mean"]["mean"] == 0
    assert policies[str(path)]["recovered_vs_baseline"] == {}
    assert policies["first-fit"]["recovered_vs_baseline"]["nodes"] < 0  # still stated

    status, out, _ = run([*argv, "--on-error", "count"], capsys)
    assert status == 0
    assert f"{path}: not stated: heuristic errors were counted" in out


def test_replay_plots_stranded_share_over_time_against_kube_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["simulate", "--scenario", "synthetic", "--protocol", "replay", "--policy", "best-fit"]
    status, out, _ = run([*argv, "--out", str(tmp_path)], capsys)
    assert status == 0
    assert "recovered compute vs kube-default" in out and "memory_gib" in out
    document = json.loads((tmp_path / "results.json").read_text())
    assert document["protocol"] == "replay" and document["baseline"] == "kube-default"
    assert (tmp_path / "stranded_gpu_share.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.traces
def test_the_scenario_seed_picks_a_loaded_replays_node_subset_as_a_campaign_does(
    trace_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--scenario-seed 1`` reproduces what ``make results`` and the campaign configs call
    node subset 1 (``scenario_seed: 1``), which is another cluster than subset 0."""
    name = "alibaba-gpu-v2023:loaded-3"
    argv = ["simulate", "--scenario", name, "--policy", "fgd", "--baseline", "fgd"]
    argv += ["--trace-dir", str(trace_dir), "--json", "-"]
    shares = {}
    for subset in (0, 1):
        status, out, _ = run([*argv, "--scenario-seed", str(subset)], capsys)
        assert status == 0
        document = json.loads(out)
        assert document["scenario_seed"] == subset
        shares[subset] = document["policies"]["fgd"]["summary"]["stranded_share_mean"]["mean"]
    scenario = load_scenario(name, trace_dir, seed=1)
    campaign = evaluate_metrics([scenario], "fgd", (0,), ["stranded_share_mean"])
    assert shares[1] == pytest.approx(campaign["stranded_share_mean"].value)
    assert shares[0] != pytest.approx(shares[1])


@pytest.mark.traces
def test_options_set_the_queue_as_a_campaign_config_does(
    trace_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--option pop_from_backoff=false --option queue_order=arrival`` is campaign 3's
    eighth attempt's ``evaluator.simulation``; the JSON records the options."""
    name = "alibaba-gpu-v2023:loaded-0"
    argv = ["simulate", "--scenario", name, "--policy", "kube-default"]
    argv += ["--trace-dir", str(trace_dir), "--json", "-"]
    settings = ["--option", "pop_from_backoff=false", "--option", "queue_order=arrival"]
    failed = {}
    for setting in ([], settings):
        status, out, _ = run([*argv, *setting], capsys)
        assert status == 0
        document = json.loads(out)
        failed[bool(setting)] = document["policies"]["kube-default"]["summary"]["pods_failed"]
    assert document["options"] == {
        "on_heuristic_error": "raise",
        "pop_from_backoff": False,
        "queue_order": "arrival",
    }
    scenario = load_scenario(name, trace_dir, seed=0)
    eighth = load_config(CAMPAIGNS_DIR / "replay-upstream.yaml").evaluator.simulation
    assert eighth == SimulationOptions(pop_from_backoff=False, queue_order="arrival")
    campaign = evaluate_metrics([scenario], "kube-default", (0,), ["pods_failed"], eighth)
    assert failed[True]["mean"] == campaign["pods_failed"].value != failed[False]["mean"]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("backoff_max_s", "--option 'backoff_max_s': expected NAME=VALUE"),
        ("backof_max_s=10", "--option 'backof_max_s=10': unknown option 'backof_max_s'"),
        ("sample_points=many", "--option 'sample_points=many': sample_points: expected int"),
        ("pop_from_backoff=maybe", "pop_from_backoff: expected true, false, 1 or 0, got 'maybe'"),
        ("queue_order=fifo", "queue_order: expected 'last_attempt' or 'arrival', got 'fifo'"),
        ("backoff_max_s=0.5", "--option: simulation options: backoff_initial_s, backoff_max_s"),
        ("on_heuristic_error=count", "set on_heuristic_error with --on-error"),
    ],
)
def test_a_bad_option_is_a_clear_error(
    setting: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["simulate", "--scenario", "synthetic", "--policy", "best-fit", "--option", setting]
    status, out, err = run(argv, capsys)
    assert status == 2 and message in err and not out


def test_a_negative_scenario_seed_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", "--scenario", "synthetic", "--policy", "best-fit", "--scenario-seed", "-1"]
    status, _, err = run(argv, capsys)
    assert status == 2
    assert "--scenario-seed: expected 0 or more, got -1" in err


def test_an_unwritable_output_is_refused_before_anything_is_simulated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["simulate", "--scenario", "synthetic", "--policy", "no-such-policy"]
    # the output is checked first: the policy, which would fail later, is never looked up
    missing = tmp_path / "no" / "dir" / "x.json"
    status, _, err = run([*argv, "--json", str(missing)], capsys)
    assert status == 2 and f"--json {missing}: no directory {missing.parent}" in err
    status, _, err = run([*argv, "--json", str(tmp_path)], capsys)
    assert status == 2 and f"--json {tmp_path}: is a directory" in err
    a_file = tmp_path / "results"
    a_file.write_text("")
    status, _, err = run([*argv, "--out", str(a_file / "plots")], capsys)
    assert status == 2 and f"--out {a_file / 'plots'}: {a_file} is a file" in err
    assert not (tmp_path / "fresh").exists()
    status, _, err = run([*argv, "--out", str(tmp_path / "fresh")], capsys)
    assert status == 2 and "--policy: unknown heuristic" in err
    assert not (tmp_path / "fresh").exists()  # nothing written for a run that did not happen


def test_an_unknown_baseline_is_blamed_on_the_baseline_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["simulate", "--scenario", "synthetic", "--policy", "first-fit", "--baseline", "nosuch"]
    status, _, err = run(argv, capsys)
    assert status == 2 and "--baseline: unknown heuristic 'nosuch'" in err


def test_a_heuristic_file_that_raises_is_named_with_the_line_that_raised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "divides.py"
    path.write_text("import numpy as np\n\n\ndef score(pod, nodes, ctx):\n    return 1 / 0\n")
    for scenario in ("synthetic", "uniform:120"):  # a cluster, and bin packing
        status, _, err = run(["simulate", "--scenario", scenario, "--policy", str(path)], capsys)
        assert status == 2
        assert f"raised ZeroDivisionError: division by zero (line 5 of {path})" in err
