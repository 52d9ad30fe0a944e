"""A small run directory written through the real program database, the way the engine
writes one: seeds, samples proposed by a model (some unusable), evaluations, a migration
copy, and the final ``validation`` table of the winner and two baselines."""

from __future__ import annotations

from pathlib import Path

from heuristics.evolve.config import DatabaseConfig
from heuristics.evolve.database import ProgramDatabase
from heuristics.evolve.engine import DATABASE_FILE

SEED = (
    "import numpy as np\n\n\ndef score(pod, nodes, ctx):\n"
    "    left = nodes.gpu_free - pod.gpu_milli_total\n    return -left.astype(float)\n"
)
WINNER_SOURCE = (
    "import numpy as np\n\n\ndef score(pod, nodes, ctx):\n"
    '    """Best fit with a bonus for nodes whose GPUs are not all idle."""\n'
    "    left = nodes.gpu_free - pod.gpu_milli_total\n"
    "    return -left.astype(float) + 0.1 * (nodes.gpu_idle < nodes.gpu_total)\n"
)


def _child(source: str, step: int) -> str:
    return source.replace("return -left.astype(float)", f"return -left.astype(float) * {1 + step}")


def build_run(run_dir: Path, *, with_validation: bool = True, evaluated: bool = True) -> int:
    """Write the run into ``run_dir``; returns the winner's program id."""
    run_dir.mkdir(parents=True, exist_ok=True)
    db = ProgramDatabase(run_dir / DATABASE_FILE, DatabaseConfig(islands=2))
    try:
        db.set_meta("proposer", "gemini")
        seeds = []
        for island in (0, 1):
            pid = db.add(sample=None, island=island, status="proposed", kind="seed",
                         source=SEED, proposer="seed:best-fit")  # fmt: skip
            db.record(pid, status="evaluated" if evaluated else "failed", score=80.0 + island if evaluated else None,
                      errors=() if evaluated else ("screen: HeuristicError: NaN",))  # fmt: skip
            seeds.append(pid)
        parent = {0: seeds[0], 1: seeds[1]}
        winner = -1
        for sample in range(12):
            island = sample % 2
            pid = db.add(sample=sample, island=island, status="pending", kind="pending",
                         parent_ids=[parent[island]])  # fmt: skip
            unusable = sample in (2, 5)
            source = None if unusable else (WINNER_SOURCE if sample == 9 else _child(SEED, sample))
            db.propose(pid, source=source, kind="diff" if sample % 3 == 0 else "rewrite",
                       proposer="gemini", model="gemini-3.5-flash" if sample % 4 else "gemini-3.1-pro-preview",
                       prompt="...", raw_text="I think <b>this</b> is better", input_tokens=800,
                       output_tokens=150, cost_usd=0.000615,
                       error="no_code: the answer holds no code block and no function" if unusable else None)  # fmt: skip
            if unusable:
                continue
            if sample == 7:
                db.record(
                    pid,
                    status="failed",
                    errors=["screen: HeuristicError: scores: expected finite numbers"],
                )
                continue
            score = 95.0 if sample == 9 else 81.0 + sample * 0.5
            if evaluated:
                db.record(pid, status="evaluated", score=score, screen_score=score,
                          metrics={"train": {"synthetic#1": {"gpu_alloc_at_130": score}}})  # fmt: skip
                parent[island] = pid
            else:
                db.record(pid, status="failed", errors=["train: timeout"])
            if sample == 9:
                winner = pid
        if evaluated:
            db.add(sample=None, island=0, status="evaluated", kind="migration", source=WINNER_SOURCE,
                   parent_ids=[winner], proposer="gemini", model="gemini-3.5-flash", score=95.0)  # fmt: skip
        if with_validation and evaluated:
            db.set_meta("validation", {
                f"evolved #{winner}": _result(95.0, 93.5),
                "best-fit": _result(88.0, 87.25),
                "fgd": _result(90.5, 89.0),
                "tetris": {"error": "train: timeout after 60 s"},
            })  # fmt: skip
    finally:
        db.close()
    return winner


def _result(train: float, validation: float) -> dict[str, object]:
    return {
        "train": {"synthetic#1": {"gpu_alloc_at_130": train, "pods_failed": 3}},
        "validation": {"synthetic#101": {"gpu_alloc_at_130": validation, "pods_failed": 4}},
        "train_score": train,
        "validation_score": validation,
        "train_scores": {"synthetic#1": train},
        "validation_scores": {"synthetic#101": validation},
    }
