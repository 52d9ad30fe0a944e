"""What the commands that compare policies (``simulate``, ``whatif``) share.

Resolving the ``--policy`` names, the progress lines on stderr, and the ``--json PATH|-``
convention: the document on stdout for ``-``, else a table on stdout and the document in PATH.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from binforge.errors import UserError

if TYPE_CHECKING:
    from heuristics.contract import Heuristic

__all__ = ["check_outputs", "emit", "progress_printer", "resolve_policies"]


def resolve_policies(names: Sequence[str], flag: str = "--policy") -> list[tuple[str, Heuristic]]:
    """Each name paired with its heuristic, in order.

    Raises:
        UserError: ``FLAG: ...`` when a name is unknown, fails to load or is unsafe.
    """
    # imported here so that ``binforge --help`` does not load the registry
    from heuristics.registry import HeuristicLoadError, UnknownHeuristicError, resolve
    from heuristics.safety import UnsafeCodeError

    try:
        return [(name, resolve(name).heuristic) for name in names]
    except (UnknownHeuristicError, HeuristicLoadError, UnsafeCodeError) as exc:
        raise UserError(f"{flag}: {exc}") from exc


def progress_printer(verb: str, *, quiet: bool) -> Callable[[str, int], None]:
    """A progress callback for :func:`simulator.compare.compare`: ``VERB NAME seed N ...``
    on stderr, or nothing when ``quiet``."""

    def progress(name: str, seed: int) -> None:
        if not quiet:
            print(f"{verb} {name} seed {seed} ...", file=sys.stderr, flush=True)

    return progress


def check_outputs(json_path: str | None, out_dir: Path | None) -> None:
    """Refuse output paths that cannot be written, before any simulation runs: a JSON file
    whose folder does not exist or that is a folder, an output folder that is a file or
    lies under one (it is created only when the results are written).

    Raises:
        UserError: naming the flag and the path.
    """
    if json_path and json_path != "-":
        path = Path(json_path)
        if path.is_dir():
            raise UserError(f"--json {json_path}: is a directory; expected a file path")
        if not path.parent.is_dir():
            raise UserError(f"--json {json_path}: no directory {path.parent}")
    if out_dir is not None:
        existing = next(p for p in (out_dir, *out_dir.parents) if p.exists())
        if not existing.is_dir():
            raise UserError(f"--out {out_dir}: {existing} is a file; expected a directory")


def emit(document: dict[str, Any], table: Callable[[], str], json_path: str | None) -> None:
    """Print ``document`` as JSON when ``json_path`` is ``-``; otherwise print ``table()``
    and, when ``json_path`` is set, write the document there."""
    if json_path == "-":
        json.dump(document, sys.stdout, indent=2)
        print()
        return
    print(table())
    if json_path:
        Path(json_path).write_text(json.dumps(document, indent=2), encoding="utf-8")
