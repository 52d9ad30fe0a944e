"""Loaders convert normalised capacities through an explicit, validated NormalisedUnits."""

from __future__ import annotations

import numpy as np
import pytest

from cluster_traces.units import GOOGLE_2019_UNITS, NormalisedUnits


def test_conversion_scales_and_rounds_to_whole_units() -> None:
    units = NormalisedUnits(cpu_milli_of_1=64_000, memory_mib_of_1=1024)
    assert units.cpu_milli([0.5, 1.0]).tolist() == [32_000, 64_000]
    assert units.memory_mib(np.array([0.0004, 0.25])).tolist() == [0, 256]


def test_google_default_maps_a_half_machine_to_64_cores() -> None:
    assert GOOGLE_2019_UNITS.cpu_milli([0.5]).tolist() == [64_000]


def test_non_positive_assumptions_are_all_reported_at_once() -> None:
    with pytest.raises(ValueError) as error:
        NormalisedUnits(cpu_milli_of_1=0, memory_mib_of_1=-1)
    assert "cpu_milli_of_1" in str(error.value) and "memory_mib_of_1" in str(error.value)
