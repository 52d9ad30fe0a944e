"""binpack-u1000 (heuristics/winners/binpack-u1000.py) reduced by hand for bin packing.

Algebra only, as the other reductions here: memory and GPUs are zero in bin packing,
which turns the GP's memory and GPU terms into constants or zeros; the constants are
folded, and its blended helper (``blend_1``) is written out inline. It places every item
in the same bin as the shipped winner (tests/test_winners.py; docs/results.md,
campaign 1).
"""

import numpy as np


def score(pod, nodes, ctx):
    free = nodes.cpu_free
    capacity = nodes.cpu_total
    size = pod.cpu_milli
    gap = free - size  # what the bin keeps
    items = nodes.pods  # items already in the bin
    # a sliver (a gap under 22.5 of 150, less 0.62 per item in the bin) pays more, the
    # larger it is relative to the item
    window = 0.183223 * (capacity - 5.22318**2 - items / 0.296)
    sliver = (0.173575 + 1.817 * gap / np.maximum(size, 1)) * (1 + (free > 1)) * (gap < window)
    # the blended best fit: the gap over the capacity less 0.55 per item, and a small
    # penalty on a gap under 18 % of the bin
    best_fit = -gap / (capacity - 0.5506 * items) - 0.173575 * (gap > 0) * (
        gap < 0.183223 * capacity
    )
    return (
        -sliver
        + 2.4415 * best_fit
        + 4.476 * (gap < 0.045302 * capacity)  # a snug fit
        - (size / np.maximum(free, 0.906003) / 1.0187) ** 2 / 1.6493  # item large for the room
        + 1.1801 * free / capacity  # a roomier bin
    )
