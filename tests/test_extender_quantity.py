"""Kubernetes quantities parse exactly, round as kube-scheduler rounds what it compares,
become MiB so that whatever fits in bytes fits in MiB, and reject anything that is not
apimachinery syntax with a message naming the input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from k8s_plugin.quantity import (
    QuantityError,
    memory_mib,
    parse_count,
    parse_cpu_milli,
    parse_memory_bytes,
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
        ("1G", 953),  # 953.67 MiB, rounded down
        ("1e9", 953),
        ("1E3Ki", None),
        ("1048576", 1),
        ("1048575", 0),
        ("128974848", 123),
        ("129e6", 123),
        ("123Mi", 123),
        ("0.5Gi", 512),
        ("0.5", 0),  # half a byte is a whole byte (Value rounds up), then 0 MiB
    ],
)
def test_memory_quantities_become_bytes_then_mib(text: str, mib: int | None) -> None:
    if mib is None:
        with pytest.raises(QuantityError, match="unknown suffix"):
            parse_memory_bytes(text)
    else:
        assert memory_mib(parse_memory_bytes(text)) == mib


@given(pods=st.lists(st.integers(0, 2**40), max_size=30), slack=st.integers(0, 2**21))
def test_pods_that_fit_a_node_in_bytes_fit_it_in_mib_however_many(
    pods: list[int], slack: int
) -> None:
    node = sum(pods) + slack  # kube-scheduler, comparing bytes, fits them all
    assert sum(memory_mib(p) for p in pods) <= memory_mib(node)


def test_requests_and_allocatable_round_up_to_whole_units_as_kube_scheduler_does() -> None:
    # MilliValue and Value: one rule for both sides of every comparison.
    assert parse_cpu_milli("1500u") == 2
    assert parse_memory_bytes("1.5") == 2
    assert parse_count("1.5") == 2


@pytest.mark.parametrize(
    "text", ["", "abc", "1.2.3", "-1", "5x", "Gi", "1e99999", "9" * 80, None, True, float("nan")]
)
def test_malformed_quantities_are_rejected_with_the_input_named(text: object) -> None:
    with pytest.raises(QuantityError):
        parse_count(text)


def test_absurd_sizes_are_rejected() -> None:
    with pytest.raises(QuantityError, match="absurdly large"):
        parse_memory_bytes("1e26")
    with pytest.raises(QuantityError, match="absurdly large"):
        parse_count("1e30")


def test_cached_conversions_tell_a_boolean_from_the_number_it_equals() -> None:
    assert parse_count(1) == 1  # now cached
    with pytest.raises(QuantityError):
        parse_count(True)
    assert parse_cpu_milli("250m") == parse_cpu_milli("250m") == 250


@pytest.mark.parametrize("parse", [parse_cpu_milli, parse_memory_bytes, parse_count])
@pytest.mark.parametrize("text", [["1"], {"cpu": "1"}])
def test_unhashable_values_from_a_malformed_pod_are_bad_quantities_too(
    parse: object, text: object
) -> None:
    with pytest.raises(QuantityError):
        parse(text)  # type: ignore[operator]
