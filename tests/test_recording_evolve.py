"""``binforge evolve`` runs on a recorded cluster: ``DIR:train`` and ``DIR:validation`` are
the time-based split of the recording, scored as any other scenario."""

from __future__ import annotations

from pathlib import Path

import pytest
from recording_builder import write_contended

from binforge.cli import main


@pytest.mark.slow
def test_evolve_trains_and_validates_on_the_time_split_of_a_recording(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    recording = write_contended(tmp_path / "rec")
    code = main(
        ["evolve", "--scenario", f"{recording}:train", "--validate", f"{recording}:validation",
         "--budget-samples", "4", "--budget-time", "60s", "--workers", "1",
         "--run-dir", str(tmp_path / "run"), "--quiet"]
    )  # fmt: skip
    assert code == 0
    table = capsys.readouterr().out
    header = next(line for line in table.splitlines() if line.startswith("heuristic"))
    assert f"train:{recording}:train" in header
    assert f"validation:{recording}:validation" in header
    assert "best-fit" in table and "evolved #" in table
