"""``binforge export RUN_DIR --name NAME``: the winner becomes ``NAME.py`` with a provenance
header, and loads by name through the heuristic registry (what the simulator and the
extender use)."""

from __future__ import annotations

import os
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from run_dir_builder import WINNER_SOURCE, build_run

from binforge.cli import main
from heuristics import registry
from heuristics.evolve.config import DatabaseConfig, EvolutionConfig
from heuristics.evolve.database import ProgramDatabase
from heuristics.evolve.engine import DATABASE_FILE
from heuristics.evolve.export import ExportError, export_winner, validate_name
from heuristics.registry import Registry

WHEN = datetime(2026, 11, 28, 23, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("runs") / "run-b"
    build_run(path)
    return path


class _Nodes:
    """Just the arrays the winner reads."""

    gpu_free = np.array([2000, 500, 1000])
    gpu_idle = np.array([2, 0, 0])
    gpu_total = np.array([2, 1, 1])


class _Pod:
    gpu_milli_total = 500


def test_the_exported_file_loads_by_name_and_scores_like_the_winner(
    run_dir: Path, tmp_path: Path
) -> None:
    path = export_winner(run_dir, "packer-a", dest=tmp_path, now=WHEN)
    assert path == tmp_path / "packer-a.py"
    loaded = Registry(winners_dir=tmp_path).resolve("packer-a")
    assert loaded.source == str(path)
    scores = loaded.heuristic(_Pod(), _Nodes(), None)  # type: ignore[arg-type]
    assert list(np.round(scores, 3)) == [-1500.0, 0.1, -499.9]
    assert path.read_text(encoding="utf-8").endswith(WINNER_SOURCE)


def test_the_header_records_run_program_proposer_date_and_results(
    run_dir: Path, tmp_path: Path
) -> None:
    text = export_winner(run_dir, "packer-b", dest=tmp_path, now=WHEN).read_text(encoding="utf-8")
    header = text.split("import numpy", 1)[0]
    assert all(line.startswith("#") or not line for line in header.splitlines())
    assert "exported 2026-11-28 23:30 UTC" in header
    assert f"run: {run_dir.resolve()}" in header
    assert "program: #12 (sample 9, island 1" in header
    assert "proposer: gemini, model gemini-3.5-flash" in header
    training = header.split("training fitness against the baselines:")[1].split("held-out")[0]
    held_out = header.split("held-out validation fitness against the baselines:")[1]
    for label, value in (("winner", "95"), ("best-fit", "88"), ("fgd", "90.5")):
        assert f"#   {label:<28} {value}\n" in training
    for label, value in (("winner", "93.5"), ("best-fit", "87.25"), ("fgd", "89")):
        assert f"#   {label:<28} {value}\n" in held_out
    assert "tetris" in held_out and "error" in held_out


def test_the_default_destination_is_the_registry_of_winners(run_dir: Path) -> None:
    name = f"test-export-{os.getpid()}"
    path = registry.WINNERS_DIR / f"{name}.py"
    try:
        assert export_winner(run_dir, name) == path
        assert name in registry.winners()
        assert registry.resolve(name).source == str(path)
    finally:
        path.unlink(missing_ok=True)


@pytest.mark.parametrize(
    "name",
    ["", "Packer", "my packer", "../escape", "_private", "-dash", "a" * 65, "best-fit", "nl\n"],
)
def test_invalid_or_shadowed_names_are_refused(name: str) -> None:
    with pytest.raises(ExportError, match="winner name"):
        validate_name(name)


def test_an_existing_winner_is_replaced_only_with_force(run_dir: Path, tmp_path: Path) -> None:
    export_winner(run_dir, "packer-c", dest=tmp_path)
    with pytest.raises(ExportError, match="exists"):
        export_winner(run_dir, "packer-c", dest=tmp_path)
    assert export_winner(run_dir, "packer-c", dest=tmp_path, force=True).is_file()


def test_a_run_without_an_evaluated_winner_cannot_be_exported(tmp_path: Path) -> None:
    build_run(tmp_path / "r", evaluated=False)
    with pytest.raises(ExportError, match="no evaluated winner"):
        export_winner(tmp_path / "r", "nothing", dest=tmp_path)
    assert not (tmp_path / "nothing.py").exists()


def test_the_cli_exports_and_reports_bad_names_with_status_2(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", str(run_dir), "--name", "packer-d", "--dest", str(tmp_path)]) == 0
    assert (tmp_path / "packer-d.py").is_file()
    assert main(["export", str(run_dir), "--name", "Bad Name", "--dest", str(tmp_path)]) == 2
    assert "binforge export: error: winner name 'Bad Name'" in capsys.readouterr().err


def test_a_program_chosen_by_id_is_exported_without_the_best_programs_comparison(
    run_dir: Path, tmp_path: Path
) -> None:
    path = export_winner(run_dir, "chosen", dest=tmp_path, now=WHEN, program=1)
    header = path.read_text(encoding="utf-8").split("import numpy", 1)[0]
    assert "program: #1 (a seed, island" in header
    assert "chosen by program id; the run's recorded comparison is of its best, #12" in header
    assert "against the baselines" not in header  # those numbers are the best program's
    assert callable(Registry(winners_dir=tmp_path).resolve("chosen").heuristic)


def test_an_unknown_program_id_is_refused_with_its_number(run_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"program #999: not in the run"):
        export_winner(run_dir, "nothing", dest=tmp_path, program=999)
    assert not (tmp_path / "nothing.py").exists()


def test_a_run_that_went_on_after_its_comparison_exports_its_best_without_the_old_rows(
    tmp_path: Path,
) -> None:
    # a resumed run stopped before its end keeps the first session's comparison (#12):
    # its better, later program is the winner, and the old figures are not put on it
    run = tmp_path / "resumed"
    compared = build_run(run)
    db = ProgramDatabase(run / DATABASE_FILE, DatabaseConfig(islands=2))
    try:
        later = db.add(sample=40, island=1, status="evaluated", kind="rewrite",
                       source=WINNER_SOURCE.replace("0.1", "0.2"), score=96.0)  # fmt: skip
    finally:
        db.close()
    header = export_winner(run, "packer-later", dest=tmp_path, now=WHEN).read_text("utf-8")
    assert f"program: #{later} (sample 40" in header
    assert f"recorded comparison is of #{compared}, its best when compared" in header
    assert "against the baselines" not in header


def _header_of_a_run_recording(config: object, tmp_path: Path, name: str) -> str:
    run = tmp_path / name
    build_run(run)
    db = ProgramDatabase(run / DATABASE_FILE, DatabaseConfig(islands=2))
    try:
        db.set_meta("config", config)
    finally:
        db.close()
    path = export_winner(run, f"packer-{name}", dest=tmp_path, now=WHEN)
    return path.read_text("utf-8").split("import numpy", 1)[0]


def _options_named(header: str) -> str:
    after = header.split("# simulator options (evaluator.simulation):\n", 1)[1]
    return " ".join(line[3:] for line in after.splitlines() if line.startswith("#   "))


def test_the_header_names_every_simulator_option_the_run_was_evaluated_under(
    run_dir: Path, tmp_path: Path
) -> None:
    # a database without a recorded configuration names none
    plain = export_winner(run_dir, "packer-plain", dest=tmp_path, now=WHEN).read_text("utf-8")
    assert "simulator options" not in plain
    config = asdict(EvolutionConfig())
    header = _header_of_a_run_recording(config, tmp_path, "today")
    named = _options_named(header)
    assert "backoff_max_s=10.0" in named and "pending_timeout_s=3600.0" in named
    del config["evaluator"]["simulation"]  # recorded before the option existed
    older = _options_named(_header_of_a_run_recording(config, tmp_path, "older"))
    assert "backoff_max_s=300.0" in older


def test_an_unreadable_recorded_config_stays_inside_the_comment_header(tmp_path: Path) -> None:
    config = asdict(EvolutionConfig())
    config["evaluator"]["no_such\nfield"] = 1  # an edited database
    header = _header_of_a_run_recording(config, tmp_path, "edited")
    assert all(line.startswith("#") for line in header.splitlines() if line)
    assert "unreadable: evaluator.no_such field: unknown field" in header
