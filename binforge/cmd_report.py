"""``binforge report RUN_DIR``: write a self-contained HTML report of an evolution run."""

from __future__ import annotations

import argparse
from pathlib import Path

from binforge.errors import UserError
from heuristics.evolve.report import RunDirError, write_report

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``report``."""
    parser = subparsers.add_parser(
        "report", help="write an HTML report of a run (plots, lineage, winner vs baselines)"
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the run's directory")
    parser.add_argument(
        "-o", "--output", type=Path, help="report file (default RUN_DIR/report.html)"
    )
    parser.set_defaults(func=_report)


def _report(args: argparse.Namespace) -> int:
    try:
        path = write_report(args.run_dir, args.output)
    except RunDirError as exc:
        raise UserError(str(exc)) from exc
    except OSError as exc:
        raise UserError(f"write report: {exc}") from exc
    print(f"report written to {path}")
    return 0
