"""Small array helpers shared by the loaders (private)."""

from __future__ import annotations

import numpy as np

__all__ = ["last_per_group"]


def last_per_group(groups: np.ndarray, count: int) -> np.ndarray:
    """For each group 0..count-1, the position of its last member in ``groups`` (-1: none).

    NumPy does not define which value wins when fancy assignment repeats an index, so
    "the last row wins" is computed explicitly.
    """
    last = np.full(count, -1, np.int64)
    np.maximum.at(last, groups, np.arange(len(groups), dtype=np.int64))
    return last
