# binforge winner 'replay-spread', exported 2026-11-29 01:59 UTC
# run: /tmp/h10/run1
# program: #311 (sample 266, island 2, kind mutation)
# proposer: gp
# search: nice -n 19 binforge evolve --config docs/campaigns/replay.yaml --run-dir /tmp/h10/run1
#   (search seed 1, 600 samples, 1 sandbox worker; the best on validation of three
#   searches, docs/results.md "Campaign 3"; it did not meet the campaign's target on test)
# training fitness (higher is better): -0.141419
# training fitness against the baselines:
#   winner                       -0.141419
#   best-fit                     -0.203286
#   fgd                          -0.181336
#   first-fit                    -0.194033
#   gpu-packing                  -0.198288
#   kube-default                 -0.150217
#   most-allocated               -0.216561
#   tetris                       -0.172082
#   volcano-binpack              -0.222256
# held-out validation fitness against the baselines:
#   winner                       -0.130216
#   best-fit                     -0.185945
#   fgd                          -0.181731
#   first-fit                    -0.185385
#   gpu-packing                  -0.178449
#   kube-default                 -0.1308
#   most-allocated               -0.202505
#   tetris                       -0.132335
#   volcano-binpack              -0.192098

import numpy as np

def score(pod, nodes, ctx):
    """Evolved by the binforge GP proposer (mutation of a parent)."""
    return np.nan_to_num(((nodes.cpu_free - (pod.cpu_milli - 0.1966 * nodes.gpu_total)) / np.maximum(0.3109 * (nodes.gpu_total - 2.8357 * np.exp(-(nodes.cpu_free - pod.cpu_milli) / (0.1 * np.maximum(nodes.cpu_total, 1))) + 0.2952 * (nodes.cpu_free / np.maximum(nodes.cpu_total, 1)) - 0.0472 * (1.0 * (nodes.cpu_free > pod.cpu_milli) * (nodes.cpu_free - pod.cpu_milli / np.maximum(nodes.cpu_free, 1) / (nodes.cpu_free / np.maximum(nodes.cpu_total, 1) + 0.7927) < 0.05 * nodes.cpu_total))), 1 - 0.031 * (1.0 * (nodes.cpu_free == nodes.cpu_total))) - 0.33706 * (1.0 * (nodes.memory_free > pod.memory_mib) * (nodes.memory_free - pod.memory_mib < 0.1 * nodes.memory_total))) * np.ones(len(nodes)), nan=-1000000000000.0, posinf=1000000000000.0, neginf=-1000000000000.0)
