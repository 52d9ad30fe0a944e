# binforge winner 'fgd-share', exported 2026-11-29 00:13 UTC
# run: /work/main/runs/fgd
# program: #608 (sample 531, island 3, kind mutation)
# proposer: gp
# training fitness (higher is better): 96.1339
# training fitness against the baselines:
#   winner                       96.1339
#   best-fit                     94.1105
#   fgd                          94.7362
#   first-fit                    94.7262
#   gpu-packing                  94.9087
#   tetris                       94.228
# held-out validation fitness against the baselines:
#   winner                       94.2917
#   best-fit                     92.4699
#   fgd                          92.8796
#
# Rewritten by hand from program #608 (docs/campaigns/fgd-gp-608.py, the exported
# original): the same operations in the same order, split into named steps, so the
# scores are bit-identical; tests/test_winners.py checks the placements match.

import numpy as np


def score(pod, nodes, ctx):
    """Penalise memory-tight nodes in proportion to their free GPU per free CPU.

    A node is *memory-tight* when the share of its memory the pod would leave is below
    (pod CPU + 1) / free CPU. Such nodes score -0.22 * free GPU / (1000 + memory left +
    7.5 * pods) / free CPU (<= 0); every other node scores 0, so among those the lowest
    index wins (first fit). ``guard`` and ``floor`` exempt nodes that already hold pods
    but have no idle GPU (a division by zero becomes an infinite floor) and, on nodes
    with idle GPUs and little free CPU, bound the CPU ratio.
    """
    memory_left = nodes.memory_free - pod.memory_mib
    untouched = 1.0 * (nodes.cpu_free == nodes.cpu_total)
    cpu_nearly_full = (
        1.0
        * (nodes.cpu_free > pod.cpu_milli)
        * (nodes.cpu_free - pod.cpu_milli < 0.05 * nodes.cpu_total)
    )
    memory_ratio = pod.memory_mib / np.maximum(nodes.memory_free, 1 * cpu_nearly_full)
    guard = (untouched + 0.0965) * (memory_ratio - 0.3674 * untouched)
    floor = 0.88052 - (0.1342 - memory_left / (nodes.gpu_idle / guard))
    cpu_share = (1.0 + pod.cpu_milli) / np.maximum(nodes.cpu_free, floor)
    memory_tight = memory_left < cpu_share * nodes.memory_total
    gpu_term = 1.1076 * (
        nodes.gpu_free
        / np.maximum(1000 + (nodes.memory_free + 7.5412 * nodes.pods - pod.memory_mib), 0.987746)
    )
    fits_memory = 1.0 * (nodes.memory_free > pod.memory_mib)
    value = (0.0 - 0.2 * (fits_memory * gpu_term * memory_tight)) / nodes.cpu_free
    return np.nan_to_num(
        value * np.ones(len(nodes)),
        nan=-1000000000000.0,
        posinf=1000000000000.0,
        neginf=-1000000000000.0,
    )
