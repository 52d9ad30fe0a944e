"""1-D bin-packing instances: OR-Library binpack1..8, FunSearch's JSON, Weibull generator.

OR-Library format (J. E. Beasley): the number of instances, then per instance a name
line, a line ``capacity item_count best_known`` and the item sizes, one per line.
FunSearch's JSON: ``{name: {"capacity": c, "num_items": n, "items": [...]}}``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import numpy.typing as npt

from cluster_traces._text import read_text
from cluster_traces.errors import TraceFormatError
from cluster_traces.model import MAX_SIZE_DECIMALS, BinPackingInstance, whole_at_scale

__all__ = [
    "UNIFORM_CAPACITY",
    "WEIBULL_CAPACITY",
    "load_funsearch",
    "load_orlib",
    "uniform_instances",
    "weibull_instances",
]

WEIBULL_CAPACITY = 100
"""Bin capacity of the Weibull instances (FunSearch and later papers)."""

UNIFORM_CAPACITY = 150
"""Bin capacity of OR-Library's u class (binpack1..4), which the uniform instances mimic."""


def load_orlib(path: Path) -> tuple[BinPackingInstance, ...]:
    """Load an OR-Library ``binpackN.txt`` file.

    Returns the instances in file order. Raises TraceFormatError (file, line, value,
    expectation) for a malformed file, FileNotFoundError when it is missing.
    """
    if not path.is_file():
        raise FileNotFoundError(f"trace file not found: {path}")
    lines = [(n, text.strip()) for n, text in enumerate(read_text(path).splitlines(), 1)]
    lines = [(n, text) for n, text in lines if text]
    if not lines:
        raise TraceFormatError(path, "the number of instances on the first line", line=1)
    cursor = 0

    def take(expected: str) -> tuple[int, str]:
        nonlocal cursor
        if cursor >= len(lines):
            raise TraceFormatError(path, f"{expected}, got end of file", line=lines[-1][0] + 1)
        cursor += 1
        return lines[cursor - 1]

    line, text = take("the number of instances")
    count = _parse_int(path, line, "instance count", text)
    if count == 0:
        raise TraceFormatError.no_rows(path, "instance")
    instances = []
    for _ in range(count):
        _, name = take("an instance name")
        line, text = take("'capacity item_count best_known'")
        fields = text.split()
        if len(fields) != 3:
            raise TraceFormatError(
                path, "three numbers 'capacity item_count best_known'", line=line, value=text
            )
        capacity = _parse_size(path, line, "capacity", fields[0])
        item_count = _parse_int(path, line, "item_count", fields[1])
        best_known = _parse_int(path, line, "best_known", fields[2])
        items = np.empty(item_count)
        for i in range(item_count):
            line, text = take(f"item {i + 1} of {item_count} in {name}")
            size = _parse_size(path, line, "item size", text)
            if size > capacity:
                raise TraceFormatError(
                    path, f"an item size <= capacity {capacity}", line=line, value=text
                )
            items[i] = size
        instances.append(BinPackingInstance(name, capacity, items, best_known))
    if cursor != len(lines):
        line, text = lines[cursor]
        raise TraceFormatError(path, f"end of file after {count} instances", line=line, value=text)
    return tuple(instances)


