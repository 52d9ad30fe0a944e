# binforge winner 'binpack-weibull5k', exported 2026-11-29 15:32 UTC
# run: /tmp/s8/p1
# program: #320 (sample 282, island 2, kind mutation)
# proposer: gp
# training fitness (higher is better): -0.674453
# chosen by program id; the run's recorded comparison is of its best, #208

import numpy as np

def blend_1(pod, nodes, ctx):
    """Evolved by the binforge GP proposer (crossover of a parent)."""
    return np.nan_to_num((-(nodes.cpu_free - pod.cpu_milli - 0.346325 * (nodes.gpu_free / np.maximum(0.183223 * nodes.cpu_total, 1))) / (np.maximum(nodes.cpu_total, 1) - 0.5506 * nodes.pods) - 0.173575 * (1.0 * (nodes.cpu_free > pod.cpu_milli) * (nodes.cpu_free - pod.cpu_milli < 0.183223 * nodes.cpu_total))) * np.ones(len(nodes)), nan=-1000000000000.0, posinf=1000000000000.0, neginf=-1000000000000.0)

def score(pod, nodes, ctx):
    """Evolved by the binforge GP proposer (mutation of a parent)."""
    return np.nan_to_num((pod.cpu_milli / np.maximum(nodes.cpu_free, 0.906003) / (3.810583 * (nodes.memory_free > pod.memory_mib) * (nodes.memory_free - pod.memory_mib < 0.1 * nodes.memory_total) + 1.0187) / np.sqrt(np.abs(max(int(nodes.cpu_total.max()), 1) - (pod.memory_mib / np.maximum(nodes.memory_free, 1) + 2.6493))) - (2.3166 * 1.0 * (nodes.cpu_free == nodes.cpu_total) + 1.817 * ((nodes.cpu_free - pod.cpu_milli) / np.maximum(-(nodes.cpu_free - pod.cpu_milli), 0.7935))) * ((0.473019 + (nodes.cpu_free > np.exp(np.log1p(np.abs(-np.abs(pod.cpu_milli)))))) * (nodes.cpu_free - pod.cpu_milli < 0.183223 * (nodes.cpu_total + (pod.memory_mib / np.maximum(nodes.memory_free, 0.322933) - ((nodes.cpu_free - pod.cpu_milli) / np.maximum(pod.cpu_milli, 1) + 0.1634)) + 0.07315 * (nodes.cpu_free - pod.cpu_milli) + 2.573 / np.exp(-(nodes.cpu_free - pod.cpu_milli) / (np.sqrt(np.abs(0.1)) * np.maximum(nodes.cpu_total, 1)))))) + 7.534984 * (np.exp(-(nodes.cpu_free - pod.cpu_milli - 0.142417 * pod.cpu_milli) / (0.1 * np.maximum(nodes.cpu_total, 1))) / (1.0 * (nodes.gpu_free + 1.0561 * (1.0 * (nodes.cpu_free > pod.cpu_milli) * (nodes.cpu_free - pod.cpu_milli < 0.2 - nodes.cpu_total)) == pod.gpu_milli_total) + 5.3285) + np.maximum(nodes.memory_total, 0.865354)) + 3.524812 * 1.056907 + 3.1405 * (pod.memory_mib / np.maximum(nodes.memory_free, 1)) + 4.476 * (1.0 * (nodes.cpu_free > np.minimum(pod.cpu_milli, pod.gpu_milli_total)) * (nodes.cpu_free - pod.cpu_milli < 0.05 * nodes.cpu_total)) - np.where(1.0 * (nodes.cpu_free > pod.cpu_milli) * (nodes.cpu_free - pod.cpu_milli < 0.05 * nodes.cpu_total) > 0, 2.495, 0.523725) * (nodes.gpu_free / np.maximum(863.025936 / (nodes.gpu_total - 0.4902 * pod.gpu_milli_total), 1)) - 6.4712 * (pod.cpu_milli / np.maximum(nodes.cpu_free, 1)) - 1.6393 * (1.0 * (nodes.cpu_free == nodes.cpu_total)) - 4.0356 * nodes.gpu_idle + 3.4876 * nodes.gpu_idle - 0.4692 * (pod.cpu_milli / np.maximum(nodes.cpu_free, 1)) + 0.9384 * (1.0 * (nodes.cpu_free == pod.cpu_milli)) + 0.3423 * np.log1p(np.abs(1.0 * (nodes.cpu_free == pod.cpu_milli))) - 0.0673 * nodes.gpu_total - 0.3351 * nodes.gpu_total) * np.ones(len(nodes)), nan=-1000000000000.0, posinf=1000000000000.0, neginf=-1000000000000.0)
