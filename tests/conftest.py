"""Shared test fixtures and the rule for missing prerequisites.

Outside CI a test whose prerequisite is missing (the public traces, a built binary) is
skipped with a loud reason; under ``CI=true`` it fails instead, so no tier can pass by
being skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, reason: str) -> None:
    """Skip (locally) or fail (under CI=true) unless ``condition`` holds."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"missing prerequisite under CI=true: {reason}")
    pytest.skip(f"MISSING PREREQUISITE: {reason}")


@pytest.fixture(scope="session")
def trace_dir() -> Path:
    """The directory of the real public traces (``BINFORGE_TRACE_DIR``)."""
    value = os.environ.get("BINFORGE_TRACE_DIR", "")
    path = Path(value) if value else Path()
    require(bool(value) and path.is_dir(), f"BINFORGE_TRACE_DIR={value!r} is not a directory")
    return path
