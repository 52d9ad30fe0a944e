# binforge winner 'transfer-tight', exported 2026-11-29 02:01 UTC
# run: /tmp/h12/transfer
# program: #650 (sample 569, island 1, kind mutation)
# proposer: gp
# training fitness (higher is better): 77.1494
# training fitness against the baselines:
#   winner                       77.1494
#   best-fit                     75.5827
#   fgd                          76.1423
#   first-fit                    76.0931
#   kube-default                 75.4424
#   tetris                       75.6512
# held-out validation fitness against the baselines:
#   winner                       70.8159
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
    cpu_nearly_full = (1.0 + 8.8113 * pod.gpu_milli_total) * (nodes.cpu_free > pod.cpu_milli) * (nodes.cpu_free - pod.cpu_milli < 0.05 / nodes.cpu_total)
    memory_ratio = (pod.memory_mib + nodes.cpu_free * ((nodes.cpu_free - pod.cpu_milli) / np.maximum(nodes.cpu_total, 1))) / np.maximum(np.where((nodes.gpu_free - pod.gpu_milli_total) / np.maximum(1448.894895 * nodes.gpu_total, 1) > 0, nodes.memory_free, 0), 1 * cpu_nearly_full)
    guard = (untouched + 0.0965) * (memory_ratio - 0.4151 * untouched)
    floor = 0.88052 - (0.112017 - memory_left / (nodes.gpu_idle / guard))
    cpu_share = (1.0 + pod.cpu_milli) / np.maximum(nodes.cpu_free, floor) + 0.2721 * (1.451164 * (nodes.cpu_free == nodes.cpu_total)) + 0.1986 * ((nodes.gpu_free - pod.gpu_milli_total) / np.maximum(630.485083 * nodes.gpu_total, 0.867153))
    memory_tight = memory_left < cpu_share * nodes.memory_total
    gpu_term = 1.1076 * (0.0613 * pod.gpu_milli_total)
    fits_memory = 1.0 * (nodes.memory_free > pod.memory_mib)
    value = (0.0 - 0.2 * (fits_memory * gpu_term * memory_tight)) / nodes.cpu_free
    return np.nan_to_num(value * np.ones(len(nodes)), nan=-1000000000000.0, posinf=1000000000000.0, neginf=-1000000000000.0)
