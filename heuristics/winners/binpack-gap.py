# binforge winner 'binpack-gap', exported 2026-11-29 00:03 UTC
# run: /work/main/runs/binpack
# program: #1704 (sample 1519, island 3, kind mutation)
# proposer: gp
# training fitness (higher is better): -4.74813
# training fitness against the baselines:
#   winner                       -4.74813
#   best-fit                     -5.15027
#   first-fit                    -5.44593
# held-out validation fitness against the baselines:
#   winner                       -4.75396
#   best-fit                     -4.9509
#   first-fit                    -5.20273

#
# Simplified by hand from program #1704 (docs/campaigns/binpack-gp-1704.py):
# algebra only, valid where memory is 0 (bin packing); `make results` re-measures it and
# tests/test_winners.py checks it places every item exactly where #1704 does
# (docs/campaigns/binpack-gp-1704.py, the exported original).

import numpy as np


def score(pod, nodes, ctx):
    """Best fit among near-full bins, first fit among the others.

    A bin the item would leave with a gap under 8 % of its capacity ("near") scores
    -(gap + penalty - 0.877 * size - 2.70 * opens_bin) / free: roughly best fit, with a
    penalty step so that a gap just under 3.4 % of the capacity ranks below gaps a little
    over it. Every other bin ties at -1e12, so the lowest index wins: the oldest open bin
    that fits, and a new bin only when no open bin fits.
    """
    free = nodes.cpu_free
    capacity = nodes.cpu_total
    size = pod.cpu_milli
    gap = free - size
    empty = (free == capacity) * 1.0
    exact = gap == 0
    tiny = (gap > 0) * (gap < 0.034068 * capacity)
    lift = np.where(tiny, 6.145321, 1.148383)
    penalty = np.where(
        exact, 1.148383 / (0.623729 + 0.0587 * empty), lift / (1.623729 + 0.0587 * empty)
    )
    near = gap < np.maximum(0.080077 * capacity, np.exp(-np.abs(nodes.pods)))
    fit = -(gap + penalty - 2.699293 * empty * (gap != 0) - 0.877 * size) / free
    return np.where(near, fit, -1e12)
