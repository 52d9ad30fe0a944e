"""``binforge report RUN_DIR``: one self-contained HTML page about an evolution run.

Everything is read from the run directory: the program database (SQLite) and the final
results the engine stores for the winner and the baselines in the database's
``validation`` meta entry (the output of
:meth:`heuristics.evolve.evaluator.Evaluator.validate` per heuristic). The page holds:
best and median fitness over samples, per-island progress, the winner's lineage, its
code, its training and held-out results against every baseline, proposals, tokens and
cost per proposer and model, and why proposals failed. Plots are PNG images drawn with
matplotlib's Agg backend and inlined as base64, so the file needs nothing else.
"""

from __future__ import annotations

import base64
import html
import io
import json
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from heuristics.evolve.database import Program
from heuristics.evolve.run_record import (
    VALIDATION_META,
    WINNER,
    RunDirError,
    RunRecord,
    lineage,
    load_run,
)

__all__ = ["RunDirError", "render_report", "write_report"]

SEED_SAMPLE = -1
"""Where the seed programs appear on the plots' sample axis."""


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the HTML report (default ``RUN_DIR/report.html``); returns its path.

    Raises:
        RunDirError: when the run directory cannot be read.
        OSError: when the report cannot be written.
    """
    record = load_run(run_dir)
    target = Path(out) if out is not None else record.run_dir / "report.html"
    target.write_text(render_report(record), encoding="utf-8")
    return target


def render_report(record: RunRecord) -> str:
    """The report page as one HTML string (plots inlined)."""
    scored = [p for p in record.programs if p.sample is not None]
    points = _points(record.programs)
    sections = [
        _section("Run", _run_table(record)),
        _section("Fitness over samples", _image(_plot_progress(points)) or _EMPTY),
        _section("Per-island progress", _image(_plot_islands(points)) or _EMPTY),
        _section("Winner against the baselines", _results_tables(record.results)),
        _section("Winner's code", _winner_code(record.winner)),
        _section("Lineage of the winner", _lineage_html(record)),
        _section("Proposers, tokens and cost", _proposer_table(scored, record.tokens)),
        _section("Why proposals failed", _failure_table(scored)),
    ]
    title = f"binforge run {record.run_dir.name}"
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{_e(title)}</h1>"
        f"<p class='note'>Generated {datetime.now(UTC):%Y-%m-%d %H:%M UTC} from {_e(str(record.database))}. "
        "Fitness is higher-is-better (minimised objectives enter negated).</p>"
        + "".join(sections)
        + "</body></html>\n"
    )


# -- plots ---------------------------------------------------------------------------------


def _figure() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    return plt.subplots(figsize=(8, 3.6), dpi=90)


def _png(fig: Any) -> str:
    from matplotlib import pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _points(programs: Iterable[Program]) -> list[tuple[int, int, float]]:
    """(sample, island, fitness) of every evaluated program; seeds count as sample -1."""
    out = []
    for p in programs:
        if p.status != "evaluated" or p.score is None:
            continue
        if p.sample is not None:
            out.append((p.sample, p.island, p.score))
        elif p.kind == "seed":
            out.append((SEED_SAMPLE, p.island, p.score))
    return sorted(out)


def _plot_progress(points: Sequence[tuple[int, int, float]]) -> str | None:
    if not points:
        return None
    samples: list[int] = []
    best: list[float] = []
    median: list[float] = []
    seen: list[float] = []
    for sample, _, score in points:
        seen.append(score)
        samples.append(sample)
        best.append(max(seen))
        median.append(statistics.median(seen))
    fig, ax = _figure()
    ax.scatter([p[0] for p in points], [p[2] for p in points], s=8, alpha=0.35, label="evaluated")
    ax.step(samples, best, where="post", label="best so far", linewidth=2)
    ax.plot(samples, median, label="median so far", linestyle="--")
    ax.set_xlabel(f"sample ({SEED_SAMPLE} = seeds)")
    ax.set_ylabel("fitness")
    ax.legend(loc="best")
    return _png(fig)


def _plot_islands(points: Sequence[tuple[int, int, float]]) -> str | None:
    if not points:
        return None
    by_island: dict[int, list[tuple[int, float]]] = {}
    for sample, island, score in points:
        by_island.setdefault(island, []).append((sample, score))
    fig, ax = _figure()
    for island in sorted(by_island):
        running, best = [], float("-inf")
        for _, score in by_island[island]:
            best = max(best, score)
            running.append(best)
        ax.step([s for s, _ in by_island[island]], running, where="post", label=f"island {island}")
    ax.set_xlabel(f"sample ({SEED_SAMPLE} = seeds)")
    ax.set_ylabel("best fitness on the island")
    ax.legend(loc="best", fontsize="small")
    return _png(fig)


# -- tables --------------------------------------------------------------------------------


def _run_table(record: RunRecord) -> str:
    counts = Counter(p.status for p in record.programs if p.sample is not None)
    rows: list[tuple[str, object]] = [("run directory", str(record.run_dir))]
    rows += [
        (str(k), _short(v))
        for k, v in sorted(record.meta.items())
        if k not in (VALIDATION_META, "config")
    ]
    rows.append(("samples", sum(counts.values())))
    rows += [(f"status {status}", n) for status, n in sorted(counts.items())]
    if record.winner is not None:
        w = record.winner
        rows.append(
            (
                "winner",
                f"#{w.id} (sample {w.sample}, island {w.island}, {w.proposer} {w.model}, fitness {_num(w.score)})",
            )
        )
    return _table(("field", "value"), rows)


def _results_tables(results: Mapping[str, Mapping[str, Any]]) -> str:
    if not results:
        return "<p>No final results were recorded for this run (the engine writes them when a run ends).</p>"
    names = (
        [WINNER, *sorted(k for k in results if k != WINNER)]
        if WINNER in results
        else sorted(results)
    )
    parts = []
    for stage, title in (("train", "training"), ("validation", "held-out validation")):
        scenarios = sorted({s for r in results.values() for s in r.get(f"{stage}_scores", {})})
        rows = []
        for name in names:
            r = results.get(name, {})
            if "error" in r:
                rows.append((name, f"error: {r['error']}", *["" for _ in scenarios]))
                continue
            per = r.get(f"{stage}_scores", {})
            rows.append(
                (name, _num(r.get(f"{stage}_score")), *(_num(per.get(s)) for s in scenarios))
            )
        parts.append(
            f"<h3>{_e(title)}</h3>"
            + _table(("heuristic", "fitness", *scenarios), rows, highlight=WINNER)
        )
        parts.append(_metric_table(results, names, stage))
    return "".join(parts)


def _metric_table(
    results: Mapping[str, Mapping[str, Any]], names: Sequence[str], stage: str
) -> str:
    """Raw simulator metrics averaged over the stage's scenarios, per heuristic."""
    rows = []
    columns: set[str] = set()
    averaged: dict[str, dict[str, float]] = {}
    for name in names:
        per_scenario = results.get(name, {}).get(stage, {})
        if not isinstance(per_scenario, Mapping):
            continue
        sums: dict[str, list[float]] = {}
        for metrics in per_scenario.values():
            if isinstance(metrics, Mapping):
                for key, value in metrics.items():
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        sums.setdefault(key, []).append(float(value))
        averaged[name] = {k: sum(v) / len(v) for k, v in sums.items()}
        columns.update(averaged[name])
    if not columns:
        return ""
    ordered = sorted(columns)[:12]
    for name in names:
        if name in averaged:
            rows.append((name, *(_num(averaged[name].get(c)) for c in ordered)))
    return "<p class='note'>Simulator metrics, mean over the scenarios:</p>" + _table(
        ("heuristic", *ordered), rows, highlight=WINNER
    )


