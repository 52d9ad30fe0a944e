"""Small recordings for the recording, whatif and evolve tests, written with the real writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cluster_traces.recording_writer import NodeRecord, PodRecord, RecordingWriter

__all__ = ["write_contended"]


def write_contended(directory: Path) -> Path:
    """Three 8-GPU nodes and 40 pods (whole and shared GPUs, CPU-only) over 40 s, each
    alive 5..20 s, a quarter of them never bound by the recorded scheduler."""
    rng = np.random.default_rng(7)
    with RecordingWriter(directory, cluster="whatif") as writer:
        for i in range(3):
            writer.node("add", NodeRecord(f"node-{i}", 64_000, 262_144, 8, "V100"), 0)
        for i in range(40):
            gpus = int(rng.choice([0, 1, 1, 2]))
            share = int(rng.choice([250, 500, 1000])) if gpus == 1 else (1000 if gpus else 0)
            pod = PodRecord(
                uid=f"u{i}",
                namespace="ml",
                name=f"job-{i}",
                scheduler="default-scheduler",
                cpu_milli=int(rng.integers(1, 16)) * 1000,
                memory_mib=int(rng.integers(1, 64)) * 1024,
                num_gpu=gpus,
                gpu_milli=share,
            )
            writer.created(pod, t_s=float(i))
            if i % 4:
                writer.bound(f"u{i}", f"node-{i % 3}", t_s=i + 0.1)
            writer.deleted(f"u{i}", t_s=i + float(rng.integers(5, 20)))
    return directory
