"""The shadow-mode counterfactual computed from a recording counts, per recorded binding,
what the extender in shadow mode counts: one decision per binding made while recording, and
stranded capacity saved or lost by the heuristic's node against the baseline's."""

from __future__ import annotations

from pathlib import Path

from recording_builder import write_contended

from cluster_traces.recording import load_recording
from cluster_traces.recording_writer import NodeRecord, PodRecord, RecordingWriter
from heuristics.registry import resolve
from k8s_plugin.recorder_shadow import shadow_replay


def test_a_heuristic_against_itself_never_differs(tmp_path: Path) -> None:
    recording = load_recording(write_contended(tmp_path / "rec"))
    fgd = resolve("fgd").heuristic
    report = shadow_replay(recording, fgd, fgd)
    assert report.decisions == 30  # the 30 bound pods of the 40
    assert report.differing == 0
    assert report.recovered == {} and report.lost == {}


def test_different_policies_count_recovered_and_lost_per_resource(tmp_path: Path) -> None:
    recording = load_recording(write_contended(tmp_path / "rec"))
    report = shadow_replay(recording, resolve("best-fit").heuristic, resolve("fgd").heuristic)
    assert report.differing > 0
    assert set(report.recovered) | set(report.lost) <= {"gpu", "cpu", "memory"}
    assert all(v > 0 for v in [*report.recovered.values(), *report.lost.values()])
    assert report.unbookable == 0


def test_pods_placed_before_the_recording_and_bindings_that_do_not_fit_are_not_decisions(
    tmp_path: Path,
) -> None:
    with RecordingWriter(tmp_path) as writer:
        writer.node("add", NodeRecord("small", 1000, 1024, 0), 0.0)
        writer.created(PodRecord("old", "ns", "old", "s", 500, 512), 0.0)
        writer.bound("old", "small", 0.0)
        writer.created(PodRecord("big", "ns", "big", "s", 900, 512), 1.0)
        writer.bound("big", "small", 1.5)  # overcommitted by another scheduler
        writer.created(PodRecord("lost", "ns", "lost", "s", 100, 100), 2.0)
        writer.bound("lost", "gone-node", 2.5)
    report = shadow_replay(load_recording(tmp_path), resolve("fgd").heuristic,
                           resolve("best-fit").heuristic)  # fmt: skip
    assert report.decisions == 2
    assert report.unbookable == 2