def load_funsearch(path: Path) -> tuple[BinPackingInstance, ...]:
    """Load FunSearch's ``{name: {capacity, num_items, items}}`` JSON.

    Returns the instances in file order. Raises TraceFormatError naming the instance and
    field of the first bad entry.
    """
    if not path.is_file():
        raise FileNotFoundError(f"trace file not found: {path}")
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise TraceFormatError(path, f"valid JSON ({exc.msg})", line=exc.lineno) from exc
    if not isinstance(data, dict):
        raise TraceFormatError(path, "a JSON object {name: instance}", value=type(data).__name__)
    if not data:
        raise TraceFormatError.no_rows(path, "instance")
    instances = []
    for name, entry in data.items():
        if not isinstance(entry, dict):
            raise TraceFormatError(path, "an object", column=name, value=entry)
        for key in ("capacity", "num_items", "items"):
            if key not in entry:
                raise TraceFormatError(path, f"field {key!r}", column=f"{name}.{key}")
        capacity = entry["capacity"]
        if (
            isinstance(capacity, bool)
            or not isinstance(capacity, int | float)
            or not _is_size(capacity)
        ):
            raise TraceFormatError(
                path, f"a positive {_SIZE}", column=f"{name}.capacity", value=capacity
            )
        items = entry["items"]
        if not isinstance(items, list) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in items
        ):
            raise TraceFormatError(path, "a list of numbers", column=f"{name}.items")
        sizes = np.asarray(items, dtype=np.float64)
        bad = ~_is_size(sizes) | (sizes > capacity)
        if bad.any():
            index = int(np.argmax(bad))
            raise TraceFormatError(
                path,
                f"item sizes in (0, {capacity}], each a {_SIZE}",
                column=f"{name}.items[{index}]",
                value=items[index],
            )
        if entry["num_items"] != len(sizes):
            raise TraceFormatError(
                path,
                f"num_items equal to the {len(sizes)} items listed",
                column=f"{name}.num_items",
                value=entry["num_items"],
            )
        instances.append(BinPackingInstance(name, float(capacity), sizes))
    return tuple(instances)


def weibull_instances(
    num_items: int, count: int = 5, seed: int = 0
) -> tuple[BinPackingInstance, ...]:
    """Generate Weibull instances: sizes ``clip(round(weibull(3) * 45), 1, 100)``, capacity 100.

    Deterministic for a given (num_items, count, seed). Raises ValueError for a
    non-positive ``num_items`` or ``count``.
    """
    if num_items <= 0 or count <= 0:
        raise ValueError(
            f"weibull_instances: expected positive num_items and count, got {num_items}, {count}"
        )
    rng = np.random.default_rng(seed)
    out = []
    for index in range(count):
        sizes = np.clip(np.round(rng.weibull(3.0, num_items) * 45), 1, WEIBULL_CAPACITY)
        out.append(BinPackingInstance(f"weibull_{num_items}_{index}", WEIBULL_CAPACITY, sizes))
    return tuple(out)


def uniform_instances(
    num_items: int, count: int = 5, seed: int = 0
) -> tuple[BinPackingInstance, ...]:
    """Generate instances like OR-Library's u class: integer sizes uniform in 20..100,
    capacity 150 (for training without touching the held-out binpack1..4).

    Deterministic for a given (num_items, count, seed). Raises ValueError for a
    non-positive ``num_items`` or ``count``.
    """
    if num_items <= 0 or count <= 0:
        raise ValueError(
            f"uniform_instances: expected positive num_items and count, got {num_items}, {count}"
        )
    rng = np.random.default_rng(seed)
    return tuple(
        BinPackingInstance(
            f"uniform_{num_items}_{index}",
            float(UNIFORM_CAPACITY),
            rng.integers(20, 101, num_items).astype(float),
        )
        for index in range(count)
    )


def _parse_int(path: Path, line: int, field: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise TraceFormatError(
            path, f"a non-negative integer {field}", line=line, value=text
        ) from None
    if value < 0:
        raise TraceFormatError(path, f"a non-negative integer {field}", line=line, value=text)
    return value


_SIZE = f"finite number with at most {MAX_SIZE_DECIMALS} decimals"


def _is_size(values: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True where a value is a valid capacity or item size (positive, finite, few decimals)."""
    sizes = np.asarray(values, np.float64)
    finite = np.isfinite(sizes)
    whole = whole_at_scale(np.where(finite, sizes, 0), 10**MAX_SIZE_DECIMALS)
    return np.asarray(finite & (sizes > 0) & whole)


def _parse_size(path: Path, line: int, field: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan  # reported below
    if not _is_size(value):
        raise TraceFormatError(path, f"a positive {_SIZE} ({field})", line=line, value=text)
    return value
