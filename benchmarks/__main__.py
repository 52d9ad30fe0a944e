"""Run the benchmark modules and print a table (``make bench``)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

from benchmarks import Measurement


def _modules(selected: list[str]) -> list[str]:
    import benchmarks

    names = sorted(
        m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_")
    )
    if selected:
        names = [n for n in names if n.removeprefix("bench_") in selected or n in selected]
    return names


def main(argv: list[str]) -> int:
    rows: list[Measurement] = []
    failed = 0
    for name in _modules(argv):
        started = time.perf_counter()
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows.extend(module.run())
        print(f"  done in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    width = max([len(r.name) for r in rows] + [9])
    print(f"{'benchmark':<{width}}  {'value':>14}  {'unit':<14}  {'target':<14}  met")
    for r in rows:
        met = "-" if r.met is None else ("yes" if r.met else "NO")
        failed += r.met is False
        print(f"{r.name:<{width}}  {r.value:>14.4g}  {r.unit:<14}  {r.target:<14}  {met}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