def _winner_code(winner: Program | None) -> str:
    if winner is None or winner.source is None:
        return "<p>No program was evaluated successfully.</p>"
    return f"<pre><code>{_e(winner.source)}</code></pre>"


def _lineage_html(record: RunRecord) -> str:
    if record.winner is None:
        return _EMPTY
    chain = lineage(record.programs, record.winner.id)
    rows = [
        (g, f"#{p.id}", _num(p.sample), p.island, p.kind, f"{p.proposer} {p.model}".strip(),
         _num(p.score), ", ".join(f"#{i}" for i in p.parent_ids))
        for g, p in chain
    ]  # fmt: skip
    return _table(
        ("generation", "program", "sample", "island", "kind", "proposer", "fitness", "parents"),
        rows,
    )


def _proposer_table(
    programs: Sequence[Program], tokens: Mapping[tuple[str, str], tuple[int, int]]
) -> str:
    groups: dict[tuple[str, str], list[Program]] = {}
    for p in programs:
        groups.setdefault((p.proposer or "?", p.model), []).append(p)
    rows: list[tuple[object, ...]] = []
    for key, members in sorted(groups.items()):
        parsed = [p for p in members if p.source is not None]
        evaluated = [p for p in members if p.status == "evaluated" and p.score is not None]
        best = max((p.score or 0.0 for p in evaluated), default=None)
        used_in, used_out = tokens.get(key, (0, 0))
        rows.append((*key, len(members), len(parsed), len(evaluated), _num(best), used_in,
                     used_out, f"{sum(p.cost_usd for p in members):.4f}"))  # fmt: skip
    total_in = sum(i for i, _ in tokens.values())
    total_out = sum(o for _, o in tokens.values())
    rows.append(("total", "", len(programs), "", "", "", total_in, total_out,
                 f"{sum(p.cost_usd for p in programs):.4f}"))  # fmt: skip
    header = ("proposer", "model", "proposals", "parsed", "evaluated", "best fitness",
              "input tokens", "output tokens", "cost (USD)")  # fmt: skip
    return _table(header, rows)


