# binforge winner 'binpack-u1000', exported 2026-11-29 15:58 UTC
# run: /tmp/s8/u1000-1
# program: #1191 (sample 1066, island 2, kind mutation)
# proposer: gp
# training fitness (higher is better): -2.29775
# chosen by program id; the run's recorded comparison is of its best, #1124

import numpy as np

def blend_1(pod, nodes, ctx):
    """Evolved by the binforge GP proposer (crossover of a parent)."""
    return np.nan_to_num((-(nodes.cpu_free - pod.cpu_milli - 0.346325 * (nodes.gpu_free / np.maximum(0.183223 * nodes.cpu_total, 1))) / (np.maximum(nodes.cpu_total, 1) - 0.5506 * nodes.pods) - 0.173575 * (1.0 * (nodes.cpu_free > pod.cpu_milli) * (nodes.cpu_free - pod.cpu_milli < 0.183223 * nodes.cpu_total))) * np.ones(len(nodes)), nan=-1000000000000.0, posinf=1000000000000.0, neginf=-1000000000000.0)

def score(pod, nodes, ctx):
    """Evolved by the binforge GP proposer (mutation of a parent)."""
    return np.nan_to_num(((pod.cpu_milli / np.maximum(nodes.cpu_free, 0.906003) / (3.810583 * (nodes.memory_free > pod.memory_mib) * (nodes.memory_free - pod.memory_mib < 0.1 * nodes.memory_total) + 1.0187)) ** 2 / (1.0 * (nodes.gpu_free == pod.gpu_milli_total) - (pod.memory_mib / np.maximum(nodes.memory_free, 1) + 2.6493)) - (0.173575 + 1.817 * ((nodes.cpu_free - pod.cpu_milli) / np.maximum(pod.cpu_milli, 1))) * ((1.0 + (nodes.cpu_free > np.maximum(nodes.memory_free, 1))) * (nodes.cpu_free - pod.cpu_milli < 0.183223 * (nodes.cpu_total + (-5.22318 ** 2 - (0.400804 * (9.7467 * pod.memory_mib / np.maximum(nodes.memory_free, 0.145453) > pod.cpu_milli) * (nodes.cpu_free - pod.cpu_milli < 0.2 * nodes.cpu_total) + nodes.pods / 0.296))))) + 11.663 * (nodes.memory_free + np.maximum(nodes.memory_total, 1)) + 2.4415 * blend_1(pod, nodes, ctx) + 3.1405 * (pod.memory_mib / np.maximum(nodes.memory_free, 1)) + 4.476 * (1.0 * (nodes.cpu_free > np.minimum(pod.cpu_milli, pod.gpu_milli_total)) * (nodes.cpu_free - pod.cpu_milli < 0.045302 * nodes.cpu_total)) - 2.495 * (nodes.gpu_free / np.maximum(1000 * nodes.gpu_total, 1 + 5.2767 * (1.0 * (nodes.gpu_free > pod.gpu_milli_total) * (nodes.gpu_free - pod.gpu_milli_total < 500)))) + 2.2377 * (1.0 * (nodes.gpu_free == pod.gpu_milli_total)) + 1.1801 * (nodes.cpu_free / np.maximum(nodes.cpu_total, 1))) * np.ones(len(nodes)), nan=-1000000000000.0, posinf=1000000000000.0, neginf=-1000000000000.0)
