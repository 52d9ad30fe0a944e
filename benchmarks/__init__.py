"""Benchmarks, run by ``make bench`` (``python -m benchmarks [NAME ...]``).

Each ``benchmarks/bench_<area>.py`` defines ``run() -> list[Measurement]``. The runner
imports every such module (or only those named on the command line), runs it, and prints
one table. Record results in docs/performance.md together with the command.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Measurement"]


@dataclass(frozen=True)
class Measurement:
    """One measured figure.

    Attributes:
        name: what was measured, e.g. "load alibaba-gpu-v2023 default".
        value: the measured number.
        unit: its unit, e.g. "s", "decisions/s", "ratio".
        target: the target as text, e.g. "< 0.5 s" ("" when none).
        met: whether the target is met (None when there is no target).
    """

    name: str
    value: float
    unit: str
    target: str = ""
    met: bool | None = None
