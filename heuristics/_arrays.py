"""Private numpy helpers shared by the hot paths of heuristics."""

from __future__ import annotations

import numpy as np

__all__ = ["count_per_row"]

_BYTE_SUM = {1: (np.uint8, 1, 0), 2: (np.uint16, 0x0101, 8), 4: (np.uint32, 0x01010101, 24)}
_BYTE_SUM[8] = (np.uint64, 0x0101010101010101, 56)


def count_per_row(flags: np.ndarray) -> np.ndarray:
    """True values per row of a C-contiguous (nodes x GPUs) bool matrix."""
    # Hot path: numpy's row sum over a short axis costs ~30 µs on 1,523 nodes. For the
    # usual widths, view each row's bytes as one unsigned word and add its bytes with
    # one multiply (each byte is 0 or 1, so no byte overflows): ~5 µs.
    packing = _BYTE_SUM.get(flags.shape[1]) if flags.flags.c_contiguous else None
    if packing is None:
        return flags.sum(axis=1)
    dtype, multiplier, shift = packing
    words = flags.view(dtype).ravel()
    return (words * dtype(multiplier)) >> dtype(shift) & dtype(0xFF)
