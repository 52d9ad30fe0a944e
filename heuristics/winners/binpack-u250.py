# binforge winner 'binpack-u250', exported 2026-11-29 17:58 UTC
# run: /tmp/s9/u250-s2
# program: #6573 (sample 5882, island 2, kind mutation)
# proposer: gp
# training fitness (higher is better): -3.3432
# chosen by program id; the run's recorded comparison is of its best, #6018

import numpy as np

def blend_1(pod, nodes, ctx):
    """Evolved by the binforge GP proposer (crossover of a parent)."""
    return np.nan_to_num((-(nodes.cpu_free - pod.cpu_milli - 0.346325 * (nodes.gpu_free / np.maximum(0.183223 * nodes.cpu_total, 1))) / (np.maximum(nodes.cpu_total, 1) - 0.5506 * nodes.pods) - 0.173575 * (1.0 * (nodes.cpu_free > pod.cpu_milli) * (nodes.cpu_free - pod.cpu_milli < 0.183223 * nodes.cpu_total))) * np.ones(len(nodes)), nan=-1000000000000.0, posinf=1000000000000.0, neginf=-1000000000000.0)

def score(pod, nodes, ctx):
    """Evolved by the binforge GP proposer (mutation of a parent)."""
    return np.nan_to_num((3.810583 * (nodes.memory_free > pod.cpu_milli / np.maximum(nodes.cpu_free, 0.906003) / (3.810583 * (nodes.memory_free > pod.memory_mib) * (nodes.memory_free - pod.memory_mib < 0.1 * nodes.memory_total) + 1.0187)) / ((5.726893 * (nodes.memory_free > pod.memory_mib) * (nodes.memory_free - pod.memory_mib < 0.1 * nodes.memory_total) + 1.4259 * (nodes.cpu_free / np.maximum(nodes.cpu_total, 1))) / 1.0187) / (1.0 * (nodes.gpu_free == pod.gpu_milli_total) - (nodes.cpu_free - pod.cpu_milli) / np.maximum(pod.cpu_milli, 1)) - (0.173575 + 1.817 * ((nodes.cpu_free - pod.cpu_milli) / np.maximum(pod.cpu_milli, 1))) * ((0.81555 + (nodes.cpu_free > np.exp(-np.abs(pod.cpu_milli)))) * (nodes.cpu_free - pod.cpu_milli < 0.173709 * (nodes.cpu_total + -5.22318 * (0.400804 * (9.7467 * pod.memory_mib / np.maximum(nodes.memory_free, 3.690065 - 3.9954 * (1.0 * (nodes.memory_free > pod.memory_mib) * (nodes.memory_free - pod.memory_mib < 0.1 * nodes.memory_total))) > pod.cpu_milli) * (nodes.cpu_free - pod.cpu_milli < 0.2 * nodes.cpu_total) + nodes.pods / 0.224161)))) + 11.663 * (nodes.memory_free + np.maximum(nodes.memory_total, 1)) + (3.690065 + 0.5487 * pod.gpu_milli_total) * blend_1(pod, nodes, ctx) + 3.1405 * (pod.memory_mib / np.maximum(nodes.memory_free, 1)) + 4.476 * (1.0 * (nodes.cpu_free > np.minimum(pod.cpu_milli, pod.gpu_milli_total)) * (nodes.cpu_free - pod.cpu_milli < 0.05 * nodes.cpu_total)) - 2.495 * (nodes.gpu_free / np.maximum(900.410488 * nodes.gpu_total, 1)) - (0.4433 + pod.cpu_milli / np.maximum(nodes.cpu_free, 1)) - 0.1988 * (1.0 * (nodes.cpu_free > pod.cpu_milli) * (nodes.cpu_free - pod.cpu_milli < 0.2 * nodes.cpu_total)) + 4.3758 * nodes.gpu_total) * np.ones(len(nodes)), nan=-1000000000000.0, posinf=1000000000000.0, neginf=-1000000000000.0)
