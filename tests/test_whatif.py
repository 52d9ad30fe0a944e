"""``binforge whatif`` replays a recording under the current policy and candidates (registry
names or files) and reports stranded capacity per resource, recovered compute against the
current policy paired by seed, failed and pending pods, as a table, JSON and plots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from recording_builder import write_contended

from binforge.cli import main

PREFER_LAST = "def score(pod, nodes, ctx):\n    return nodes.index.astype(float)\n"


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    return write_contended(tmp_path / "rec")


def test_whatif_reports_stranded_capacity_and_recovery_against_the_current_policy(
    recording: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    candidate = tmp_path / "prefer_last.py"
    candidate.write_text(PREFER_LAST)
    out = tmp_path / "out"
    code = main(
        ["whatif", "--trace", str(recording), "--policy", f"first-fit,best-fit,{candidate}",
         "--seeds", "2", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    table = capsys.readouterr().out
    assert "first-fit (current)" in table and "recovered compute vs first-fit" in table
    assert "40 pods on 3 nodes" in table and "30 pods bound, 10 never bound" in table
    document = json.loads((out / "whatif.json").read_text())
    assert document["current"] == "first-fit"
    assert list(document["policies"]) == ["first-fit", "best-fit", str(candidate)]
    current = document["policies"]["first-fit"]
    assert current["recovered"] == {}
    for name in ("best-fit", str(candidate)):
        entry = document["policies"][name]
        for unit in ("gpus", "cpu_cores", "memory_gib"):
            expected = current["stranded"][unit]["mean"] - entry["stranded"][unit]["mean"]
            assert entry["recovered"][unit]["mean"] == pytest.approx(expected, abs=1e-9)
        assert entry["pods_failed"]["mean"] >= 0 and entry["pods_pending_end"]["mean"] >= 0
    # Stranded GPUs cannot exceed the 24 GPUs the cluster has.
    assert all(0 <= p["stranded"]["gpus"]["mean"] <= 24 for p in document["policies"].values())
    # Shadow mode along the 30 recorded bindings: one decision each, net = recovered - lost.
    shadow = document["shadow"]["best-fit"]
    assert shadow["decisions"] == 30 and 0 <= shadow["differing"] <= 30
    for resource, net in shadow["net"].items():
        expected = shadow["recovered"].get(resource, 0) - shadow["lost"].get(resource, 0)
        assert net == pytest.approx(expected)
    assert "first-fit" not in document["shadow"]
    assert document["comparison"]["protocol"] == "replay"
    assert len(document["comparison"]["policies"]["best-fit"]["runs"]) == 2
    assert sorted(p.name for p in out.glob("*.png"))


def test_whatif_json_to_stdout_is_the_whole_document(
    recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["whatif", "--trace", f"{recording}:train", "--policy", "kube-default,fgd",
                 "--seeds", "1", "--json", "-"]) == 0  # fmt: skip
    document = json.loads(capsys.readouterr().out)
    assert document["observed"]["pods"] < 40  # the train window only
    assert set(document["policies"]["fgd"]["recovered"]) == {"gpus", "cpu_cores", "memory_gib"}


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("best-fit", "CURRENT,CANDIDATE"),
        ("best-fit,best-fit", "distinct"),
        ("best-fit,no-such-policy", "unknown heuristic 'no-such-policy'"),
    ],
)
def test_whatif_refuses_bad_policies_with_a_clear_error(
    recording: Path, policy: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["whatif", "--trace", str(recording), "--policy", policy]) == 2
    assert message in capsys.readouterr().err


def test_whatif_refuses_a_directory_that_is_not_a_recording(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["whatif", "--trace", str(tmp_path), "--policy", "best-fit,fgd"]) == 2
    assert "not a recording directory" in capsys.readouterr().err


def test_whatif_names_the_malformed_line_of_a_broken_recording(
    recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with (recording / "events.jsonl").open("a") as handle:
        handle.write('{"t_s": "soon", "event": "deleted", "uid": "u1"}\n')
    assert main(["whatif", "--trace", str(recording), "--policy", "best-fit,fgd"]) == 2
    assert "events.jsonl: line" in capsys.readouterr().err
