# binforge winner 'transfer-multi', exported 2026-11-29 19:57 UTC
# run: /tmp/s10/runs/tm-1
# program: #637 (sample 568, island 0, kind mutation)
# proposer: gp
# training fitness (higher is better): 1.00721
# chosen by program id; the run's recorded comparison is of its best, #649
# config: docs/campaigns/transfer-multi.yaml, search seed 1 (binforge evolve --config
#   docs/campaigns/transfer-multi.yaml --seed 1), exported with --program 637: the best
#   held-out validation score among the 5 best distinct programs of search seeds 1-2
#   (docs/results.md, campaign 4, third attempt)

import numpy as np

def blend_1(pod, nodes, ctx):
    """Tetris: alignment of the request with the free capacity, normalised."""
    cpu = pod.cpu_milli * nodes.cpu_free / np.maximum(nodes.cpu_total, 1) ** 2
    mem = pod.memory_mib * nodes.memory_free / np.maximum(nodes.memory_total, 1) ** 2
    gpu = pod.gpu_milli_total * nodes.gpu_free / np.maximum(1000 * nodes.gpu_total, 1) ** 2
    return cpu + mem + gpu

def score(pod, nodes, ctx):
    """Evolved by the binforge GP proposer (mutation of a parent)."""
    memory_left = nodes.memory_free - pod.memory_mib
    untouched = 1.0 * (nodes.cpu_free == nodes.cpu_total)
    cpu_nearly_full = (1.0 + 8.8113 * pod.gpu_milli_total + 0.5006 * (pod.cpu_milli / np.maximum(nodes.cpu_free, 1))) * (nodes.cpu_free > pod.cpu_milli) * (nodes.cpu_free - pod.cpu_milli < 0.062318 / nodes.cpu_total)
    memory_ratio = (pod.memory_mib + nodes.cpu_free * (nodes.cpu_free / pod.cpu_milli / np.maximum(nodes.cpu_total, 1))) / np.maximum(np.where((nodes.gpu_free - pod.gpu_milli_total) / np.maximum((1448.894895 - 0.1456 * 1.0 * (np.exp(-np.abs(pod.gpu_milli_total)) > 0) * (1.0 * (nodes.cpu_free == nodes.cpu_total))) * nodes.gpu_total, 1) > 0.19384, nodes.memory_free, 0), 1 * cpu_nearly_full)
    guard = (untouched + 0.0965) * (memory_ratio - 0.4151 * untouched)
    floor = 0.509211 - (0.112017 - memory_left / (nodes.gpu_idle / guard))
    cpu_share = (0.414758 + pod.cpu_milli) / np.maximum(nodes.cpu_free, floor) + 0.2721 * (2.044826 * (nodes.cpu_free == nodes.cpu_total)) + 0.1986 * ((nodes.gpu_free - pod.gpu_milli_total) / np.maximum(630.485083 * nodes.gpu_total, 0.867153))
    memory_tight = memory_left < cpu_share * nodes.memory_total
    gpu_term = 1.1076 * (0.046807 * pod.gpu_milli_total)
    fits_memory = 1.0 * (nodes.memory_free > pod.memory_mib)
    value = (0.0 - pod.memory_mib * (fits_memory * gpu_term * memory_tight) - 12.893142 * (0.650576 * (-2.1406 * 1.0 * (nodes.cpu_free > pod.cpu_milli) * (nodes.cpu_free - pod.cpu_milli < 0.05 * nodes.cpu_total) > 0.046807 * pod.gpu_milli_total) * (nodes.cpu_free - np.where(1.0 * (nodes.gpu_free == pod.gpu_milli_total) > 0, pod.cpu_milli, 0) < 0.045087 * nodes.cpu_total)) + 0.9612 * (1.0 * (nodes.gpu_free > pod.gpu_milli_total) * (nodes.gpu_free - pod.gpu_milli_total < 500))) / nodes.cpu_free
    return np.nan_to_num((value + 0.6155 * 1.199249 * np.any(ctx.shape_num_gpu > 0) * (1.0 * (nodes.gpu_free > pod.gpu_milli_total) * (nodes.gpu_free - pod.gpu_milli_total < 424.668191)) + 0.4678 * 1.0 * (pod.gpu_milli_total == 0) * (1.0 * (nodes.gpu_free > pod.gpu_milli_total) * (nodes.gpu_free - pod.gpu_milli_total < 500)) + 0.0274591 * blend_1(pod, nodes, ctx) - 0.1465 * 1.0 * (pod.gpu_milli_total == 0) * (pod.memory_mib / np.maximum(nodes.memory_free, 1))) * np.ones(len(nodes)), nan=-1000000000000.0, posinf=1000000000000.0, neginf=-1000000000000.0)
