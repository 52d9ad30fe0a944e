"""Typed, validated CSV reading shared by the loaders (private).

Fast path: pyarrow.csv with explicit column types, then vectorised checks that report the
exact line of the first bad row (line = row index + first data line). When pyarrow itself
rejects the file (a row with the wrong number of fields, a value that does not convert),
a slow path walks the file with the standard csv module to name the line, column and value.
Nothing is returned unless the whole file is valid. :func:`reject_rows` and
:func:`reject_repeats` are the loaders' own checks on what was read, reported the same way.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from cluster_traces._text import utf8_error
from cluster_traces.errors import TraceFormatError

__all__ = ["NO_CAPACITY", "Column", "read_csv", "reject_repeats", "reject_rows"]

Kind = Literal["int", "float", "str"]

_ARROW_TYPES = {"int": pa.int64(), "float": pa.float64(), "str": pa.string()}

NO_CAPACITY = "a node with some capacity (CPU, memory or GPUs above 0)"
"""What :func:`reject_rows` expects of a node row whose capacities are all 0."""


@dataclass(frozen=True)
class Column:
    """One expected CSV column.

    Attributes:
        name: header name (or the assigned name for files without a header).
        kind: "int", "float" or "str".
        expected: what a valid value is, for error messages ("a non-negative integer (MiB)").
        nullable: empty values allowed (NaN for floats, -1 never: ints must be complete).
        minimum: smallest allowed value for numbers (None: no bound).
        optional: the column may be absent from the header (the result then lacks it).
    """

    name: str
    kind: Kind
    expected: str
    nullable: bool = False
    minimum: float | None = 0
    optional: bool = False


def _header(path: Path) -> list[str]:
    with path.open("rb") as handle:
        raw = handle.readline()
    try:
        first = raw.decode("utf-8-sig")  # a byte-order mark is not part of the first name
    except UnicodeDecodeError:
        raise utf8_error(path) from None
    if not first.strip():
        raise TraceFormatError(path, "a header row", line=1, value=first)
    return [name.strip() for name in next(csv.reader([first]))]


def read_csv(
    path: Path,
    columns: Sequence[Column],
    *,
    names: Sequence[str] | None = None,
    unread: Sequence[str] = (),
) -> dict[str, np.ndarray]:
    """Read the named columns of a CSV file, validated.

    ``names`` gives the column names of a file without a header row; otherwise the first
    line is the header (names are stripped of surrounding spaces), and every name in it
    must be one of ``columns`` or ``unread`` (known columns the loader ignores), so that a
    misspelt optional column is not taken for an absent one. Returns name -> numpy array
    (int64, float64 or object strings; "" for empty strings). Raises TraceFormatError
    naming the file, line, column, value and expectation (bytes that are not UTF-8 in the
    header or in a column read, an unknown header name, a file without rows, too);
    FileNotFoundError when missing.
    """
    if not path.is_file():
        raise FileNotFoundError(f"trace file not found: {path}")
    header = list(names) if names is not None else _header(path)
    first_line = 1 if names is not None else 2
    if names is None:
        _reject_unknown_names(path, header, [*(c.name for c in columns), *unread])
    present = [c for c in columns if c.name in header]
    for column in columns:
        if column.name not in header and not column.optional:
            raise TraceFormatError(
                path,
                f"a column named {column.name!r} (header has {', '.join(header)})",
                line=None if names is not None else 1,
                column=column.name,
            )
    read_options = pacsv.ReadOptions(
        column_names=header, skip_rows=0 if names is not None else 1, use_threads=False
    )
    convert_options = pacsv.ConvertOptions(
        column_types={c.name: _ARROW_TYPES[c.kind] for c in present},
        include_columns=[c.name for c in present],
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        null_values=[""],  # only an empty field is missing; "nan" or "NULL" is a value
    )
    try:
        table = pacsv.read_csv(path, read_options=read_options, convert_options=convert_options)
    except pa.ArrowInvalid as exc:
        try:
            _locate_error(path, header, present, first_line)
        except UnicodeDecodeError:
            raise utf8_error(path) from None
        raise TraceFormatError(path, f"a well-formed CSV file ({exc})") from exc
    if table.num_rows == 0:
        raise TraceFormatError.no_rows(path, "row" if names is not None else "row after the header")
    out: dict[str, np.ndarray] = {}
    for column in present:
        out[column.name] = _checked(path, table.column(column.name), column, first_line)
    return out


def reject_rows(
    path: Path, bad: np.ndarray, column: str, values: np.ndarray, expected: str, first_line: int
) -> None:
    """Raise TraceFormatError at the first row where ``bad`` holds, if any.

    The error names line ``row + first_line``, ``column``, ``expected`` and ``values[row]``.
    """
    if bad.any():
        row = int(np.argmax(bad))
        value = values[row]
        raise TraceFormatError(
            path,
            expected,
            line=row + first_line,
            column=column,
            value=value.item() if isinstance(value, np.generic) else value,
        )


def reject_repeats(
    path: Path, names: np.ndarray, column: str, expected: str, first_line: int
) -> None:
    """Raise TraceFormatError at the first row whose name an earlier row already has."""
    _, first_of_each = np.unique(names.astype(str), return_index=True)
    repeated = np.ones(len(names), dtype=bool)
    repeated[first_of_each] = False
    reject_rows(path, repeated, column, names, expected, first_line)


def _reject_unknown_names(path: Path, header: list[str], known: list[str]) -> None:
    for name in header:
        if name not in known:
            expected = ", ".join(repr(k) for k in known)
            raise TraceFormatError(
                path, f"a column name of this file ({expected})", line=1, value=name
            )


def _checked(path: Path, chunked: pa.ChunkedArray, column: Column, first_line: int) -> np.ndarray:
    # numpy, not pyarrow.compute, for the checks: importing pyarrow.compute costs ~0.5 s.
    values = chunked.to_numpy(zero_copy_only=False) if len(chunked) else np.zeros(0)
    if column.kind == "str":
        return np.asarray(values, dtype=object)
    if column.kind == "int":
        if chunked.null_count:  # nulls turn the column into floats with NaN
            row = int(np.argmax(np.isnan(values)))
            raise TraceFormatError(
                path, column.expected, line=row + first_line, column=column.name, value=""
            )
        values = values.astype(np.int64, copy=False)
    else:
        values = values.astype(np.float64, copy=False)
        bad = ~np.isfinite(values)
        if column.nullable:  # an empty field (null) is allowed; a written NaN is not
            bad &= ~_nulls(chunked)
        if bad.any():
            row = int(np.argmax(bad))
            if np.isnan(values[row]):  # an empty field (null) or a written NaN
                shown = "" if chunked[row].as_py() is None else "nan"
            else:
                shown = values[row].item()
            raise TraceFormatError(
                path, column.expected, line=row + first_line, column=column.name, value=shown
            )
    if column.minimum is not None:
        below = values < column.minimum
        if below.any():
            row = int(np.argmax(below))
            raise TraceFormatError(
                path,
                column.expected,
                line=row + first_line,
                column=column.name,
                value=values[row].item(),
            )
    return values


def _nulls(chunked: pa.ChunkedArray) -> np.ndarray:
    """True at each null (empty field), read from the validity bitmaps (no pyarrow.compute)."""
    parts = [np.zeros(0, bool)]
    for chunk in chunked.chunks:
        validity = chunk.buffers()[0]
        if validity is None:
            parts.append(np.zeros(len(chunk), bool))
            continue
        bits = np.unpackbits(np.frombuffer(validity, np.uint8), bitorder="little")
        parts.append(bits[chunk.offset : chunk.offset + len(chunk)] == 0)
    return np.concatenate(parts)


def _locate_error(path: Path, header: list[str], present: list[Column], first_line: int) -> None:
    """Walk the file row by row and raise TraceFormatError at the first bad row or value."""
    index = {c.name: header.index(c.name) for c in present}
    with path.open(newline="", encoding="utf-8") as handle:
        rows = csv.reader(handle)
        if first_line == 2:
            next(rows, None)
        for line, row in enumerate(rows, start=first_line):
            if len(row) != len(header):
                raise TraceFormatError(
                    path,
                    f"{len(header)} comma-separated fields ({', '.join(header)})",
                    line=line,
                    value=",".join(row),
                )
            for column in present:
                text = row[index[column.name]].strip()
                if column.kind == "str" or (text == "" and column.nullable):
                    continue
                try:
                    float(text) if column.kind == "float" else int(text)
                except ValueError:
                    raise TraceFormatError(
                        path, column.expected, line=line, column=column.name, value=text
                    ) from None
