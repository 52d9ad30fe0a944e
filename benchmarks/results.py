"""Regenerate the result tables of ``docs/results.md`` and their plots
(``docs/results/CAMPAIGN.png``): ``make results``.

Evaluation only (the shipped winners and baselines, see
:mod:`heuristics.evolve.campaigns`), never evolution. Needs ``BINFORGE_TRACE_DIR``.
Run: ``python -m benchmarks.results [--campaign NAME] [--doc PATH] [--print]``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from heuristics.evolve.campaigns import CAMPAIGNS, ROOT, render, replace_block

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.results", description=__doc__)
    parser.add_argument("--campaign", action="append", choices=[c.name for c in CAMPAIGNS])
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "results.md")
    parser.add_argument("--print", action="store_true", help="print, do not rewrite the doc")
    args = parser.parse_args(argv)
    chosen = [c for c in CAMPAIGNS if not args.campaign or c.name in args.campaign]
    if not args.print:  # fail on missing markers before minutes of simulation
        for campaign in chosen:
            replace_block(args.doc.read_text(encoding="utf-8"), campaign.name, "", str(args.doc))
    figures = args.doc.parent / "results"
    blocks = {
        campaign.name: render(
            campaign,
            figure=(figures / f"{campaign.name}.png", f"{figures.name}/{campaign.name}.png")
            if not args.print
            else None,
        )
        for campaign in chosen
    }
    if args.print:
        for name, block in blocks.items():
            print(f"## {name}\n{block}\n")
        return 0
    # read the document only now, so edits made while the simulations ran are kept
    document = args.doc.read_text(encoding="utf-8")
    for name, block in blocks.items():
        document = replace_block(document, name, block, str(args.doc))
    args.doc.write_text(document, encoding="utf-8")
    print(f"rewrote {args.doc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
