# Ablation of binpack-gap (not a winner): the same 8 % switch between best fit among
# near-full bins and first fit among the rest, without binpack-gap's penalties and size
# terms. `make results` shows it beside the winners, to tell which part earns the gain.

import numpy as np


def score(pod, nodes, ctx):
    """Best fit among bins left with a gap under 8 % of the capacity, first fit otherwise."""
    gap = nodes.cpu_free - pod.cpu_milli
    near = gap < np.maximum(0.080077 * nodes.cpu_total, np.exp(-np.abs(nodes.pods)))
    return np.where(near, -gap, -1e12)
