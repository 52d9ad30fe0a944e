"""``binforge report RUN_DIR``: one self-contained HTML page with inline plots, the winner's
code and lineage, its training and held-out results against every baseline, proposer
costs and failure reasons, read from the run's real SQLite program database."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from run_dir_builder import WINNER_SOURCE, build_run

from binforge.cli import main
from heuristics.evolve.report import render_report, write_report
from heuristics.evolve.run_record import RunDirError, lineage, load_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    run_dir = tmp_path_factory.mktemp("runs") / "run-a"
    return run_dir, build_run(run_dir)


@pytest.fixture(scope="module")
def page(run: tuple[Path, int]) -> str:
    return write_report(run[0]).read_text(encoding="utf-8")


def _cells(page: str, first: str) -> list[list[str]]:
    rows = re.findall(rf"<tr[^>]*><td>{re.escape(first)}</td>(.*?)</tr>", page)
    return [re.findall(r"<td>(.*?)</td>", row) for row in rows]


def test_the_report_is_self_contained_with_two_inline_png_plots(page: str) -> None:
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    assert len(images) == 2
    assert all(base64.b64decode(image).startswith(PNG_MAGIC) for image in images)
    assert not re.search(r"(src|href)=['\"]?(https?:|/|\.\.)", page)
    assert page.startswith("<!DOCTYPE html>")


def _section(page: str, title: str) -> str:
    return page.split(f"<h2>{title}</h2>", 1)[1].split("<h2>", 1)[0]


def test_the_winner_is_compared_with_every_baseline_on_training_and_held_out(page: str) -> None:
    section = _section(page, "Winner against the baselines")
    training, held_out = section.split("<h3>held-out validation</h3>")
    for label, train, valid in (
        ("winner", "95", "93.5"),
        ("best-fit", "88", "87.25"),
        ("fgd", "90.5", "89"),
    ):
        assert _cells(training, label)[0][0] == train
        assert _cells(held_out, label)[0][0] == valid
    assert "error: train: timeout after 60 s" in page
    assert "synthetic#101" in page and "held-out validation" in page


def test_the_winners_code_is_shown_escaped(page: str) -> None:
    assert "(nodes.gpu_idle &lt; nodes.gpu_total)" in page
    assert "&quot;&quot;&quot;Best fit with a bonus" in page
    assert "<b>this</b>" not in page


def test_the_lineage_follows_parents_back_to_the_seed(run: tuple[Path, int]) -> None:
    record = load_run(run[0])
    chain = lineage(record.programs, run[1])
    assert chain[0] == (0, record.winner)
    assert [p.sample for _, p in chain] == [9, 3, 1, None]
    assert chain[-1][1].kind == "seed"


def test_costs_and_tokens_are_summed_per_proposer_and_model(page: str) -> None:
    flash = _cells(page, "gemini")
    by_model = {row[0]: row for row in flash}
    assert by_model["gemini-3.5-flash"][1:4] == ["9", "7", "6"]
    assert by_model["gemini-3.1-pro-preview"][1] == "3"
    (total,) = _cells(page, "total")
    assert total[5:] == [str(12 * 800), str(12 * 150), f"{12 * 0.000615:.4f}"]


def test_failure_reasons_are_counted(page: str) -> None:
    assert _cells(page, "no_code") == [["2"]]
    assert _cells(page, "screen: HeuristicError") == [["1"]]


def test_a_run_without_final_results_still_reports_its_progress(tmp_path: Path) -> None:
    build_run(tmp_path / "r", with_validation=False)
    record = load_run(tmp_path / "r")
    assert record.results == {}
    assert record.winner is not None and record.winner.source == WINNER_SOURCE
    assert "No final results were recorded" in render_report(record)


def test_a_run_where_nothing_was_evaluated_reports_that(tmp_path: Path) -> None:
    build_run(tmp_path / "r", evaluated=False)
    html = render_report(load_run(tmp_path / "r"))
    assert "No program was evaluated successfully." in html
    assert "data:image/png" not in html


def test_a_directory_without_a_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match=r"no program database programs\.sqlite"):
        load_run(tmp_path)
    with pytest.raises(RunDirError, match="not a directory"):
        load_run(tmp_path / "missing")


def test_the_cli_writes_the_report_where_asked(
    run: tuple[Path, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.html"
    assert main(["report", str(run[0]), "--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8").count("data:image/png") == 2
    assert str(out) in capsys.readouterr().out


def test_the_cli_reports_a_bad_run_dir_with_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert "binforge report: error: run directory" in capsys.readouterr().err


def test_reading_a_run_leaves_its_database_unchanged_even_from_before_the_probe(
    tmp_path: Path,
) -> None:
    # report, export and select only read: a run recorded before the probe column existed
    # must not be migrated by reading it (its directory may be read-only, or shared)
    import sqlite3

    from heuristics.evolve.engine import DATABASE_FILE

    run = tmp_path / "old-run"
    winner = build_run(run)
    database = run / DATABASE_FILE
    connection = sqlite3.connect(database)
    connection.execute("ALTER TABLE programs DROP COLUMN probe_signature")
    connection.execute("PRAGMA journal_mode=DELETE")
    connection.close()
    before = database.read_bytes()
    record = load_run(run)
    assert record.winner is not None and record.winner.id == winner
    assert database.read_bytes() == before
    assert sorted(p.name for p in run.iterdir()) == [DATABASE_FILE]
