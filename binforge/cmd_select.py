"""``binforge select RUN_DIR... [--top K] [--program RUN_DIR:ID] [--meets METRIC]``: rank
finished runs' best programs on held-out validation, to choose the one to
``binforge export --program``."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from binforge.errors import UserError
from heuristics.evolve.config import ConfigError
from heuristics.evolve.run_record import RunDirError
from heuristics.evolve.select import Choice, select

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``select``."""
    parser = subparsers.add_parser(
        "select", help="rank the best programs of finished runs on held-out validation"
    )
    parser.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR")
    parser.add_argument("--top", type=int, default=5,
                        help="best distinct programs per run, by training fitness (default 5)")  # fmt: skip
    parser.add_argument("--workers", type=int, default=2, help="sandbox workers (default 2)")
    parser.add_argument("--program", action="append", default=[], type=_run_program,
                        metavar="RUN_DIR:ID",
                        help="also validate this program of one of the runs, e.g. the seed "
                             "that is the incumbent winner (repeatable)")  # fmt: skip
    parser.add_argument("--meets", metavar="METRIC",
                        help="also count the validation scenarios where a program's METRIC "
                             "(lower is better for failed or waiting pods, stranded shares, "
                             "bins and nodes; higher otherwise) beats the runs' "
                             "evaluator.reference with no guard (evaluator.guards) above the "
                             "reference's, e.g. stranded_share_mean")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=_select)


def _run_program(text: str) -> tuple[Path, int]:
    run_dir, colon, number = text.rpartition(":")
    if not colon or not run_dir or not number.isdigit():
        raise argparse.ArgumentTypeError(f"expected RUN_DIR:ID (a program id), got {text!r}")
    return Path(run_dir), int(number)


def _select(args: argparse.Namespace) -> int:
    try:
        choices = select(
            args.run_dirs, top=args.top, workers=args.workers, also=args.program, meets=args.meets
        )
    except (RunDirError, ConfigError, ValueError) as exc:
        raise UserError(str(exc)) from exc
    if args.json:
        print(json.dumps([{**asdict(c), "run_dir": str(c.run_dir)} for c in choices], indent=2))
        return 0
    width = max((len(_met(c)) for c in choices), default=0) if args.meets else 0
    meets = f" {'meets':>{max(width, 5)}}" if width else ""
    print(f"{'run':<32} {'program':>8} {'train':>10} {'validation':>11}{meets}  per scenario")
    for c in choices:
        shown = "failed" if c.validation_score is None else f"{c.validation_score:.4f}"
        met = f" {_met(c):>{max(width, 5)}}" if width else ""
        scenarios = "  ".join(f"{k}={v:.4f}" for k, v in c.validation_scores.items())
        print(f"{str(c.run_dir)[-32:]:<32} {'#' + str(c.program):>8} {c.train_score:>10.4f} "
              f"{shown:>11}{met}  {scenarios or c.error}")  # fmt: skip
    if choices and choices[0].validation_score is not None:
        best = choices[0]
        print(
            f"best on validation: binforge export {best.run_dir} --program {best.program} --name NAME"
        )
    elif choices:
        print("no program passed validation: nothing to export")
    if meets:
        print(f"meets: scenarios where {args.meets} beats the reference with no guard above "
              "it (x: met, .: not), in the per-scenario order")  # fmt: skip
    return 0


def _met(choice: Choice) -> str:
    """``k/n xx.x``: how many validation scenarios ``choice`` meets the reference on."""
    if not choice.meets:
        return "-"
    marks = "".join("x" if met else "." for met in choice.meets.values())
    return f"{marks.count('x')}/{len(marks)} {marks}"
