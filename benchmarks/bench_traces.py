"""Trace loading times: alibaba-gpu-v2023 default pods + nodes (< 0.5 s) and the Azure train
split of 1.2 million VMs (< 10 s). Each figure is the best of a few runs after a warm-up.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import Measurement
from cluster_traces.alibaba_gpu import load_alibaba_gpu_nodes, load_alibaba_gpu_pods
from cluster_traces.azure import load_azure_vms
from cluster_traces.google import load_google_2019_machines
from cluster_traces.synthetic import synthetic_scenario


def _best_of(repeats: int, work: Callable[[], object]) -> float:
    work()  # warm-up: imports, page cache
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def run() -> list[Measurement]:
    rows = [
        Measurement("build synthetic default scenario", _best_of(3, synthetic_scenario), "s"),
    ]
    value = os.environ.get("BINFORGE_TRACE_DIR", "")
    root = Path(value) if value else None
    if root is None or not root.is_dir():
        return rows
    gpu = root / "alibaba-gpu-v2023"
    seconds = _best_of(
        5, lambda: (load_alibaba_gpu_nodes(gpu), load_alibaba_gpu_pods(gpu, "default"))
    )
    rows.append(
        Measurement(
            "load alibaba-gpu-v2023 default + nodes", seconds, "s", "< 0.5 s", seconds < 0.5
        )
    )
    imports, first = _cold_seconds(gpu)
    rows.append(
        Measurement("  same, first call in a fresh process", first, "s", "< 0.5 s", first < 0.5)
    )
    rows.append(Measurement("  imports before it (numpy, pyarrow)", imports, "s"))
    seconds = _best_of(2, lambda: load_azure_vms(root / "azure-v1-2017", "train"))
    rows.append(
        Measurement("load azure-v1-2017 train (1.2 M VMs)", seconds, "s", "< 10 s", seconds < 10)
    )
    seconds = _best_of(1, lambda: load_google_2019_machines(root / "google-2019-cell-a"))
    rows.append(Measurement("load google-2019-cell-a machines", seconds, "s"))
    return rows


_COLD = """
import sys, time
from pathlib import Path
started = time.perf_counter()
from cluster_traces.alibaba_gpu import load_alibaba_gpu_nodes, load_alibaba_gpu_pods
imported = time.perf_counter()
load_alibaba_gpu_nodes(Path(sys.argv[1])); load_alibaba_gpu_pods(Path(sys.argv[1]))
print(imported - started, time.perf_counter() - imported)
"""


def _cold_seconds(folder: Path) -> tuple[float, float]:
    """(import time, first load time) in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", _COLD, str(folder)], capture_output=True, text=True, check=True
    )
    imports, first = done.stdout.split()
    return float(imports), float(first)
