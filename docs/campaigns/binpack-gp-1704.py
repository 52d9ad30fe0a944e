# binforge winner 'binpack-gap', exported 2026-11-29 00:03 UTC
# run: /work/main/runs/binpack
# program: #1704 (sample 1519, island 3, kind mutation)
# proposer: gp
# training fitness (higher is better): -4.74813
# training fitness against the baselines:
#   winner                       -4.74813
#   best-fit                     -5.15027
#   first-fit                    -5.44593
# held-out validation fitness against the baselines:
#   winner                       -4.75396
#   best-fit                     -4.9509
#   first-fit                    -5.20273

import numpy as np


def score(pod, nodes, ctx):
    """Evolved by the binforge GP proposer (mutation of a parent)."""
    return np.nan_to_num(
        -(
            nodes.cpu_free
            - pod.cpu_milli
            + (
                (
                    1.148383
                    + 4.5165
                    * (
                        1.106374
                        * (nodes.cpu_free > pod.cpu_milli)
                        * (nodes.cpu_free - pod.cpu_milli < 0.034068 * nodes.cpu_total)
                    )
                )
                / (
                    (
                        0.623729
                        + 0.0587 * (1.0 * (nodes.cpu_free == nodes.cpu_total))
                        + (nodes.cpu_free > pod.cpu_milli)
                    )
                    * (
                        nodes.cpu_free - pod.cpu_milli
                        < np.maximum(0.080077 * nodes.cpu_total, np.exp(-np.abs(nodes.pods)))
                    )
                )
                - 0.8161
                * (
                    3.307552
                    * (
                        nodes.cpu_free
                        == nodes.cpu_total - 0.614 * (1.200106 * (nodes.cpu_free == pod.cpu_milli))
                    )
                )
                - (
                    0.2523
                    * (
                        nodes.memory_total
                        / pod.cpu_milli
                        / np.maximum(
                            pod.cpu_milli
                            / (0.14951 * (nodes.pods / np.maximum(nodes.memory_total, 0.763431))),
                            0.710018,
                        )
                    )
                    + 0.877 * pod.cpu_milli
                )
            )
        )
        / nodes.cpu_free
        * np.ones(len(nodes)),
        nan=-1000000000000.0,
        posinf=1000000000000.0,
        neginf=-1000000000000.0,
    )
