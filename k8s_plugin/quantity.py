"""Kubernetes resource quantities ("500m", "2", "1Gi", "1e9") as exact integers in our units.

The grammar is apimachinery's ``resource.Quantity``: a signed decimal number followed by
an optional suffix, one of the binary suffixes (Ki Mi Gi Ti Pi Ei), the decimal SI
suffixes (n u m "" k M G T P E) or a decimal exponent (``e3``, ``E-2``). Values are
parsed exactly with :class:`fractions.Fraction`, then rounded as kube-scheduler rounds
the units it compares: CPU up to whole millicores (``MilliValue``), memory and counts up
to whole bytes and units (``Value``), the same for pod requests and node allocatable.
Memory then becomes MiB, binforge's unit, in one place only: :func:`memory_mib`.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from fractions import Fraction

from cluster_traces.model import MiB, Millicores

__all__ = [
    "MAX_QUANTITY",
    "QuantityError",
    "memory_mib",
    "parse_count",
    "parse_cpu_milli",
    "parse_memory_bytes",
    "parse_quantity",
]

MAX_QUANTITY = 2**62
"""Largest value we accept after conversion; anything larger is an absurd size."""

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
_NUMBER = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(.*)$")
_EXPONENT = re.compile(r"^[eE]([+-]?\d{1,3})$")
_MAX_TEXT = 64


class QuantityError(ValueError):
    """A quantity that is not Kubernetes syntax, negative, or absurdly large."""


def parse_quantity(text: object) -> Fraction:
    """The exact value of a Kubernetes quantity (a string, or a JSON number).

    Raises:
        QuantityError: when ``text`` is not a quantity or is negative.
    """
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise QuantityError(f"expected a quantity string, got {type(text).__name__}")
    if isinstance(text, float):
        if not math.isfinite(text):
            raise QuantityError(f"expected a finite quantity, got {text!r}")
        text = repr(text)
    raw = str(text).strip()
    if not raw or len(raw) > _MAX_TEXT:
        raise QuantityError(f"expected a quantity of 1..{_MAX_TEXT} characters, got {raw[:80]!r}")
    match = _NUMBER.match(raw)
    if match is None:
        raise QuantityError(f"expected a number with an optional suffix, got {raw!r}")
    number, suffix = match.groups()
    value = Fraction(number)
    if suffix in _BINARY:
        value *= _BINARY[suffix]
    elif suffix in _DECIMAL:
        value *= _DECIMAL[suffix]
    elif (exponent := _EXPONENT.match(suffix)) is not None:
        value *= Fraction(10) ** int(exponent.group(1))
    else:
        raise QuantityError(f"unknown suffix {suffix!r} in quantity {raw!r}")
    if value < 0:
        raise QuantityError(f"expected a non-negative quantity, got {raw!r}")
    return value


def _cached(convert: Callable[[object], int]) -> Callable[[object], int]:
    """``convert`` with a cache for strings and numbers.

    The conversions below are pure, and the same few quantity strings ("500m", "4Gi")
    recur in every pod: cached, a pod's requests cost dict lookups instead of Fraction
    arithmetic (typed, so ``True`` never reads the entry of ``1``; errors are not
    cached). Anything else (a list or a mapping in a malformed pod) is converted
    uncached, so it fails with ``QuantityError`` like any bad quantity, not as unhashable.
    """
    cached = functools.lru_cache(maxsize=4096, typed=True)(convert)

    @functools.wraps(convert)
    def parse(text: object) -> int:
        if isinstance(text, str | int | float):
            return cached(text)
        return convert(text)

    return parse


def _rounded_up(value: Fraction, raw: object) -> int:
    result = math.ceil(value)
    if result > MAX_QUANTITY:
        raise QuantityError(f"quantity {raw!r} is absurdly large (over 2**62 after conversion)")
    return result


@_cached
def parse_cpu_milli(text: object) -> Millicores:
    """CPU in millicores, rounded up (``MilliValue``): "500m" -> 500, "2" -> 2000, "100u" -> 1.

    Raises:
        QuantityError: on bad syntax, a negative value or an absurd size.
    """
    return _rounded_up(parse_quantity(text) * 1000, text)


@_cached
def parse_memory_bytes(text: object) -> int:
    """Memory in bytes, rounded up (``Value``): "1Gi" -> 1073741824, "1G" -> 10**9.

    Raises:
        QuantityError: on bad syntax, a negative value or an absurd size.
    """
    return _rounded_up(parse_quantity(text), text)


def memory_mib(total_bytes: int) -> MiB:
    """Bytes of memory in MiB, rounded down: the one conversion of memory to our unit.

    kube-scheduler compares bytes; the node state holds whole MiB. Pod requests (totalled
    in bytes first) and node allocatable both round down, because flooring keeps every
    fit: pods of p1..pk bytes that fit a node of n bytes satisfy
    floor(p1) + ... + floor(pk) <= floor(p1 + ... + pk) <= floor(n) in MiB, however many
    are booked. Rounding requests up instead rejected pods that fit ("1G" on a "1G" node).
    The price is the other way round and harmless: a node short in bytes by under 1 MiB per
    pod (the new one included) may still pass here, but kube-scheduler's own NodeResourcesFit, which runs
    before extenders and compares bytes, has already left it out.
    """
    return total_bytes // 2**20


@_cached
def parse_count(text: object) -> int:
    """A countable resource (GPUs, extended resources), rounded up (``Value``): "2k" -> 2000.

    Raises:
        QuantityError: on bad syntax, a negative value or an absurd size.
    """
    return _rounded_up(parse_quantity(text), text)
