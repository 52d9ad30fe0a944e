"""The one error type raised for bad trace input."""

from __future__ import annotations

from pathlib import Path

__all__ = ["ScenarioError", "TraceFormatError"]


class TraceFormatError(ValueError):
    """A trace file that does not match its documented format.

    The message names the file, the 1-based line (header = line 1 for CSV files), the
    column, the offending value and what was expected, for example::

        openb_pod_list_default.csv: line 17: column cpu_milli: got 'abc', expected a
        non-negative integer (millicores)

    Loaders raise it before returning anything: a trace is loaded whole or not at all.
    """

    def __init__(
        self,
        path: str | Path,
        expected: str,
        *,
        line: int | None = None,
        column: str | None = None,
        value: object = None,
    ) -> None:
        self.path = Path(path)
        self.line = line
        self.column = column
        self.value = value
        self.expected = expected
        parts = [str(self.path)]
        if line is not None:
            parts.append(f"line {line}")
        if column is not None:
            parts.append(f"column {column}")
        detail = f"expected {expected}"
        if value is not None:
            detail = f"got {value!r}, {detail}"
        super().__init__(": ".join([*parts, detail]))

    @classmethod
    def no_rows(cls, path: str | Path, row: str) -> TraceFormatError:
        """The error for a file that holds no ``row`` at all (empty, or a header only)."""
        return cls(path, f"at least one {row} (the file has no rows)")


class ScenarioError(ValueError):
    """A scenario name or option that cannot be resolved (unknown set or variant, missing
    trace directory or files, a set without nodes and no inventory, a bad option).

    The message says what was asked, why it fails, and the known names where that helps.
    """
