"""Engine A/B: the decision probe off (before) and on (after), same budget, same seeds.

Each arm is the bin-packing campaign's first attempt (``docs/campaigns/binpack-first.yaml``,
the config the recorded A/B ran on) with a sample budget instead of a time budget, one
sandbox worker and one proposal in flight, so runs compare; the arms differ only in
``evaluator.probe_decisions``. Per run it reports wall time, samples per minute, full
evaluations, duplicates (and how many the probe caught), runs stopped by the screen,
the best training fitness and the best program's fitness on the held-out validation
scenarios.

The *audit* reruns the screen for every candidate the probe called a duplicate and
checks that its placements equal a program known by then: a miss is a *false
duplicate*, behaviour the probe threw away. It runs after the timed search, so it does
not count in the wall time.

It then replays the programs of the probe-off runs through probes of other sizes and
depths (``--variants``) to show what each would have caught, missed and mistaken.

Run (one run at a time; needs nothing but the repository; about 20 minutes on the shared
two-core machine for five seeds)::

    nice -n 19 .venv/bin/python -m benchmarks.engine_ab --samples 400 --seeds 1 2 3 4 5
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from heuristics.evolve.config import EvolutionConfig, load_config, validate_config
from heuristics.evolve.database import ProgramDatabase
from heuristics.evolve.engine import DATABASE_FILE, Engine
from heuristics.sandbox import Sandbox, SandboxLimits

__all__ = ["main", "run_arm"]

ROOT = Path(__file__).resolve().parents[1]
CAMPAIGN = ROOT / "docs" / "campaigns" / "binpack-first.yaml"


def arm_config(base: EvolutionConfig, seed: int, samples: int, probe: int) -> EvolutionConfig:
    """``base`` with a sample budget, one worker, the given search seed and probe size."""
    config = dataclasses.replace(
        base,
        seed=seed,
        budget=dataclasses.replace(base.budget, samples=samples, time_s=None, cost_usd=None),
        executor=dataclasses.replace(base.executor, workers=1, proposals_in_flight=1),
        evaluator=dataclasses.replace(base.evaluator, probe_decisions=probe),
    )
    return validate_config(config, "engine A/B")


def run_arm(config: EvolutionConfig, run_dir: Path, *, audit: bool) -> dict[str, Any]:
    """One search; returns its figures (and the probe audit when ``audit``)."""
    engine = Engine(config, run_dir, progress=None)
    try:
        summary = asyncio.run(engine.run())
        validation = asyncio.run(engine.validate(()))
        db = engine.db
        sampled = list(db.programs("sample IS NOT NULL"))
        by_status: dict[str, int] = {}
        for program in sampled:
            by_status[program.status] = by_status.get(program.status, 0) + 1
        probe_dups = [p for p in sampled if p.status == "duplicate" and _by_probe(p.errors)]
        row: dict[str, Any] = {
            "seed": config.seed,
            "probe": config.evaluator.probe_decisions,
            "samples": len(sampled),
            "wall_s": summary.wall_s,
            "evaluated": by_status.get("evaluated", 0),
            "duplicates": by_status.get("duplicate", 0),
            "probe_duplicates": len(probe_dups),
            "screened": by_status.get("screened", 0),
            "failed": by_status.get("failed", 0),
            "best": summary.best.score if summary.best else None,
            "best_id": summary.best.id if summary.best else None,
            "validation": next(
                (v.get("validation_score") for k, v in validation.items() if "evolved" in k),
                None,
            ),
        }
        if audit and probe_dups:
            row["false_duplicates"] = asyncio.run(_audit(engine, probe_dups))
        return row
    finally:
        engine.close()


def _by_probe(errors: Sequence[str]) -> bool:
    return any("probe" in e for e in errors)


async def _audit(engine: Engine, probe_dups: list[Any]) -> int:
    """Probe duplicates whose screen placements match no program known before them."""
    extra: set[int] = set()  # screen signatures of audited probe duplicates
    misses = 0
    for program in probe_dups:
        known = engine.db.signatures(upto=program.sample - 1) | extra
        task = engine.evaluator.task([engine.config.evaluator.screen])
        result = await engine.executor.run(program.source, task, 60.0)
        if not result.ok or result.value is None:
            continue
        signature = int(result.value["signature"])
        misses += signature not in known
        extra.add(signature)
    return misses


def probe_variants(
    config: EvolutionConfig, run_dirs: Sequence[Path], variants: Sequence[tuple[int, int]]
) -> list[dict[str, Any]]:
    """How probes of other sizes and depths would have judged the programs of probe-off runs.

    Replays each run's programs in sample order: a program is *caught* when the screen
    found it a duplicate and its probe signature is known by then, *missed* when the
    screen found it a duplicate and the probe did not, *false* when the screen found new
    behaviour but the probe signature is known. Programs are run in a sandbox.
    """
    ref = config.evaluator.screen
    entry = {**dataclasses.asdict(ref), "label": ref.label}
    rows = []
    with Sandbox(1, SandboxLimits(preload=(entry,), data_dir=config.evaluator.data_dir)) as box:
        for decisions, depth in variants:
            counts = {"decisions": decisions, "depth": depth, "caught": 0, "missed": 0,
                      "false": 0, "new": 0}  # fmt: skip
            task = {"kind": "decisions", "scenario": entry, "decisions": decisions,
                    "depth": depth, "data_dir": config.evaluator.data_dir,
                    "simulation": dataclasses.asdict(config.evaluator.simulation)}  # fmt: skip
            for run_dir in run_dirs:
                db = ProgramDatabase(run_dir / DATABASE_FILE, config.database)
                known: set[int] = set()
                programs = db.programs(
                    "(kind='seed' OR sample IS NOT NULL) AND source IS NOT NULL"
                    " AND status IN ('evaluated', 'screened', 'duplicate')"
                    " AND errors NOT LIKE '%same program as a known one%'"
                )
                for program in sorted(
                    programs, key=lambda p: (-1 if p.sample is None else p.sample, p.id)
                ):
                    result = box.run(program.source, task, 60.0)
                    value = result.value if result.ok and result.value else {}
                    signature = value.get("signature")
                    if program.sample is not None:
                        flagged = signature is not None and signature in known
                        if program.status == "duplicate":
                            counts["caught" if flagged else "missed"] += 1
                        else:
                            counts["new"] += 1
                            counts["false"] += flagged
                    if signature is not None:
                        known.add(int(signature))
                db.close()
            rows.append(counts)
            print(f"probe variant {counts}", file=sys.stderr, flush=True)
    return rows


def _variants_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| probe decisions | nodes per decision | duplicates caught | duplicates missed"
        " | new behaviours | called duplicates (false) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['decisions']} | {r['depth']} | {r['caught']} | {r['missed']} | {r['new']}"
            f" | {r['false']} |"
        )
    return "\n".join(lines)


def _table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| seed | probe | wall s | samples/min | evaluated | duplicates (by probe) | screened"
        " | false duplicates | best train | validation of best |\n"
        "|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for r in rows:
        rate = r["samples"] / (r["wall_s"] / 60)
        false = r.get("false_duplicates", "-" if not r["probe"] else 0)
        lines.append(
            f"| {r['seed']} | {r['probe'] or 'off'} | {r['wall_s']:.0f} | {rate:.0f}"
            f" | {r['evaluated']} | {r['duplicates']} ({r['probe_duplicates']}) | {r['screened']}"
            f" | {false} | {_pct(r['best'])} | {_pct(r['validation'])} |"
        )
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{-value:.3f} %"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.engine_ab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--config", type=Path, default=CAMPAIGN)
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--probes", type=int, nargs="+", default=[0, 256],
                        help="probe_decisions of each arm (0 = probe off, the 'before')")  # fmt: skip
    parser.add_argument("--no-audit", action="store_true", help="skip the false-duplicate audit")
    parser.add_argument("--run-root", type=Path, help="keep the run directories here")
    parser.add_argument("--variants", nargs="*", default=["256x1", "256x2", "1024x1", "1024x2"],
                        help="probe DECISIONSxDEPTH to replay on the probe-off runs")  # fmt: skip
    args = parser.parse_args(argv)
    base = load_config(args.config)
    rows = []
    with tempfile.TemporaryDirectory(prefix="engine-ab-") as scratch:
        root = args.run_root or Path(scratch)
        for seed in args.seeds:
            for probe in args.probes:
                config = arm_config(base, seed, args.samples, probe)
                run_dir = root / f"seed{seed}-probe{probe}"
                row = run_arm(config, run_dir, audit=not args.no_audit)
                rows.append(row)
                print(f"seed {seed} probe {probe}: {row}", file=sys.stderr, flush=True)
        offs = [root / f"seed{seed}-probe0" for seed in args.seeds if 0 in args.probes]
        variants = [(int(v.split("x")[0]), int(v.split("x")[1])) for v in args.variants]
        replayed = probe_variants(base, offs, variants) if offs and variants else []
    print(f"bin packing ({args.config.name}), {args.samples} samples, 1 worker")
    print(_table(rows))
    if replayed:
        print(f"\nprobe variants replayed on the probe-off runs (seeds {args.seeds})")
        print(_variants_table(replayed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
