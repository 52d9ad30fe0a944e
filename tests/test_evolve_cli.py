"""``binforge evolve``: flags, errors as messages, and a whole tiny run with its table."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from binforge.cli import main
from binforge.cmd_evolve import format_table, parse_duration

TINY = """apiVersion: binforge.dev/v1alpha1
kind: EvolutionConfig
seed_heuristics: [best-fit-cpu, first-fit]
baselines: [best-fit, first-fit]
database: {islands: 2}
evaluator:
  screen: {name: "weibull:100"}
  train: [{name: "weibull:200", scenario_seed: 1}]
  validation: [{name: "weibull:300", scenario_seed: 2}]
budget: {samples: 8, time_s: 60, cost_usd: null}
executor: {workers: 2, proposals_in_flight: 1}
"""


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), ("90s", 90.0), ("3m", 180.0), ("1h30m", 5400.0), ("2.5m", 150.0)],
)
def test_durations_accept_hours_minutes_and_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "3d", "m"])
def test_a_bad_duration_says_what_is_expected(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="expected a duration"):
        parse_duration(text)


def test_bad_input_is_reported_as_a_message_with_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["evolve", "--resume"]) == 2
    assert "--resume needs --run-dir" in capsys.readouterr().err
    assert main(["evolve", "--config", str(tmp_path / "none.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: binforge.dev/v1alpha1\nkind: EvolutionConfig\nbudget: {samples: 0}\n"
    )
    assert main(["evolve", "--config", str(bad)]) == 2
    assert "budget.samples: expected >= 1" in capsys.readouterr().err
    assert main(["evolve", "--config", str(tmp_path)]) == 2
    assert "is a directory; expected a YAML file" in capsys.readouterr().err
    assert main(["evolve", "--workers", "0", "--run-dir", str(tmp_path / "run")]) == 2
    assert "--workers: expected 1 or more, got 0" in capsys.readouterr().err


def test_names_that_name_nothing_are_refused_before_the_run_directory_exists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "typos.yaml"
    config.write_text(
        TINY.replace("baselines: [best-fit, first-fit]", "baselines: [bestfit]")
        .replace("[best-fit-cpu, first-fit]", "[best-fit-cpu, nosuch-seed]")
        .replace('screen: {name: "weibull:100"}', 'screen: {name: "uniform:abc"}')
    )
    run_dir = tmp_path / "run"
    assert main(["evolve", "--config", str(config), "--run-dir", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert f"{config}: invalid configuration" in err
    assert "seed_heuristics[1]: seed heuristic 'nosuch-seed'" in err
    assert "baselines[0]: unknown heuristic 'bestfit'" in err
    assert "evaluator.screen.name: uniform:abc: expected uniform:N items" in err
    assert not run_dir.exists()  # nothing to --resume, nothing lost: fix and rerun

    assert main(["evolve", "--validate", "orlib:binpack99", "--run-dir", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "evaluator.validation[0].name: unknown variant 'binpack99'" in err
    assert not run_dir.exists()


def test_a_config_that_is_not_utf8_is_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "latin1.yaml"
    config.write_bytes(TINY.encode() + b"# caf\xe9\n")
    assert main(["evolve", "--config", str(config)]) == 2
    lines = len(TINY.splitlines())
    err = capsys.readouterr().err
    assert (
        f"{config}: invalid configuration:\n  line {lines + 1}: got b'\\xe9', expected UTF-8" in err
    )


def test_the_table_has_a_row_per_heuristic_and_a_column_per_scenario() -> None:
    table = {
        "evolved #7": {"train_scores": {"a": -3.5}, "validation_scores": {"b": -3.25}},
        "best-fit": {"train_scores": {"a": -4.0}, "validation_scores": {"b": -4.5}},
        "fgd": {"error": "validation: boom"},
    }
    lines = format_table(table, "auto").splitlines()
    assert "train:a" in lines[1] and "validation:b" in lines[1]
    assert lines[2].split() == ["evolved", "#7", "-3.5000", "-3.2500"]
    assert lines[4].startswith("fgd") and "error: validation: boom" in lines[4]


@pytest.mark.slow
def test_a_whole_run_names_its_proposer_and_ends_with_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY)
    run_dir = tmp_path / "run"
    assert main(["evolve", "--config", str(config), "--run-dir", str(run_dir), "--seed", "2"]) == 0
    out, err = capsys.readouterr()
    assert "proposer gp (offline genetic programming" in err
    assert "[gp] samples 8/8" in err
    assert "validation:weibull:300#2" in out
    assert "best-fit" in out and "first-fit" in out and "evolved #" in out
    assert "def score(pod, nodes, ctx):" in out
    assert (run_dir / "programs.sqlite").is_file()
    assert main(["evolve", "--config", str(config), "--run-dir", str(run_dir)]) == 2
    assert "--resume" in capsys.readouterr().err


def _recorded_run(run_dir: Path) -> bytes:
    """A run directory recording TINY's config; returns its database's bytes."""
    from test_evolve_run_dir import record_run

    from heuristics.evolve.config import load_config

    config = run_dir.parent / "recorded.yaml"
    config.write_text(TINY)
    return record_run(run_dir, load_config(config)).read_bytes()


def test_a_resumed_run_checks_scenario_names_like_a_new_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    before = _recorded_run(run_dir)
    assert main(["evolve", "--resume", "--run-dir", str(run_dir), "--scenario", "nosuch:x"]) == 2
    err = capsys.readouterr().err
    assert "command line: invalid configuration" in err
    assert "evaluator.screen.name: unknown scenario 'nosuch:x'" in err
    assert (run_dir / "programs.sqlite").read_bytes() == before


def test_a_resumed_run_refuses_a_changed_config_naming_each_changed_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    before = _recorded_run(run_dir)
    argv = ["evolve", "--resume", "--run-dir", str(run_dir), "--budget-samples", "99"]
    assert main([*argv, "--scenario", "uniform:100", "--seed", "7"]) == 2
    err = capsys.readouterr().err
    assert f"--resume: the run in {run_dir} was recorded with another configuration" in err
    assert "  seed: 0 -> 7\n" in err
    assert "  evaluator.screen.name: 'weibull:100' -> 'uniform:100'\n" in err
    assert "budget" not in err.split("changed:")[1].split("(only")[0]
    other = tmp_path / "other.yaml"
    other.write_text(TINY.replace("islands: 2", "islands: 3"))
    assert main([*argv, "--config", str(other)]) == 2
    assert "  database.islands: 2 -> 3\n" in capsys.readouterr().err
    assert (run_dir / "programs.sqlite").read_bytes() == before


def test_a_run_recorded_before_evaluator_simulation_resumes_with_its_old_queue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Such a run ran with the simulator's defaults of then (a 300 s backoff cap, no
    popping from backoff, arrival order): resumed with a config that says nothing of it,
    it is refused, with what to do."""
    import json
    import sqlite3

    run_dir = tmp_path / "run"
    _recorded_run(run_dir)
    database = sqlite3.connect(run_dir / "programs.sqlite")
    with database:
        (text,) = database.execute("SELECT value FROM meta WHERE key='config'").fetchone()
        stored = json.loads(text)
        del stored["evaluator"]["simulation"]
        database.execute("UPDATE meta SET value=? WHERE key='config'", (json.dumps(stored),))
    database.close()
    config = tmp_path / "recorded.yaml"
    argv = ["evolve", "--resume", "--run-dir", str(run_dir), "--config", str(config)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "  evaluator.simulation.backoff_max_s: 300.0 -> 10.0\n" in err
    assert "  evaluator.simulation.pop_from_backoff: False -> True\n" in err
    assert "resume it without --config, or set evaluator.simulation" in err
    then = "{backoff_max_s: 300, pop_from_backoff: false, queue_order: arrival}"
    pinned = TINY.replace("evaluator:\n", f"evaluator:\n  simulation: {then}\n")
    config.write_text(pinned)
    main(argv)  # this stand-in run has no programs to go on from: only the check matters
    err = capsys.readouterr().err
    assert "another configuration" not in err and f"resuming the run in {run_dir}" in err


def test_a_resumed_run_needs_a_readable_recorded_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "run" / "programs.sqlite"
    database.parent.mkdir()
    database.write_bytes(b"")
    assert main(["evolve", "--resume", "--run-dir", str(database.parent)]) == 2
    assert f"no recorded run in {database.parent}" in capsys.readouterr().err
    assert database.read_bytes() == b""
    database.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    assert main(["evolve", "--resume", "--run-dir", str(database.parent)]) == 2
    assert f"read program database {database}: " in capsys.readouterr().err


def test_a_run_dir_that_is_a_file_or_under_one_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    for run_dir in (afile, afile / "run"):
        for resume in ([], ["--resume"]):
            assert main(["evolve", *resume, "--run-dir", str(run_dir)]) == 2
            assert f"--run-dir {run_dir}: not a directory" in capsys.readouterr().err


def test_a_run_directory_in_use_by_another_evolve_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from heuristics.evolve.run_dir import RunLock

    lock = RunLock(tmp_path)
    try:
        assert main(["evolve", "--run-dir", str(tmp_path), "--budget-samples", "1"]) == 2
    finally:
        lock.release()
    err = capsys.readouterr().err
    assert f"run directory {tmp_path} is in use by another binforge evolve (pid " in err
    assert not (tmp_path / "programs.sqlite").exists()
