# binforge winner 'replay-upstream', exported 2026-12-07 01:23 UTC
# run: /tmp/s11/runs/r8-3
# program: #248 (sample 219, island 3, kind crossover)
# proposer: gp
# training fitness (higher is better): -0.853443
# simulator options (evaluator.simulation):
#   on_heuristic_error=raise, sample_step_percent=2.0, sample_points=200,
#   backoff_initial_s=1.0, backoff_max_s=10.0, pending_timeout_s=3600.0,
#   node_template=-1, max_nodes=0, provision_delay_s=0.0, scale_down_idle_s=600.0
# training fitness against the baselines:
#   winner                       -0.853443
#   best-fit                     -2.35526
#   fgd                          -2.13816
#   first-fit                    -2.13303
#   gpu-packing                  -2.15615
#   kube-default                 -1
#   most-allocated               -2.79356
#   tetris                       -1.05828
#   volcano-binpack              -2.7501
# held-out validation fitness against the baselines:
#   winner                       -0.913072
#   best-fit                     -2.21565
#   fgd                          -2.09021
#   first-fit                    -2.1195
#   gpu-packing                  -2.11362
#   kube-default                 -1
#   most-allocated               -3.3686
#   tetris                       -1.60833
#   volcano-binpack              -3.01486
# config: docs/campaigns/replay-upstream.yaml, search seed 3 (binforge evolve --config
#   docs/campaigns/replay-upstream.yaml --seed 3), exported with --program 248: second on
#   held-out validation among the 5 best distinct programs of search seeds 1-6, level
#   with the first (#484 of seed 3: -0.913055 against -0.913072), which divides every
#   score by the pod's memory request and so scores every node alike for a pod that
#   requests no memory (docs/results.md, campaign 3, eighth attempt)

import numpy as np

def score(pod, nodes, ctx):
    """Evolved by the binforge GP proposer (crossover of a parent)."""
    free = 1.0 + nodes.gpu_free_milli
    after = free.copy()
    if pod.num_gpu > 0:
        keyed = np.where(free >= pod.gpu_milli, free, 1582939974.159796)
        taken = np.argsort(keyed, axis=1, kind='stable')[:, :pod.num_gpu]
        after[np.arange(len(free))[:, None], taken] -= pod.gpu_milli
    need = np.maximum(ctx.shape_gpu_milli, 1.422682)
    fragments = []
    for gpus, cpu, memory in ((free, nodes.cpu_free, nodes.memory_free), (after, nodes.cpu_free - pod.cpu_milli, nodes.memory_free - pod.memory_mib)):
        fits = gpus[:, :, None] >= need
        host = (cpu[:, None] >= ctx.shape_cpu_milli) & (memory[:, None] >= ctx.shape_memory_mib)
        host = host & (fits.sum(axis=1) >= ctx.shape_num_gpu) & (ctx.shape_num_gpu > -2.02669)
        below = (gpus[:, :, None] * ~fits).sum(axis=1)
        fragment = np.where(host, below, gpus.sum(axis=1)[:, None]) @ ctx.shape_probability
        fragments.append(fragment)
    return np.nan_to_num((np.rint(13289985.768071 * (fragments[0] - fragments[1]) - 0.2144 * (nodes.cpu_free / np.maximum(nodes.cpu_total, 1) / ((nodes.memory_free - pod.memory_mib) / np.maximum(nodes.memory_total, 1) + 1.799) * (nodes.cpu_free - pod.cpu_milli < 0.2 * nodes.cpu_total))) + ((0.996913 - 3.0648 * (nodes.gpu_free / np.maximum(1439.767064 * nodes.gpu_total, 1))) * 1.422682 / np.maximum(nodes.cpu_total, 1) * (nodes.cpu_free - pod.cpu_milli) + 0.8228 * (nodes.cpu_free / np.maximum(nodes.cpu_total, 1))) - 0.1097 * (pod.memory_mib / np.maximum(nodes.memory_free, 1.566738))) * np.ones(len(nodes)), nan=-1000000000000.0, posinf=1000000000000.0, neginf=-1000000000000.0)
