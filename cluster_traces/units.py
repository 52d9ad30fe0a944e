"""Explicit assumptions that turn normalised capacities into absolute units.

Several traces publish capacities normalised to the largest machine (1.0 = the largest
machine's memory or CPU). The true sizes were never disclosed, so converting them to MiB or
millicores needs an assumption. It is stated here, once, per set, and every loader that
converts takes it as an overridable argument: nothing is converted silently.

Why these defaults (see docs/traces.md for the longer argument):

* alibaba-v2017: machines have 64 cores; 1.0 memory is taken as 256 GiB, so the common
  0.69 machine gets about 177 GiB (about 2.8 GiB per core, typical for 2017 servers).
* alibaba-v2018: machines have 96 cores and memory 100 (of 100); 1.0 (= 100 points) is taken
  as 512 GiB, the memory of the 96-core machines in Alibaba's PAI v2020 machine spec.
* google-2019-cell-a: 1.0 CPU is taken as 128 cores and 1.0 memory as 512 GiB, so the
  common (0.5, 0.25..0.5) machine gets 64 cores and 128-256 GiB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cluster_traces.model import IntArray, MiB, Millicores

__all__ = [
    "ALIBABA_V2017_UNITS",
    "ALIBABA_V2018_UNITS",
    "GIB",
    "GOOGLE_2019_UNITS",
    "NormalisedUnits",
]

GIB: MiB = 1024
"""MiB in one GiB."""


@dataclass(frozen=True)
class NormalisedUnits:
    """What 1.0 of a normalised capacity means in absolute units.

    Attributes:
        cpu_milli_of_1: millicores of a normalised CPU capacity of 1.0.
        memory_mib_of_1: MiB of a normalised memory capacity of 1.0.
    """

    cpu_milli_of_1: Millicores
    memory_mib_of_1: MiB

    def __post_init__(self) -> None:
        errors = [
            f"NormalisedUnits.{name}: expected a positive integer, got {getattr(self, name)!r}"
            for name in ("cpu_milli_of_1", "memory_mib_of_1")
            if not isinstance(getattr(self, name), int) or getattr(self, name) <= 0
        ]
        if errors:
            raise ValueError("; ".join(errors))

    def cpu_milli(self, normalised: npt.ArrayLike) -> IntArray:
        """Millicores for normalised CPU values (rounded to the nearest millicore)."""
        return np.rint(np.asarray(normalised, np.float64) * self.cpu_milli_of_1).astype(np.int64)

    def memory_mib(self, normalised: npt.ArrayLike) -> IntArray:
        """MiB for normalised memory values (rounded to the nearest MiB)."""
        values = np.asarray(normalised, np.float64) * self.memory_mib_of_1
        return np.rint(values).astype(np.int64)


ALIBABA_V2017_UNITS = NormalisedUnits(cpu_milli_of_1=64_000, memory_mib_of_1=256 * GIB)
ALIBABA_V2018_UNITS = NormalisedUnits(cpu_milli_of_1=96_000, memory_mib_of_1=512 * GIB)
GOOGLE_2019_UNITS = NormalisedUnits(cpu_milli_of_1=128_000, memory_mib_of_1=512 * GIB)
