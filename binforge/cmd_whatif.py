"""``binforge whatif``: what each candidate policy would recover on a recorded cluster.

Replays a recording (docs/recording.md) under the current policy and each candidate with
the simulator's ``replay`` protocol, over seeds, and reports per resource the stranded
capacity of each policy, the compute each candidate recovers against the current one
(paired by seed), and failed and pending pods, as a table, JSON and plots; and, along the
recorded placements, the counterfactual the extender in shadow mode would report
(:func:`k8s_plugin.recorder_shadow.shadow_replay`).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from binforge._compare import check_outputs, emit, progress_printer, resolve_policies
from binforge.errors import UserError

__all__ = ["register"]

# (JSON key, metric, capacity total key, unit divisor, table header)
_STRANDED = (
    ("gpus", "stranded_gpu_share_mean", "gpu", 1, "stranded GPUs"),
    ("cpu_cores", "stranded_cpu_share_mean", "cpu_milli", 1000, "stranded cores"),
    ("memory_gib", "stranded_memory_share_mean", "memory_mib", 1024, "stranded GiB"),
)
_PODS = ("pods_failed", "pods_pending_end")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``whatif``."""
    parser = subparsers.add_parser(
        "whatif",
        help="predict what candidate policies recover on a recorded cluster",
        description="Replay a recorded cluster (binforge traces record) under CURRENT and "
        "each CANDIDATE; report stranded capacity, recovered compute against CURRENT, failed "
        "and pending pods, mean ± std over seeds.",
    )
    parser.add_argument(
        "--trace", required=True, help="recording directory (DIR, DIR:train, DIR:0-600, ...)"
    )
    parser.add_argument(
        "--policy",
        required=True,
        help="CURRENT,CANDIDATE[,...]: registered heuristics, winners or .py files",
    )
    parser.add_argument("--seeds", type=int, default=3, help="run seeds 0..N-1 (default 3)")
    parser.add_argument("--json", metavar="PATH|-", help="write the results as JSON (- = stdout)")
    parser.add_argument("--out", type=Path, help="directory for whatif.json and PNG plots")
    parser.set_defaults(func=_whatif)


def _spread(values: list[float]) -> dict[str, float]:
    array = np.array(values, dtype=np.float64)
    if not len(array) or np.isnan(array).all():
        return {"mean": math.nan, "std": math.nan}
    return {"mean": float(np.nanmean(array)), "std": float(np.nanstd(array))}


def _report(comparison: Any, totals: dict[str, int], current: str) -> dict[str, Any]:
    """Per policy: stranded capacity and pods per seed spread; recovered paired by seed."""
    by_name = {p.name: p for p in comparison.policies}
    baseline = by_name[current].runs
    out: dict[str, Any] = {}
    for policy in comparison.policies:
        entry: dict[str, Any] = {"stranded": {}, "recovered": {}}
        for key, metric, total, divisor, _ in _STRANDED:
            capacity = totals.get(total, 0) / divisor
            mine = [r.metrics.get(metric, math.nan) * capacity for r in policy.runs]
            theirs = [r.metrics.get(metric, math.nan) * capacity for r in baseline]
            entry["stranded"][key] = _spread(mine)
            if policy.name != current:
                entry["recovered"][key] = _spread(
                    [b - m for m, b in zip(mine, theirs, strict=True)]
                )
        for metric in _PODS:
            entry[metric] = _spread([r.metrics.get(metric, math.nan) for r in policy.runs])
        out[policy.name] = entry
    return out


def _shadow(report: Any) -> dict[str, Any]:
    return {
        "decisions": report.decisions,
        "differing": report.differing,
        "recovered": dict(report.recovered),
        "lost": dict(report.lost),
        "net": report.net,
        "unbookable": report.unbookable,
    }


def _cell(spread: dict[str, float], sign: bool = False) -> str:
    if math.isnan(spread["mean"]):
        return "-"
    return f"{spread['mean']:{'+' if sign else ''}.2f} ± {spread['std']:.2f}"


