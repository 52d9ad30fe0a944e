# binforge winner 'binpack-snug', exported 2026-11-29 06:39 UTC
# run: /tmp/b2-4
# program: #3066 (sample 2745, island 1, kind mutation)
# proposer: gp
# training fitness (higher is better): -0.704125
# training fitness against the baselines:
#   winner                       -0.704125
#   best-fit                     -1
#   first-fit                    -1.48985
# held-out validation fitness against the baselines:
#   winner                       -0.656685
#   best-fit                     -1
#   first-fit                    -1.32174
# config: docs/campaigns/binpack.yaml (campaign 1's second attempt), search seed 4
#   (binforge evolve --config docs/campaigns/binpack.yaml --seed 4; stopped by its 480 s
#   budget), exported with --program 3066: the best held-out validation score among the
#   5 best distinct programs of search seeds 1-4 (docs/results.md, campaign 1)

import numpy as np

def blend_1(pod, nodes, ctx):
    """Evolved by the binforge GP proposer (crossover of a parent)."""
    return np.nan_to_num((-(nodes.cpu_free - pod.cpu_milli - 0.346325 * (nodes.gpu_free / np.maximum(0.183223 * nodes.cpu_total, 1))) / (np.maximum(nodes.cpu_total, 1) - 0.5506 * nodes.pods) - 0.173575 * (1.0 * (nodes.cpu_free > pod.cpu_milli) * (nodes.cpu_free - pod.cpu_milli < 0.183223 * nodes.cpu_total))) * np.ones(len(nodes)), nan=-1000000000000.0, posinf=1000000000000.0, neginf=-1000000000000.0)

def score(pod, nodes, ctx):
    """Evolved by the binforge GP proposer (mutation of a parent)."""
    return np.nan_to_num((pod.cpu_milli / np.maximum(nodes.cpu_free, 0.906003) / (3.810583 * (nodes.memory_free > pod.memory_mib) * (nodes.memory_free - pod.memory_mib < 0.1 * nodes.memory_total) + 1.0187) / (1.0 * (nodes.gpu_free == pod.gpu_milli_total) - (pod.memory_mib / np.maximum(nodes.memory_free, 1) + 2.6493)) - (0.173575 + 1.817 * ((nodes.cpu_free - pod.cpu_milli) / np.maximum(pod.cpu_milli, 1))) * ((1.0 + (nodes.cpu_free > np.exp(-np.abs(pod.cpu_milli)))) * (nodes.cpu_free - pod.cpu_milli < 0.183223 * (nodes.cpu_total + (-5.22318 - (0.400804 * (9.7467 * pod.memory_mib / np.maximum(nodes.memory_free, 1) > pod.cpu_milli) * (nodes.cpu_free - pod.cpu_milli < 0.2 * nodes.cpu_total) + nodes.pods / 0.296))))) + 11.663 * (nodes.memory_free + np.maximum(nodes.memory_total, 1)) + 3.524812 * blend_1(pod, nodes, ctx) + 3.1405 * (pod.memory_mib / np.maximum(nodes.memory_free, 1)) + 4.476 * (1.0 * (nodes.cpu_free > np.minimum(pod.cpu_milli, pod.gpu_milli_total)) * (nodes.cpu_free - pod.cpu_milli < 0.05 * nodes.cpu_total)) - 2.495 * (nodes.gpu_free / np.maximum(1000 * nodes.gpu_total, 1))) * np.ones(len(nodes)), nan=-1000000000000.0, posinf=1000000000000.0, neginf=-1000000000000.0)
