"""Trace files as text: UTF-8, or a TraceFormatError naming the line that is not."""

from __future__ import annotations

import gzip
from pathlib import Path

from cluster_traces.errors import TraceFormatError

__all__ = ["read_text", "utf8_error"]


def read_text(path: Path) -> str:
    """The whole file decoded as UTF-8.

    Raises:
        TraceFormatError: naming the line of the first byte that is not UTF-8.
    """
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _at(path, data, exc) from None


def utf8_error(path: Path) -> TraceFormatError:
    """The error for a file a streaming reader found not to be UTF-8 (gzip files are read
    decompressed), naming the line of its first bad byte."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _at(path, data, exc)
    return TraceFormatError(path, "UTF-8 text")  # not reached for a file that failed


def _at(path: Path, data: bytes, exc: UnicodeDecodeError) -> TraceFormatError:
    line = data.count(b"\n", 0, exc.start) + 1
    return TraceFormatError(path, "UTF-8 text", line=line, value=data[exc.start : exc.end])
