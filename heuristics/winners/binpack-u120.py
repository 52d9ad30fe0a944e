# binforge winner 'binpack-u120', exported 2026-11-29 17:51 UTC
# run: /tmp/s9/u120-s2
# program: #7791 (sample 6974, island 2, kind mutation)
# proposer: gp
# training fitness (higher is better): -5.2363
# training fitness against the baselines:
#   winner                       -5.2363
#   best-fit                     -6.15945
#   binpack-snug                 -5.74742
#   first-fit                    -6.77236
# held-out validation fitness against the baselines:
#   winner                       -6.0197
#   best-fit                     -6.84532
#   binpack-snug                 -6.54537
#   first-fit                    -7.36947

import numpy as np

def blend_1(pod, nodes, ctx):
    """Evolved by the binforge GP proposer (crossover of a parent)."""
    return np.nan_to_num((-(nodes.cpu_free - pod.cpu_milli - 0.346325 * (nodes.gpu_free / np.maximum(0.183223 * nodes.cpu_total, 1))) / (np.maximum(nodes.cpu_total, 1) - 0.5506 * nodes.pods) - 0.173575 * (1.0 * (nodes.cpu_free > pod.cpu_milli) * (nodes.cpu_free - pod.cpu_milli < 0.183223 * nodes.cpu_total))) * np.ones(len(nodes)), nan=-1000000000000.0, posinf=1000000000000.0, neginf=-1000000000000.0)

def score(pod, nodes, ctx):
    """Evolved by the binforge GP proposer (mutation of a parent)."""
    return np.nan_to_num((pod.cpu_milli / np.maximum(nodes.cpu_free * (0.844036 * (nodes.memory_free > pod.memory_mib) * (nodes.memory_free - pod.memory_mib < np.log1p(np.abs(0.1 * nodes.memory_total)))), 0.906003) / (3.810583 * (nodes.memory_free > pod.memory_mib) * (nodes.memory_free - pod.memory_mib < -0.105383 * nodes.memory_total) + 1.0187) / (1.0 * (nodes.gpu_free == pod.gpu_milli_total) + 1.513 * (nodes.cpu_free / (3.524812 * blend_1(pod, nodes, ctx))) - (pod.memory_mib / np.maximum(nodes.memory_free, 1) + 2.6493)) - (0.173575 + 1.817 * (1.0 / np.maximum(pod.cpu_milli, 1)) - 0.643 * ((nodes.cpu_free - pod.cpu_milli) / np.maximum(nodes.cpu_total - 0.0724 * (1.0 * (nodes.gpu_free == pod.gpu_milli_total)), 1)) + (1.0 + (nodes.cpu_free > np.exp(np.log1p(np.abs(-np.abs(pod.cpu_milli)))))) * (nodes.cpu_free - np.exp(-np.abs(pod.cpu_milli)) < 0.183223 * (nodes.cpu_total / (-5.22318 - (0.400804 * (9.7467 * pod.memory_mib / np.maximum(nodes.memory_free, 1) > pod.cpu_milli) * (nodes.cpu_free - pod.cpu_milli < 0.2 * nodes.cpu_total) + nodes.pods / -0.220938))))) + 11.663 * (nodes.memory_free + np.maximum(nodes.memory_total, 1)) + 4.177105 * blend_1(pod, nodes, ctx) + 3.1405 * (pod.memory_mib / np.maximum(nodes.memory_free, 1)) + 4.476 * (1.0 * (nodes.cpu_free > np.minimum(pod.cpu_milli, pod.gpu_milli_total)) * (nodes.cpu_free - pod.cpu_milli < 0.05 * nodes.cpu_total)) - 2.495 * (nodes.gpu_free / np.maximum(1000 * nodes.gpu_total, 1)) - 0.2556 * nodes.pods - 5.8179 * nodes.gpu_idle - 0.4556 * np.maximum(pod.cpu_milli / np.maximum(nodes.cpu_free, 1), 1.0 * (nodes.cpu_free > pod.cpu_milli) * (nodes.cpu_free - pod.cpu_milli < 0.2 * nodes.cpu_total))) * np.ones(len(nodes)), nan=-1000000000000.0, posinf=1000000000000.0, neginf=-1000000000000.0)
