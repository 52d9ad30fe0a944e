"""binpack-u120 (heuristics/winners/binpack-u120.py) reduced by hand for bin packing.

Algebra only, as the other reductions here: memory and GPUs are zero in bin packing
(simulator/elastic.py builds CPU-only bins and items), which turns the GP's memory and
GPU terms into constants or zeros; the terms that are the same for every bin (11.663,
-0.173575 and -1.817 / size) are dropped, and its blended helper (``blend_1``) is written
out inline. Its scores differ from the winner's by that constant (to within 1e-14), and
it places every item in the same bin as the shipped winner on uniform:120, uniform:250,
orlib:binpack1, orlib:binpack2 and funsearch:weibull5k.
"""

import numpy as np


def score(pod, nodes, ctx):
    free = nodes.cpu_free
    capacity = nodes.cpu_total
    size = pod.cpu_milli
    gap = free - size  # what the bin keeps
    items = nodes.pods  # items already in the bin
    # the blended best fit: the gap over the capacity less 0.55 per item, and a small
    # penalty on a gap under 18 % of the bin (27.5 of 150)
    best_fit = -gap / (capacity - 0.5506 * items) - 0.173575 * (gap > 0) * (
        gap < 0.183223 * capacity
    )
    # best fit again, scaled by the item's share of the room: about
    # 2.52 * size / free * best_fit, so a big item is pushed harder to a tight bin
    share = size * best_fit / (0.906003 * 1.0187 * (1.513 / 3.524812 * free - 1.6493 * best_fit))
    # a crowded bin: two or more items and under 7.2 of 150 left (3.3 with three items,
    # 2.1 with four, ...); only tiny items fit, never those of the u class (20..100)
    window = 0.183223 * (capacity / (items / 0.220938 - 5.22318))
    crowded = free - np.exp(-size) < window
    # counted twice unless the item (nearly) fills it: exp(log1p(size)) is size + 1 up to
    # rounding, kept as the winner has it so that a gap of exactly 1 scores the same
    crowded = (1 + (free > np.exp(np.log1p(size)))) * crowded
    return (
        share
        + 0.643 * gap / (capacity - 0.0724)  # a roomier bin, against best fit
        - crowded
        + 4.177105 * best_fit
        + 4.476 * (gap < 0.05 * capacity)  # a snug fit: a gap under 7.5 of 150
        - 0.2556 * items  # a bin with fewer items
        # a gap under a fifth of the bin (30 of 150) costs 0.4556, a larger one 0.4556
        # times the item's share of the room
        - 0.4556 * np.maximum(size / free, gap < 0.2 * capacity)
    )
