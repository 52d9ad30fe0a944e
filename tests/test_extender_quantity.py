"""Kubernetes quantities parse exactly, round in the caller's direction, and reject
anything that is not apimachinery syntax with a message naming the input."""

from __future__ import annotations

import pytest

from k8s_plugin.quantity import (
    QuantityError,
    parse_count,
    parse_cpu_milli,
    parse_memory_mib,
)


@pytest.mark.parametrize(
    ("text", "milli"),
    [
        ("500m", 500),
        ("2", 2000),
        ("0.1", 100),
        ("1.5", 1500),
        ("100u", 1),
        ("2k", 2_000_000),
        (3, 3000),
    ],
)
def test_cpu_quantities_become_millicores_rounded_up(text: object, milli: int) -> None:
    assert parse_cpu_milli(text) == milli


@pytest.mark.parametrize(
    ("text", "mib"),
    [
        ("1Gi", 1024),
        ("512Mi", 512),
        ("1G", 954),  # 953.67 MiB, rounded up for a request
        ("1e9", 954),
        ("1E3Ki", None),
        ("1048576", 1),
        ("128974848", 123),
        ("129e6", 124),
        ("123Mi", 123),
        ("0.5Gi", 512),
    ],
)
def test_memory_quantities_become_mib(text: str, mib: int | None) -> None:
    if mib is None:
        with pytest.raises(QuantityError, match="unknown suffix"):
            parse_memory_mib(text)
    else:
        assert parse_memory_mib(text) == mib


def test_node_capacity_rounds_down_so_no_node_is_overstated() -> None:
    assert parse_memory_mib("1G", rounding="down") == 953
    assert parse_cpu_milli("1500u", rounding="down") == 1


@pytest.mark.parametrize(
    "text", ["", "abc", "1.2.3", "-1", "5x", "Gi", "1e99999", "9" * 80, None, True, float("nan")]
)
def test_malformed_quantities_are_rejected_with_the_input_named(text: object) -> None:
    with pytest.raises(QuantityError):
        parse_count(text)


def test_absurd_sizes_are_rejected() -> None:
    with pytest.raises(QuantityError, match="absurdly large"):
        parse_memory_mib("1e26")
    with pytest.raises(QuantityError, match="absurdly large"):
        parse_count("1e30")


def test_cached_conversions_tell_a_boolean_from_the_number_it_equals() -> None:
    assert parse_count(1) == 1  # now cached
    with pytest.raises(QuantityError):
        parse_count(True)
    assert parse_cpu_milli("250m") == parse_cpu_milli("250m") == 250


@pytest.mark.parametrize("parse", [parse_cpu_milli, parse_memory_mib, parse_count])
@pytest.mark.parametrize("text", [["1"], {"cpu": "1"}])
def test_unhashable_values_from_a_malformed_pod_are_bad_quantities_too(
    parse: object, text: object
) -> None:
    with pytest.raises(QuantityError):
        parse(text)  # type: ignore[operator]
