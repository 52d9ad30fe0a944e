"""Alibaba GPU-sharing cluster trace v2023 (the FGD paper's openb node and pod lists).

Units are already the model's: CPU millicores, memory MiB, GPUs as counts, GPU share in
thousandths, times in seconds. Pod-list variants that lack the time columns load with
NaN arrival and departure times.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from cluster_traces._table import NO_CAPACITY, Column, read_csv, reject_repeats, reject_rows
from cluster_traces.model import GPU_MILLI_PER_GPU, Cluster, Workload

__all__ = [
    "NODE_LISTS",
    "POD_VARIANTS",
    "load_alibaba_gpu_nodes",
    "load_alibaba_gpu_pods",
    "pod_list_path",
]

NODE_LISTS = ("all_node", "gpu_node")
"""Node-list variants: every node, or the GPU nodes only."""

POD_VARIANTS = (
    "default",
    "cpu0",
    "cpu037",
    "cpu050",
    "cpu072",
    "cpu100",
    "cpu200",
    "cpu235",
    "cpu250",
    "cpu300",
    "gpushare20",
    "gpushare40",
    "gpushare60",
    "gpushare80",
    "gpushare100",
)
"""Pod-list variants published with the trace (``openb_pod_list_<variant>.csv``)."""

_NODE_COLUMNS = (
    Column("sn", "str", "a node name"),
    Column("cpu_milli", "int", "a non-negative integer (millicores)"),
    Column("memory_mib", "int", "a non-negative integer (MiB)"),
    Column("gpu", "int", "a non-negative integer (GPU count)"),
    Column("model", "str", "a GPU model label"),
)

_POD_COLUMNS = (
    Column("name", "str", "a pod name"),
    Column("cpu_milli", "int", "a non-negative integer (millicores)"),
    Column("memory_mib", "int", "a non-negative integer (MiB)"),
    Column("num_gpu", "int", "a non-negative integer (GPU count)"),
    Column("gpu_milli", "int", "an integer share of each GPU in thousandths (0..1000)"),
    Column("gpu_spec", "str", "GPU models separated by '|'"),
    Column("qos", "str", "a QoS class", optional=True),
    Column("creation_time", "float", "a non-negative time (s)", optional=True),
    Column("deletion_time", "float", "a non-negative time (s) or empty", nullable=True,
           optional=True),
)  # fmt: skip
_POD_UNREAD = ("pod_phase", "scheduled_time")


def pod_list_path(trace_dir: Path, variant: str) -> Path:
    """The file of a pod-list variant (``default``, ``cpu050``, ...) under the set folder."""
    return trace_dir / f"openb_pod_list_{variant}.csv"


def load_alibaba_gpu_nodes(trace_dir: Path, node_list: str = "all_node") -> Cluster:
    """Load the nodes of ``openb_node_list_<node_list>.csv`` from the set folder.

    Raises TraceFormatError for a malformed file, FileNotFoundError when missing, ValueError
    for an unknown ``node_list``.
    """
    if node_list not in NODE_LISTS:
        raise ValueError(
            f"alibaba-gpu-v2023 node list: expected one of {NODE_LISTS}, got {node_list!r}"
        )
    path = trace_dir / f"openb_node_list_{node_list}.csv"
    data = read_csv(path, _NODE_COLUMNS)
    names = data["sn"]
    models = data["model"]
    gpu = data["gpu"]
    reject_rows(
        path, (gpu > 0) & (models == ""), "model", models, "a GPU model for a node with GPUs", 2
    )
    empty = (data["cpu_milli"] == 0) & (data["memory_mib"] == 0) & (gpu == 0)
    reject_rows(path, empty, "cpu_milli", data["cpu_milli"], NO_CAPACITY, 2)
    reject_repeats(path, names, "sn", "a unique node name", 2)
    return Cluster(
        names=names.astype(str),
        cpu_milli=data["cpu_milli"],
        memory_mib=data["memory_mib"],
        gpu_count=gpu,
        gpu_model=models.astype(str),
        source=f"alibaba-gpu-v2023:{node_list}",
    )


def load_alibaba_gpu_pods(trace_dir: Path, variant: str = "default") -> Workload:
    """Load the pods of ``openb_pod_list_<variant>.csv`` in arrival order (file order when
    the file has no times; ties keep file order).

    Times are seconds; deletion_time becomes ``departure_s`` (NaN when empty); files without
    time columns give NaN times. Raises TraceFormatError for a malformed file (line = row
    index + 2), FileNotFoundError when missing.
    """
    path = pod_list_path(trace_dir, variant)
    data = read_csv(path, _POD_COLUMNS, unread=_POD_UNREAD)
    n = len(data["name"])
    num_gpu = data["num_gpu"]
    gpu_milli = data["gpu_milli"]
    reject = partial(reject_rows, path, first_line=2)
    names = data["name"]
    reject(names == "", "name", names, "a pod name")
    reject_repeats(path, names, "name", "a unique pod name", 2)
    reject(num_gpu > 8, "num_gpu", num_gpu, "a GPU count from 0 to 8")
    reject(gpu_milli > GPU_MILLI_PER_GPU, "gpu_milli", gpu_milli, "a share from 0 to 1000")
    reject(
        (num_gpu > 0) & (gpu_milli == 0),
        "gpu_milli",
        gpu_milli,
        "a positive share for a pod that requests GPUs",
    )
    reject(
        (num_gpu > 1) & (gpu_milli != GPU_MILLI_PER_GPU),
        "gpu_milli",
        gpu_milli,
        "1000 (whole GPUs) for a multi-GPU pod",
    )
    reject((num_gpu == 0) & (gpu_milli != 0), "gpu_milli", gpu_milli, "0 for a pod without GPUs")
    nan = np.full(n, np.nan)
    arrival = data.get("creation_time", nan)
    departure = data.get("deletion_time", nan)
    early = departure < arrival
    reject(early, "deletion_time", departure, "a time not before creation_time")
    qos = data.get("qos", np.full(n, "", dtype=object))
    pods = Workload(
        names=data["name"].astype(str),
        cpu_milli=data["cpu_milli"],
        memory_mib=data["memory_mib"],
        num_gpu=num_gpu,
        gpu_milli=gpu_milli,
        gpu_spec=data["gpu_spec"].astype(str),
        qos=qos.astype(str),
        priority=np.zeros(n, np.int64),
        arrival_s=arrival,
        departure_s=departure,
        source=f"alibaba-gpu-v2023:{variant}",
    )
    if not pods.has_times or np.all(np.diff(arrival) >= 0):
        return pods
    # The cpu* variants are not sorted by creation time; a Workload is in arrival order.
    return pods.take(np.argsort(arrival, kind="stable"))