def _failure_table(programs: Iterable[Program]) -> str:
    reasons = Counter(
        _reason(error)
        for p in programs
        if p.status in ("invalid", "failed", "duplicate")
        for error in (p.errors or (p.status,))
    )
    if not reasons:
        return "<p>No proposal failed.</p>"
    ranked: list[tuple[str, int]] = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    return _table(("reason", "count"), ranked)


def _reason(error: str) -> str:
    head = error.split(":", 1)[0].strip()
    if head in ("screen", "train") and ":" in error:
        rest = error.split(":", 2)
        return f"{head}: {rest[1].strip()[:60]}"
    return head[:60] or "unknown"


# -- HTML helpers --------------------------------------------------------------------------

_EMPTY = "<p>Nothing was evaluated yet.</p>"

_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ccc;padding:.25em .6em;"
    "text-align:left;font-size:.9em}th{background:#f0f0f0}tr.highlight{background:#fff6d5;font-weight:600}"
    "pre{background:#f6f8fa;padding:1em;overflow:auto}.note{color:#666;font-size:.9em}img{max-width:100%}"
)


def _section(title: str, body: str) -> str:
    return f"<section><h2>{_e(title)}</h2>{body}</section>"


def _image(png: str | None) -> str:
    return "" if png is None else f"<img alt='plot' src='data:image/png;base64,{png}'>"


def _table(
    header: Sequence[object], rows: Iterable[Sequence[object]], highlight: str | None = None
) -> str:
    head = "".join(f"<th>{_e(str(h))}</th>" for h in header)
    body = []
    for row in rows:
        cls = " class='highlight'" if highlight is not None and row and row[0] == highlight else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{_e(str(c))}</td>" for c in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _num(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _short(value: object, width: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= width else text[:width] + "…"


def _e(text: str) -> str:
    return html.escape(text, quote=True)
