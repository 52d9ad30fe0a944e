# binforge winner 'fgd-share', exported 2026-11-29 00:13 UTC
# run: /work/main/runs/fgd
# program: #608 (sample 531, island 3, kind mutation)
# proposer: gp
# training fitness (higher is better): 96.1339
# training fitness against the baselines:
#   winner                       96.1339
#   best-fit                     94.1105
#   fgd                          94.7362
#   first-fit                    94.7262
#   gpu-packing                  94.9087
#   tetris                       94.228
# held-out validation fitness against the baselines:
#   winner                       94.2917
#   best-fit                     92.4699
#   fgd                          92.8796
#   first-fit                    93.1832
#   gpu-packing                  93.2257
#   tetris                       92.0839

import numpy as np


def score(pod, nodes, ctx):
    """Evolved by the binforge GP proposer (mutation of a parent)."""
    return np.nan_to_num(
        (
            0.0
            - 0.2
            * (
                1.0
                * (nodes.memory_free > pod.memory_mib)
                * (
                    1.1076
                    * (
                        nodes.gpu_free
                        / np.maximum(
                            1000 + (nodes.memory_free + 7.5412 * nodes.pods - pod.memory_mib),
                            0.987746,
                        )
                    )
                )
                * (
                    nodes.memory_free - pod.memory_mib
                    < (1.0 + pod.cpu_milli)
                    / np.maximum(
                        nodes.cpu_free,
                        0.88052
                        - (
                            0.1342
                            - (nodes.memory_free - pod.memory_mib)
                            / (
                                nodes.gpu_idle
                                / (
                                    (1.0 * (nodes.cpu_free == nodes.cpu_total) + 0.0965)
                                    * (
                                        pod.memory_mib
                                        / np.maximum(
                                            nodes.memory_free,
                                            1
                                            * (
                                                1.0
                                                * (nodes.cpu_free > pod.cpu_milli)
                                                * (
                                                    nodes.cpu_free - pod.cpu_milli
                                                    < 0.05 * nodes.cpu_total
                                                )
                                            ),
                                        )
                                        - 0.3674 * (1.0 * (nodes.cpu_free == nodes.cpu_total))
                                    )
                                )
                            )
                        ),
                    )
                    * nodes.memory_total
                )
            )
        )
        / nodes.cpu_free
        * np.ones(len(nodes)),
        nan=-1000000000000.0,
        posinf=1000000000000.0,
        neginf=-1000000000000.0,
    )
