"""``binforge export RUN_DIR --name NAME [--program ID]``: save a run's winner (or a
chosen program) as a named heuristic."""

from __future__ import annotations

import argparse
from pathlib import Path

from binforge.errors import UserError
from heuristics.evolve.export import ExportError, RunDirError, export_winner
from heuristics.registry import WINNERS_DIR

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``export``."""
    parser = subparsers.add_parser(
        "export", help="write a run's winner to heuristics/winners/NAME.py with its provenance"
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the run's directory")
    parser.add_argument("--name", required=True, help="winner name: lower-case [a-z0-9_-]")
    parser.add_argument("--dest", type=Path, help=f"directory to write to (default {WINNERS_DIR})")
    parser.add_argument("--force", action="store_true", help="replace an existing winner file")
    parser.add_argument(
        "--program", type=int, metavar="ID", help="export program #ID instead of the run's best"
    )
    parser.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    try:
        path = export_winner(
            args.run_dir, args.name, dest=args.dest, force=args.force, program=args.program
        )
    except (ExportError, RunDirError) as exc:
        raise UserError(str(exc)) from exc
    except OSError as exc:
        raise UserError(f"write winner {args.name}: {exc}") from exc
    print(f"winner {args.name!r} written to {path}")
    if args.dest is None:
        print(f"load it by name: binforge simulate --scenario SCENARIO --policy {args.name}")
    return 0
