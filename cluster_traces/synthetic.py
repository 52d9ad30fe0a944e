"""The embedded default: a small heterogeneous cluster and workload that need no files.

The shapes follow the alibaba-gpu-v2023 trace in miniature: CPU-only nodes and GPU nodes of
three models (8x V100M32, 4x T4, 2x A10); pods that are CPU-only, share one GPU
(``gpu_milli`` < 1000), take one whole GPU, or take 2, 4 or 8 whole GPUs, some restricted to
GPU models. Arrivals are a Poisson process and lifetimes log-normal. Everything is drawn from
one seeded generator, so a seed always gives the same scenario.
"""

from __future__ import annotations

import numpy as np

from cluster_traces.model import Cluster, Replay, Scenario, Workload
from cluster_traces.units import GIB

__all__ = ["synthetic_cluster", "synthetic_scenario", "synthetic_workload"]

# (count, cores, memory GiB, GPUs, model)
_NODE_SHAPES = (
    (6, 64, 256, 0, ""),
    (6, 96, 768, 8, "V100M32"),
    (8, 64, 256, 4, "T4"),
    (4, 32, 128, 2, "A10"),
)

_SHARED_MILLI = (100, 250, 300, 500, 600, 750)


def synthetic_cluster() -> Cluster:
    """The embedded cluster: 24 nodes, 6 CPU-only, 18 with GPUs of 3 models (88 GPUs)."""
    names: list[str] = []
    cpu: list[int] = []
    memory: list[int] = []
    gpus: list[int] = []
    models: list[str] = []
    for count, cores, gib, gpu, model in _NODE_SHAPES:
        for _ in range(count):
            names.append(f"synthetic-node-{len(names):02d}")
            cpu.append(cores * 1000)
            memory.append(gib * GIB)
            gpus.append(gpu)
            models.append(model)
    return Cluster(
        names=np.array(names),
        cpu_milli=np.array(cpu, np.int64),
        memory_mib=np.array(memory, np.int64),
        gpu_count=np.array(gpus, np.int64),
        gpu_model=np.array(models),
        source="synthetic",
    )


def synthetic_workload(num_pods: int = 600, seed: int = 0) -> Workload:
    """``num_pods`` pods in arrival order: 30% CPU-only, 35% GPU-sharing, 25% one whole GPU,
    10% multi-GPU; 15% of GPU pods restricted to one model. Raises ValueError if num_pods < 1.
    """
    if num_pods < 1:
        raise ValueError(f"synthetic_workload: expected num_pods >= 1, got {num_pods}")
    rng = np.random.default_rng(seed)
    kind = rng.choice(4, size=num_pods, p=[0.30, 0.35, 0.25, 0.10])
    num_gpu = np.select([kind == 0, kind == 3], [0, rng.choice([2, 4, 8], num_pods)], 1)
    gpu_milli = np.select(
        [kind == 0, kind == 1], [0, rng.choice(_SHARED_MILLI, num_pods)], 1000
    ).astype(np.int64)
    cores = np.where(
        kind == 0, rng.choice([1, 2, 4, 8, 16], num_pods), rng.choice([2, 4, 8], num_pods)
    )
    cores = np.where(kind == 3, num_gpu * 8, cores)
    memory_gib = cores * rng.choice([2, 4, 8], num_pods)
    restricted = (num_gpu > 0) & (rng.random(num_pods) < 0.15)
    models = np.array(["V100M32", "T4", "A10"])
    spec = np.where(restricted, models[rng.integers(0, 3, num_pods)], "")
    spec = np.where(restricted & (num_gpu > 2), "V100M32", spec)  # only V100 nodes have 8 GPUs
    arrival = np.cumsum(rng.exponential(30.0, num_pods))
    lifetime = rng.lognormal(mean=np.log(1800.0), sigma=1.0, size=num_pods)
    qos = np.where(kind == 0, "BE", "LS")
    return Workload(
        names=np.char.add("synthetic-pod-", np.arange(num_pods).astype(str)),
        cpu_milli=cores * 1000,
        memory_mib=memory_gib * GIB,
        num_gpu=num_gpu,
        gpu_milli=gpu_milli,
        gpu_spec=spec,
        qos=qos,
        priority=np.where(qos == "LS", 1, 0),
        arrival_s=arrival,
        departure_s=arrival + lifetime,
        source=f"synthetic:seed={seed}",
    )


def synthetic_scenario(seed: int = 0, num_pods: int = 600) -> Scenario:
    """The embedded default scenario (protocol saturate to 130% of GPU capacity)."""
    return Scenario(
        name="synthetic",
        cluster=synthetic_cluster(),
        workload=synthetic_workload(num_pods, seed),
        replay=Replay(protocol="saturate", seed=seed),
    )
