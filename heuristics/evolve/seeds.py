"""Standalone sources of the baselines that seed a search.

A seed enters the population as source code, which every proposer edits and the sandbox
runs, so it must be self-contained (numpy and math only, :mod:`heuristics.safety`). The
registered baselines call into binforge (FGD's fragmentation memo, kube-scheduler's
helpers), so first-fit, tetris, fgd and kube-default are restated here in a few lines,
and ``tests/test_seeds.py`` checks that each places every pod exactly as the registered
heuristic of the same name; best-fit, best-fit-cpu and worst-fit are the simpler forms of
FGD's and FunSearch's papers. ``seed_heuristics`` in a config names these or winner
files (:func:`seed_source`).
"""

from __future__ import annotations

__all__ = ["SEED_SOURCES", "seed_source"]

_FGD = '''\
import numpy as np


def score(pod, nodes, ctx):
    """FGD: minus the growth of the node's expected GPU fragmentation (ctx's shapes).

    A shape that needs no GPU, or that the node cannot host, finds every free GPU share
    fragmented; a hosted GPU shape, only the GPUs with less free than it asks per GPU.
    The pod takes the GPUs the simulator gives it: the fullest that fit for a shared
    pod, idle ones for whole GPUs (the multiset of free shares is what counts).
    In millionths of a thousandth of a GPU, rounded, so that nodes in the same state tie
    exactly, as in the registered FGD (float noise would break ties at random).
    """
    free = 1.0 * nodes.gpu_free_milli
    after = free.copy()
    if pod.num_gpu > 0:
        keyed = np.where(free >= pod.gpu_milli, free, 1e9)
        taken = np.argsort(keyed, axis=1, kind="stable")[:, : pod.num_gpu]
        after[np.arange(len(free))[:, None], taken] -= pod.gpu_milli
    need = np.maximum(ctx.shape_gpu_milli, 1)
    fragments = []
    for gpus, cpu, memory in (
        (free, nodes.cpu_free, nodes.memory_free),
        (after, nodes.cpu_free - pod.cpu_milli, nodes.memory_free - pod.memory_mib),
    ):
        fits = gpus[:, :, None] >= need
        host = (cpu[:, None] >= ctx.shape_cpu_milli) & (memory[:, None] >= ctx.shape_memory_mib)
        host = host & (fits.sum(axis=1) >= ctx.shape_num_gpu) & (ctx.shape_num_gpu > 0)
        below = (gpus[:, :, None] * ~fits).sum(axis=1)
        fragment = np.where(host, below, gpus.sum(axis=1)[:, None]) @ ctx.shape_probability
        fragments.append(fragment)
    return np.rint(1e6 * (fragments[0] - fragments[1]))
'''

_KUBE_DEFAULT = '''\
import numpy as np


def score(pod, nodes, ctx):
    """kube-scheduler's default: LeastAllocated plus BalancedAllocation, integer maths.

    LeastAllocated averages (capacity - requested) * 100 // capacity over CPU and memory,
    with zero requests counted as 100 millicores / 200 MiB; BalancedAllocation scores the
    change in |CPU share - memory share| / 2 that the pod brings, in 50..100.
    """
    cpu = nodes.nonzero_cpu_milli + (pod.cpu_milli or 100)
    memory = nodes.nonzero_memory_mib + (pod.memory_mib or 200)
    cpu_total = np.maximum(nodes.cpu_total, 1)
    memory_total = np.maximum(nodes.memory_total, 1)
    least_cpu = np.where(cpu <= nodes.cpu_total, (nodes.cpu_total - cpu) * 100 // cpu_total, 0)
    least_memory = np.where(
        memory <= nodes.memory_total, (nodes.memory_total - memory) * 100 // memory_total, 0
    )
    least = (least_cpu + least_memory) // 2
    if pod.cpu_milli == 0 and pod.memory_mib == 0:
        return 1.0 * least
    cpu_held = 1.0 * (nodes.cpu_total - nodes.cpu_free)
    memory_held = 1.0 * (nodes.memory_total - nodes.memory_free)
    with_pod = np.trunc(
        (1 - np.abs(np.minimum(1.0, (cpu_held + pod.cpu_milli) / cpu_total)
                    - np.minimum(1.0, (memory_held + pod.memory_mib) / memory_total)) / 2) * 100
    )
    without = np.trunc(
        (1 - np.abs(np.minimum(1.0, cpu_held / cpu_total)
                    - np.minimum(1.0, memory_held / memory_total)) / 2) * 100
    )
    return least + 50 + np.floor((50 + with_pod - without) / 2)
'''

SEED_SOURCES: dict[str, str] = {
    "best-fit": (
        "import numpy as np\n\n\n"
        "def score(pod, nodes, ctx):\n"
        '    """FGD\'s best fit: least CPU and GPU left, each normalised by the largest node."""\n'
        "    cpu = (nodes.cpu_free - pod.cpu_milli) / max(int(nodes.cpu_total.max()), 1)\n"
        "    gpu = (nodes.gpu_free - pod.gpu_milli_total) / max(1000 * int(nodes.gpu_total.max()), 1)\n"
        "    return 1.0 - 0.5 * cpu - 0.5 * gpu\n"
    ),
    "best-fit-cpu": (
        "import numpy as np\n\n\n"
        "def score(pod, nodes, ctx):\n"
        '    """FunSearch\'s best fit on CPU: -(free - request), the tightest node wins."""\n'
        "    return -(nodes.cpu_free - pod.cpu_milli) / np.maximum(nodes.cpu_total, 1)\n"
    ),
    "first-fit": (
        "import numpy as np\n\n\n"
        "def score(pod, nodes, ctx):\n"
        '    """First fit: every node scores the same, the lowest index wins."""\n'
        "    return 0.0 * nodes.cpu_free\n"
    ),
    "worst-fit": (
        "import numpy as np\n\n\n"
        "def score(pod, nodes, ctx):\n"
        '    """Worst fit: most CPU left after placing the pod."""\n'
        "    return (nodes.cpu_free - pod.cpu_milli) / np.maximum(nodes.cpu_total, 1)\n"
    ),
    "tetris": (
        "import numpy as np\n\n\n"
        "def score(pod, nodes, ctx):\n"
        '    """Tetris: alignment of the request with the free capacity, normalised."""\n'
        "    cpu = pod.cpu_milli * nodes.cpu_free / np.maximum(nodes.cpu_total, 1) ** 2\n"
        "    mem = pod.memory_mib * nodes.memory_free / np.maximum(nodes.memory_total, 1) ** 2\n"
        "    gpu = pod.gpu_milli_total * nodes.gpu_free / np.maximum(1000 * nodes.gpu_total, 1) ** 2\n"
        "    return cpu + mem + gpu\n"
    ),
    "fgd": _FGD,
    "kube-default": _KUBE_DEFAULT,
}
"""Seed name -> self-contained source of ``score(pod, nodes, ctx)``."""


def seed_source(name: str) -> str:
    """The standalone source of a seed heuristic: a built-in seed or a winner file.

    Raises:
        KeyError: for an unknown name (the message lists the known ones).
    """
    if name in SEED_SOURCES:
        return SEED_SOURCES[name]
    from heuristics.registry import WINNERS_DIR

    winner = WINNERS_DIR / f"{name}.py"
    if winner.is_file():
        return winner.read_text(encoding="utf-8")
    raise KeyError(
        f"seed heuristic {name!r}: not a built-in seed ({', '.join(SEED_SOURCES)}) "
        f"nor a winner file {winner}"
    )