def _table(document: dict[str, Any]) -> str:
    header = ["policy", *(h for *_, h in _STRANDED), "failed pods", "pending at end"]
    rows = []
    for name, entry in document["policies"].items():
        label = f"{name} (current)" if name == document["current"] else name
        rows.append(
            [
                label,
                *(_cell(entry["stranded"][k]) for k, *_ in _STRANDED),
                *(_cell(entry[m]) for m in _PODS),
            ]
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    observed = document["observed"]
    lines = [
        f"whatif {document['trace']}: {observed['pods']} pods on {observed['nodes']} nodes, "
        f"seeds {document['seeds']}, mean ± std (time-averaged stranded capacity)",
        f"recorded cluster: {observed['bound']} pods bound, {observed['never_bound']} never bound",
        "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
        *("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows),
        f"recovered compute vs {document['current']} (paired by seed, mean ± std):",
    ]
    for name, entry in document["policies"].items():
        if name != document["current"]:
            amounts = ", ".join(f"{_cell(v, True)} {k}" for k, v in entry["recovered"].items())
            lines.append(f"  {name}: {amounts}")
    lines.append(
        f"shadow-mode counterfactual vs {document['current']} along the recorded placements "
        "(what `binforge serve --mode shadow` would count):"
    )
    for name, shadow in document["shadow"].items():
        net = shadow["net"]
        lines.append(
            f"  {name}: {shadow['differing']} of {shadow['decisions']} decisions differ; net "
            f"{net.get('gpu', 0.0):+.2f} gpus, {net.get('cpu', 0.0):+.2f} cpu_cores, "
            f"{net.get('memory', 0.0) / 2**30:+.2f} memory_gib"
        )
    return "\n".join(lines)


def _whatif(args: argparse.Namespace) -> int:
    from cluster_traces.recording import load_recording, split_recording_name
    from cluster_traces.scenarios import ScenarioError, load_scenario
    from heuristics.contract import HeuristicError
    from k8s_plugin.recorder_shadow import shadow_replay
    from simulator.compare import compare
    from simulator.report import plot_curves, to_json

    names = [n.strip() for n in args.policy.split(",") if n.strip()]
    if len(names) < 2 or len(set(names)) != len(names):
        raise UserError("--policy: expected CURRENT,CANDIDATE[,...] with distinct names")
    if args.seeds < 1:
        raise UserError(f"--seeds: expected a positive count, got {args.seeds}")
    check_outputs(args.json, args.out)
    recorded = split_recording_name(args.trace)
    if recorded is None:
        raise UserError(f"--trace: {args.trace!r} is not a recording directory (no meta.json)")
    try:
        scenario = load_scenario(args.trace, protocol="replay")
    except ScenarioError as exc:
        raise UserError(f"--trace: {exc}") from exc
    policies = resolve_policies(names)
    quiet = args.json == "-"
    progress = progress_printer("replaying under", quiet=quiet)
    try:
        comparison = compare(scenario, policies, range(args.seeds), policies[0], progress)
    except HeuristicError as exc:
        raise UserError(f"whatif {args.trace}: {exc}") from exc
    assert scenario.cluster is not None and scenario.workload is not None
    recording = load_recording(recorded[0])
    bound = sum(1 for node in recording.bound_node if node)
    document = {
        "trace": args.trace,
        "current": names[0],
        "seeds": list(range(args.seeds)),
        "observed": {
            "pods": len(scenario.workload),
            "nodes": len(scenario.cluster),
            "bound": bound,
            "never_bound": len(recording.bound_node) - bound,
        },
        "policies": _report(comparison, scenario.cluster.totals(), names[0]),
        "shadow": {
            name: _shadow(shadow_replay(recording, heuristic, policies[0][1]))
            for name, heuristic in policies[1:]
        },
        "comparison": to_json(comparison),
    }
    emit(document, lambda: _table(document), args.json)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "whatif.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
        written = plot_curves(comparison, args.out)
        if not quiet:
            print(f"wrote {args.out}/whatif.json and {len(written)} plot(s)")
    return 0
