"""binpack-u500 (heuristics/winners/binpack-u500.py) reduced by hand for bin packing, as
binpack-u1000-reduced.py is: the same algebra, and the same check that it places every
item in the same bin as the shipped winner (tests/test_winners.py)."""

import numpy as np


def score(pod, nodes, ctx):
    free = nodes.cpu_free
    capacity = nodes.cpu_total
    size = pod.cpu_milli
    gap = free - size  # what the bin keeps
    items = nodes.pods  # items already in the bin
    near = (gap > 0) * (gap < 0.2 * capacity)  # a gap under a fifth of the bin
    # the sliver window: about 13.7 % of the bin (20.4 of 150), a little less for a
    # near gap and as the gap grows
    room = capacity - near - gap / capacity - 1.2895
    # a sliver pays more, the larger it is, in itself and relative to the item
    weight = gap + gap / np.maximum(size, 0.32011) + 0.9969 + (free > np.exp(-size))
    sliver = (0.173575 + 1.817 * gap / np.maximum(size, 1)) * weight * (gap < 0.137453 * room)
    # the blended best fit: the gap over the capacity less 0.55 per item, and a small
    # penalty on a gap under 18 % of the bin
    best_fit = -gap / (capacity - 0.5506 * items) - 0.173575 * (gap > 0) * (
        gap < 0.183223 * capacity
    )
    return (
        -sliver
        + 3.524812 * best_fit
        + 3.1405 * 0.183223 * room  # a slight best fit, and a little less for a near gap
        + 4.476 * (1 - 0.0376 * near) * (gap < 0.05 * capacity)  # a snug fit
        # the item's share of the room: the two terms net to -0.14 * size / free
        - size / np.maximum(free, 0.906003) / (1.0187 * 1.6493)
        + 0.4564 * size / np.maximum(free, 1)
    )
