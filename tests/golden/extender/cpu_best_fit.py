"""Golden-test heuristic: best fit on CPU, then on memory (fewest left over wins)."""

import numpy as np


def score(pod, nodes, ctx):
    cpu_left = (nodes.cpu_free - pod.cpu_milli) / np.maximum(nodes.cpu_total, 1)
    memory_left = (nodes.memory_free - pod.memory_mib) / np.maximum(nodes.memory_total, 1)
    return -(cpu_left + 0.5 * memory_left)
