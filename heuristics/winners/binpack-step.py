# binforge winner 'binpack-step', exported 2026-11-29 00:25 UTC
# run: /work/main/runs/binpack-seed2
# program: #832 (sample 735, island 3, kind mutation)
# proposer: gp
# training fitness (higher is better): -3.63331
# training fitness against the baselines:
#   winner                       -3.63331
#   best-fit                     -5.15027
#   first-fit                    -5.44593
# held-out validation fitness against the baselines:
#   winner                       -3.65665
#   best-fit                     -4.9509
#   first-fit                    -5.20273

import numpy as np


def score(pod, nodes, ctx):
    """Evolved by the binforge GP proposer (mutation of a parent)."""
    return np.nan_to_num(
        np.exp(
            -np.abs(
                (
                    1.40859
                    * (nodes.cpu_free > pod.cpu_milli)
                    * (
                        nodes.cpu_free - (pod.cpu_milli - 1.1546 * nodes.pods)
                        < 0.210649
                        * (
                            nodes.cpu_total
                            + np.exp(
                                -(nodes.cpu_free - pod.cpu_milli)
                                / (0.1 * np.maximum(nodes.cpu_total, 1))
                            )
                            / (
                                (nodes.memory_free - pod.memory_mib)
                                / np.maximum(nodes.memory_total, 1)
                                + 0.2482
                            )
                        )
                    )
                    - 0.591441
                    * (
                        (
                            1.025487
                            * (
                                nodes.cpu_free
                                > pod.gpu_milli_total
                                / (
                                    1.605075
                                    * (nodes.cpu_free - pod.cpu_milli > pod.cpu_milli)
                                    * (nodes.cpu_free - pod.cpu_milli < 0.2 * nodes.cpu_total)
                                    - 0.9672 * (nodes.cpu_free * np.maximum(nodes.cpu_total, 1))
                                    + 0.3697
                                )
                            )
                            + 0.9824
                            * ((nodes.cpu_free - pod.cpu_milli) / np.maximum(nodes.cpu_total, 1))
                        )
                        * (nodes.cpu_free - pod.cpu_milli < 0.05 * nodes.cpu_total)
                    )
                    + ((nodes.cpu_free - pod.cpu_milli) / np.maximum(pod.cpu_milli, 1) + 0.5165)
                )
                * np.maximum(nodes.cpu_total, 0.881954)
            )
        )
        * np.ones(len(nodes)),
        nan=-1000000000000.0,
        posinf=1000000000000.0,
        neginf=-1000000000000.0,
    )
