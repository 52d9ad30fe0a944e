"""binpack-weibull5k (heuristics/winners/binpack-weibull5k.py) reduced by hand for bin packing.

Algebra only, as binpack-weibull-reduced.py: memory and GPUs are zero in bin packing,
which turns the GP's memory and GPU terms into constants or zeros (one comparison,
``gap < 0.2 - capacity``, is never true); the constants are folded and the GP's unused
helper (``blend_1``, never called) is dropped. It places every item in the same bin as
the shipped winner (tests/test_winners.py; docs/results.md, campaign 1).
"""

import numpy as np


def score(pod, nodes, ctx):
    free = nodes.cpu_free
    capacity = nodes.cpu_total
    size = pod.cpu_milli
    gap = free - size  # what the bin keeps
    fresh = free == capacity
    # bins that would keep a gap from 2 up to about a fifth of the bin pay more, the more
    # they keep (the window widens a little with the gap and with the item)
    window = 0.183223 * (
        capacity
        - 0.1634
        - gap / np.maximum(size, 1)
        + 0.07315 * gap
        + 2.573 * np.exp(gap / (np.sqrt(0.1) * capacity))
    )
    # "gap > 1", as the GP wrote it: for a gap of exactly 1, float rounding of
    # exp(log1p(size)) decides, and it goes either way with the item's size
    over_one = free > np.exp(np.log1p(size))
    awkward = (2.3166 * fresh + 1.817 * gap / 0.7935) * (0.473019 + over_one) * (gap < window)
    # best fit that decays with the gap
    decay = np.exp(-(gap - 0.142417 * size) / (0.1 * capacity)) / 6.3285
    return (
        7.534984 * decay
        - awkward
        + 4.476 * (gap < 0.05 * capacity)  # a snug fit
        + (0.9384 + 0.3423 * np.log(2)) * (gap == 0)  # an exact fit
        - 1.6393 * fresh  # opening a fresh bin
        # room relative to the item: the GP's three size/free terms, folded
        + size / np.maximum(free, 0.906003) / 1.0187 / np.sqrt(np.abs(capacity - 2.6493))
        - 6.9404 * size / np.maximum(free, 1)
    )
