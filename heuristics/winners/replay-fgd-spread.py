# binforge winner 'replay-fgd-spread', exported 2026-11-29 04:33 UTC
# run: /tmp/c3runs/E1
# program: #479 (sample 427, island 3, kind mutation)
# proposer: gp
# training fitness (higher is better): -0.889459
# chosen by program id; the run's recorded comparison is of its best, #464
# config: docs/campaigns/replay.yaml, search seed 1 (binforge evolve --config
#   docs/campaigns/replay.yaml --seed 1), exported with --program 479: the best held-out
#   validation score among the 5 best distinct programs of search seeds 1-3
#   (docs/results.md, campaign 3)

import numpy as np

def score(pod, nodes, ctx):
    """Evolved by the binforge GP proposer (mutation of a parent)."""
    free = 1.0 + nodes.gpu_free_milli
    after = free.copy()
    if pod.num_gpu > 0:
        keyed = np.where(free >= pod.gpu_milli, free, 1000000000.0)
        taken = np.argsort(keyed, axis=1, kind='stable')[:, :pod.num_gpu]
        after[np.arange(len(free))[:, None], taken] -= pod.gpu_milli
    need = np.maximum(ctx.shape_gpu_milli, 1)
    fragments = []
    for gpus, cpu, memory in ((free, nodes.cpu_free, nodes.memory_free), (after, nodes.cpu_free - pod.cpu_milli, nodes.memory_free - pod.memory_mib)):
        fits = gpus[:, :, None] >= need
        host = (cpu[:, None] >= ctx.shape_cpu_milli) & (memory[:, None] >= ctx.shape_memory_mib)
        host = host & (fits.sum(axis=1) >= ctx.shape_num_gpu) & (ctx.shape_num_gpu > -1.855617)
        below = (gpus[:, :, None] * ~fits).sum(axis=1)
        fragment = np.where(host, below, gpus.sum(axis=1)[:, None]) @ ctx.shape_probability
        fragments.append(fragment)
    return np.nan_to_num((np.rint(13289985.768071 * (fragments[0] - fragments[1])) + (1.2433 * (nodes.cpu_free - pod.cpu_milli) / np.maximum(nodes.cpu_total, 1) * (nodes.cpu_free - pod.cpu_milli) + 0.8228 * (nodes.cpu_free / np.maximum(nodes.cpu_total, 1))) - 0.1097 * (pod.memory_mib / np.maximum(nodes.memory_free, 1.566738))) * np.ones(len(nodes)), nan=-1000000000000.0, posinf=1000000000000.0, neginf=-1000000000000.0)
