# binforge winner 'transfer-cpu', exported 2026-11-29 02:58 UTC
# run: /tmp/h16/transfer-cpu
# program: #810 (sample 715, island 3, kind crossover)
# proposer: gp
# training fitness (higher is better): 96.9284
# training fitness against the baselines:
#   winner                       96.9284
#   best-fit                     95.5507
#   first-fit                    95.5507
#   kube-default                 96.5836
#   tetris                       96.821
# held-out validation fitness against the baselines:
#   winner                       97.2998
#   best-fit                     95.966
#   first-fit                    95.9537
#   kube-default                 97.0622
#   tetris                       97.2247

import numpy as np

def score(pod, nodes, ctx):
    """Evolved by the binforge GP proposer (crossover of a parent)."""
    cpu = ((pod.cpu_milli + (nodes.memory_free - pod.memory_mib) * pod.cpu_milli) * nodes.cpu_free - 6.3236 * (1.0 * (nodes.cpu_free == nodes.cpu_total))) / (0.5114 / (nodes.memory_free - pod.memory_mib) / np.maximum(nodes.memory_total - 0.495 * (nodes.memory_free / np.maximum(nodes.memory_total, 1)), 1))
    mem = pod.memory_mib * nodes.memory_free / np.maximum(nodes.memory_total, 1) ** 2
    gpu = pod.gpu_milli_total * nodes.gpu_free / np.maximum(1000 * nodes.gpu_total, 1) ** (3.476005 - 2.5819 * (nodes.memory_free / np.maximum(nodes.memory_total, 1)))
    return np.nan_to_num((cpu + mem + gpu) * np.ones(len(nodes)), nan=-1000000000000.0, posinf=1000000000000.0, neginf=-1000000000000.0)
