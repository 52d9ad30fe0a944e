"""binpack-u250 (heuristics/winners/binpack-u250.py) reduced by hand for bin packing.

Algebra only, as the other reductions here: memory and GPUs are zero in bin packing
(simulator/elastic.py builds CPU-only bins and items), which turns the GP's memory and
GPU terms into constants or zeros; the constants are folded, and its blended helper
(``blend_1``) is written out inline. One term survives only as a quirk: a quotient that
is 0 / 0 when the gap equals the item (the bin's room is exactly twice the item), which
the GP's NaN guard turns into a score of -1e12, so such a bin is never chosen while any
other bin fits. It places every item in the same bin as the shipped winner on
uniform:120, uniform:250, orlib:binpack1, orlib:binpack2 and funsearch:weibull5k.
"""

import numpy as np


def score(pod, nodes, ctx):
    free = nodes.cpu_free
    capacity = nodes.cpu_total
    size = pod.cpu_milli
    gap = free - size  # what the bin keeps
    items = nodes.pods  # items already in the bin
    # a sliver (a gap under 26 of 150, less 4.05 per item in the bin: none from 7 items)
    # pays more, the larger it is relative to the item
    window = 0.173709 * (capacity - 5.22318 * (items / 0.224161))
    sliver = (0.173575 + 1.817 * gap / np.maximum(size, 1)) * 1.81555 * (gap < window)
    # the blended best fit: the gap over the capacity less 0.55 per item, and a small
    # penalty on a gap under 18 % of the bin
    best_fit = -gap / (capacity - 0.5506 * items) - 0.173575 * (gap > 0) * (
        gap < 0.183223 * capacity
    )
    total = (
        -sliver
        + 3.690065 * best_fit
        + 4.476 * (gap < 0.05 * capacity)  # a snug fit
        - 0.1988 * (gap > 0) * (gap < 0.2 * capacity)  # a gap under a fifth of the bin
        - size / np.maximum(free, 1)  # item large for the room
    )
    # the GP's 0 / 0 at a gap equal to the item, which its NaN guard scores -1e12
    return np.where(gap == size, -1e12, total)
