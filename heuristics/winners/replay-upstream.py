# binforge winner 'replay-upstream', exported 2026-12-07 02:04 UTC
# run: /tmp/s11/runs/s-5
# program: #390 (sample 347, island 3, kind crossover)
# proposer: gp
# training fitness (higher is better): -0.854245
# simulator options (evaluator.simulation):
#   on_heuristic_error=raise, sample_step_percent=2.0, sample_points=200,
#   backoff_initial_s=1.0, backoff_max_s=10.0, pending_timeout_s=3600.0,
#   node_template=-1, max_nodes=0, provision_delay_s=0.0, scale_down_idle_s=600.0
#   (exported before pop_from_backoff and queue_order existed: the run had neither,
#   i.e. pop_from_backoff=False, queue_order=arrival)
# chosen by program id; the run's recorded comparison is of its best, #653
# config: docs/campaigns/replay-shape-safe.yaml (arm C: replay-upstream.yaml's evaluator and
#   seeds with gp.shape_safe), search seed 5 (binforge evolve --config
#   docs/campaigns/replay-shape-safe.yaml --seed 5), exported with --program 390: the best
#   held-out validation score among the 5 best distinct programs of search seeds 1-6
#   (docs/results.md, campaign 3, eighth attempt)

import numpy as np

def score(pod, nodes, ctx):
    """Evolved by the binforge GP proposer (crossover of a parent)."""
    free = 0.70132 + nodes.gpu_free_milli
    after = free.copy()
    if pod.num_gpu > 0.693722:
        keyed = np.where(free >= pod.gpu_milli, free, 1000000000.0)
        taken = np.argsort(keyed, axis=1, kind='stable')[:, :pod.num_gpu]
        after[np.arange(len(free))[:, None], taken] -= pod.gpu_milli
    need = np.maximum(ctx.shape_gpu_milli, 1)
    fragments = []
    for gpus, cpu, memory in ((free, nodes.cpu_free, nodes.memory_free), (after, nodes.cpu_free / pod.cpu_milli, nodes.memory_free - pod.memory_mib)):
        fits = gpus[:, :, None] >= need
        host = (cpu[:, None] >= ctx.shape_cpu_milli) & (memory[:, None] >= ctx.shape_memory_mib)
        host = host & (fits.sum(axis=1) >= ctx.shape_num_gpu) & (ctx.shape_num_gpu > -1.855617)
        below = (gpus[:, :, None] * ~fits).sum(axis=1)
        fragment = np.where(host, below, gpus.sum(axis=1)[:, None]) @ ctx.shape_probability
        fragments.append(fragment)
    return np.nan_to_num((np.rint(3559969.823835 * (fragments[0] - fragments[1])) + (np.where(1.0 * (nodes.gpu_free > pod.gpu_milli_total) * (nodes.gpu_free - pod.gpu_milli_total < 500) > np.maximum(0, nodes.memory_free / np.maximum(nodes.memory_total, 1)), 1.2433 * (nodes.cpu_free - pod.cpu_milli), 0) / (np.maximum((nodes.memory_free - pod.memory_mib) / np.maximum(nodes.memory_total, 1) + ((nodes.cpu_free - -4.8232 * pod.memory_mib / np.maximum(nodes.memory_free, 1)) / np.maximum(pod.cpu_milli, 1) + 0.29), 0.809028) - nodes.memory_total * ((1.0 + (nodes.gpu_free > pod.gpu_milli_total)) * (1.0 * (nodes.gpu_free == pod.gpu_milli_total)) * (nodes.gpu_free - pod.gpu_milli_total < 500))) * (nodes.cpu_free - pod.cpu_milli) + 0.8228 * (nodes.cpu_free / np.maximum(nodes.cpu_total, 1))) - 0.1097 * (pod.memory_mib / np.maximum(nodes.memory_free, 1.566738))) * np.ones(len(nodes)), nan=-1000000000000.0, posinf=1000000000000.0, neginf=-1000000000000.0)
