"""The ``binforge`` command line: wires the subcommand modules, holds no logic of its own.

Each subcommand lives in ``binforge/cmd_<name>.py`` and exposes
``register(subparsers) -> None``; the parser it adds sets ``func(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from binforge.errors import UserError
from cluster_traces.errors import ScenarioError, TraceFormatError

__all__ = ["main"]

_SUBCOMMANDS = ("traces", "simulate", "whatif", "evolve", "report", "select", "export", "serve")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="binforge",
        description="Discover datacenter scheduling heuristics and serve them to Kubernetes.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _SUBCOMMANDS:
        try:
            module = importlib.import_module(f"binforge.cmd_{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"binforge.cmd_{name}":
                raise
            continue
        module.register(subparsers)
    return parser


class _Terminated(BaseException):
    """SIGTERM, raised where the command is, so that its cleanup runs as for Ctrl-C (the
    sandbox's workers and scratch directories, a run's database)."""


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status (130 after Ctrl-C, 143
    after SIGTERM, both once the command has cleaned up)."""
    args = build_parser().parse_args(argv)
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if on_main_thread else None
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except _Terminated:
        return 143
    except (UserError, TraceFormatError, ScenarioError) as exc:
        print(f"binforge {args.command}: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if on_main_thread:
            signal.signal(signal.SIGTERM, previous)
