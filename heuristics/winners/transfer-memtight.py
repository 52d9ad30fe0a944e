# binforge winner 'transfer-memtight', exported 2026-11-29 02:24 UTC
# run: /tmp/h12/transfer-seed5
# program: #603 (sample 526, island 2, kind mutation)
# proposer: gp
# training fitness (higher is better): 77.0692
# training fitness against the baselines:
#   winner                       77.0692
#   best-fit                     75.5827
#   fgd                          76.1423
#   first-fit                    76.0931
#   kube-default                 75.4424
#   tetris                       75.6512
# held-out validation fitness against the baselines:
#   winner                       70.6753
#   best-fit                     69.6378
#   fgd                          70.0627
#   first-fit                    69.952
#   kube-default                 70.2301
#   tetris                       70.3478

import numpy as np

def score(pod, nodes, ctx):
    """Evolved by the binforge GP proposer (mutation of a parent)."""
    memory_left = nodes.memory_free - pod.memory_mib
    untouched = 1.0 * (nodes.cpu_free == nodes.cpu_total)
    cpu_nearly_full = 1.0 * (nodes.cpu_free > pod.cpu_milli) * (nodes.cpu_free - pod.cpu_milli < 0.05 * nodes.cpu_total) - 0.6822 * (nodes.gpu_free / np.maximum(1076.620106 * nodes.gpu_total, 1))
    memory_ratio = pod.memory_mib / np.maximum(nodes.memory_free, 1 * cpu_nearly_full)
    guard = (untouched + 0.0965) * (memory_ratio - 1.0 * (nodes.memory_free > pod.memory_mib) * (nodes.memory_free - pod.memory_mib < 0.1 * nodes.memory_total) / (pod.gpu_milli_total + 1.1632))
    floor = 1.328408 - (0.1342 - memory_left / (nodes.gpu_idle / guard))
    cpu_share = (1.0 + pod.cpu_milli) / np.maximum(nodes.cpu_free, floor)
    memory_tight = memory_left < cpu_share * nodes.memory_total
    gpu_term = 1.1076 * (nodes.gpu_free / (0.0575 * (nodes.cpu_free / pod.cpu_milli) / np.maximum(nodes.cpu_total, 1)))
    fits_memory = 1.0 * (nodes.memory_free > pod.memory_mib)
    value = (0.0 - 0.2 * (((fits_memory - 4.1231 * (0.904171 * (nodes.gpu_free == pod.gpu_milli_total))) * gpu_term + 11.0192 * nodes.memory_total) * memory_tight)) / (nodes.memory_free - pod.cpu_milli)
    return np.nan_to_num(value * np.ones(len(nodes)), nan=-1000000000000.0, posinf=1000000000000.0, neginf=-1000000000000.0)
