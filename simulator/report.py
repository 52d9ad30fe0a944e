"""A comparison as a text table, JSON, CSV and PNG plots (matplotlib, Agg backend)."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np

from simulator.compare import HEADLINE_METRICS, Comparison

__all__ = ["format_table", "plot_curves", "to_json", "write_csv"]


def _cell(mean: float, std: float) -> str:
    if math.isnan(mean):
        return "-"
    digits = 2 if abs(mean) >= 1 or mean == 0 else 4
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def format_table(comparison: Comparison) -> str:
    """Mean ± standard deviation over seeds of the protocol's headline metrics per policy,
    then the compute each policy recovers against the baseline."""
    columns = list(HEADLINE_METRICS.get(comparison.protocol, ()))
    summaries = {p.name: p.summary() for p in comparison.policies}
    columns = [c for c in columns if any(c in s for s in summaries.values())]
    header = ["policy", *columns]
    rows = [
        [name, *(_cell(*s.get(c, (math.nan, math.nan))) for c in columns)]
        for name, s in summaries.items()
    ]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        f"scenario {comparison.scenario} ({comparison.protocol}), "
        f"seeds {list(comparison.seeds)}, mean ± std",
        "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    if comparison.recovered:
        lines.append(f"recovered compute vs {comparison.baseline} (same scenario and seeds):")
        for name, amounts in comparison.recovered.items():
            text = ", ".join(f"{v:+.2f} {unit}" for unit, v in amounts.items()) or (
                "not stated: heuristic errors were counted, and the pods left out would "
                "count as recovered"
            )
            lines.append(f"  {name}: {text}")
    return "\n".join(lines)


def to_json(comparison: Comparison) -> dict[str, Any]:
    """Everything measured, JSON-ready: per policy, summary (mean, std) and per-seed runs."""
    return {
        "scenario": comparison.scenario,
        "protocol": comparison.protocol,
        "seeds": list(comparison.seeds),
        "baseline": comparison.baseline,
        "policies": {
            p.name: {
                "summary": {k: {"mean": m, "std": s} for k, (m, s) in p.summary().items()},
                "runs": [
                    {
                        "seed": r.seed,
                        "metrics": dict(r.metrics),
                        "elapsed_s": r.elapsed_s,
                        "errors": list(r.errors),
                    }
                    for r in p.runs
                ],
                "recovered_vs_baseline": dict(comparison.recovered.get(p.name, {})),
            }
            for p in comparison.policies
        },
    }


def write_csv(comparison: Comparison, path: Path) -> None:
    """One row per (policy, seed) with every metric as a column."""
    keys = sorted({k for p in comparison.policies for r in p.runs for k in r.metrics})
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["scenario", "protocol", "policy", "seed", *keys, "elapsed_s"])
        for p in comparison.policies:
            for r in p.runs:
                values = [r.metrics.get(k, "") for k in keys]
                writer.writerow(
                    [comparison.scenario, comparison.protocol, p.name, r.seed, *values, r.elapsed_s]
                )


def plot_curves(comparison: Comparison, out_dir: Path) -> list[Path]:
    """One PNG per curve (e.g. allocation vs arrived workload), a line per policy.

    Each line is the mean over seeds, interpolated onto the first seed's x values.
    Returns the written paths (none for protocols without curves).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted({n for p in comparison.policies for r in p.runs for n in r.curves})
    written = []
    for name in names:
        figure, axes = plt.subplots(figsize=(7, 4.5))
        x_name = ""
        for policy in comparison.policies:
            curves = [r.curves[name] for r in policy.runs if name in r.curves]
            if not curves or len(curves[0].x) == 0:
                continue
            x = curves[0].x
            y = np.mean([np.interp(x, c.x, c.y) for c in curves], axis=0)
            x_name = curves[0].x_name
            axes.plot(x, y, label=policy.name)
        axes.set_xlabel(x_name)
        axes.set_ylabel(name)
        axes.set_title(f"{comparison.scenario}: {name}")
        axes.grid(alpha=0.3)
        axes.legend()
        path = out_dir / f"{name}.png"
        figure.tight_layout()
        figure.savefig(path, dpi=100)
        plt.close(figure)
        written.append(path)
    return written
