"""binpack-snug (heuristics/winners/binpack-snug.py) reduced by hand for bin packing.

Algebra only: memory and GPUs are zero in bin packing, which turns the GP's memory and
GPU terms into constants; the constants are folded. It places every item in the same bin
as the shipped winner (tests/test_winners.py; docs/results.md, campaign 1).
"""

import numpy as np


def score(pod, nodes, ctx):
    free = nodes.cpu_free
    capacity = nodes.cpu_total
    size = pod.cpu_milli
    gap = free - size  # what the bin keeps
    items = nodes.pods  # items already in the bin
    snug = gap < 0.05 * capacity
    small = (gap > 0) * (gap < 0.183223 * capacity)
    awkward = gap < 0.183223 * (capacity - 5.22318 - items / 0.296)
    return (
        -3.524812 * gap / (capacity - 0.5506 * items)  # best fit
        + 4.476 * (free > 0) * snug
        - 3.524812 * 0.173575 * small
        - 2 * (0.173575 + 1.817 * gap / np.maximum(size, 1)) * awkward
        - 0.5951 * size / np.maximum(free, 0.906003)  # a little room is a tie-break
    )
