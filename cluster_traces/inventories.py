"""Node inventories of sets that publish machines only: Alibaba v2018, PAI v2020, spot GPU v2026.

These sets give no pods; they combine with a workload from another set (for example
``azure-v1-2017:train@alibaba-v2018``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cluster_traces._arrays import last_per_group
from cluster_traces._table import NO_CAPACITY, Column, read_csv, reject_repeats, reject_rows
from cluster_traces.model import Cluster, MiB
from cluster_traces.units import ALIBABA_V2018_UNITS, GIB, NormalisedUnits

__all__ = [
    "SPOT_MEMORY_MIB_PER_VCPU",
    "load_alibaba_v2018_machines",
    "load_pai_v2020_machines",
    "load_spot_gpu_v2026_nodes",
]

SPOT_MEMORY_MIB_PER_VCPU: MiB = 8 * GIB
"""Assumed memory per vCPU of the spot-GPU nodes, whose memory is not published."""

_V2018_NAMES = ("machine_id", "time_stamp", "failure_domain_1", "failure_domain_2", "cpu_num",
                "mem_size", "status")  # fmt: skip
_V2018_COLUMNS = (
    Column("machine_id", "str", "a machine id"),
    Column("time_stamp", "float", "a non-negative time (s)"),
    Column("cpu_num", "int", "a non-negative integer (cores)"),
    Column("mem_size", "float", "a normalised memory size (0..100)"),
)

_PAI_NAMES = ("machine", "gpu_type", "cap_cpu", "cap_mem", "cap_gpu")
_PAI_COLUMNS = (
    Column("machine", "str", "a machine id"),
    Column("gpu_type", "str", "a GPU type (CPU for none)"),
    Column("cap_cpu", "int", "a non-negative integer (cores)"),
    Column("cap_mem", "float", "a non-negative memory size (GB)"),
    Column("cap_gpu", "int", "a non-negative integer (GPU count)"),
)

_SPOT_COLUMNS = (
    Column("gpu_model", "str", "a GPU model"),
    Column("gpu_capacity_num", "int", "a non-negative integer (GPU count)"),
    Column("cpu_num", "int", "a non-negative integer (vCPU)"),
    Column("node_name", "str", "a node name"),
)


def load_alibaba_v2018_machines(
    trace_dir: Path, units: NormalisedUnits = ALIBABA_V2018_UNITS
) -> Cluster:
    """The machines of ``machine_meta.csv`` (no header), each with its last recorded size.

    ``mem_size`` is normalised to 100 = the largest machine; 100 points become
    ``units.memory_mib_of_1`` MiB. Raises TraceFormatError for a malformed file.
    """
    path = trace_dir / "machine_meta.csv"
    data = read_csv(path, _V2018_COLUMNS, names=_V2018_NAMES)
    reject_rows(path, data["mem_size"] > 100, "mem_size", data["mem_size"], "at most 100", 1)
    empty = (data["cpu_num"] == 0) & (data["mem_size"] == 0)
    reject_rows(path, empty, "cpu_num", data["cpu_num"], NO_CAPACITY, 1)
    order = np.argsort(data["time_stamp"], kind="stable")
    names, node_of_row = np.unique(data["machine_id"][order].astype(str), return_inverse=True)
    last = order[last_per_group(node_of_row, len(names))]
    cpu = data["cpu_num"][last] * 1000
    mem = data["mem_size"][last] / 100
    return Cluster(
        names=names,
        cpu_milli=cpu,
        memory_mib=units.memory_mib(mem),
        gpu_count=np.zeros(len(names), np.int64),
        gpu_model=np.full(len(names), ""),
        source="alibaba-v2018:machine_meta",
    )


def load_pai_v2020_machines(trace_dir: Path) -> Cluster:
    """The machines of ``pai_machine_spec.csv`` (no header): cores, GB (taken as GiB), GPUs.

    ``gpu_type`` CPU marks machines without GPUs. Raises TraceFormatError for a malformed
    file or a machine with GPUs and type CPU.
    """
    path = trace_dir / "pai_machine_spec.csv"
    data = read_csv(path, _PAI_COLUMNS, names=_PAI_NAMES)
    gpu_type = data["gpu_type"].astype(str)
    reject_rows(
        path, (gpu_type == "CPU") & (data["cap_gpu"] > 0), "cap_gpu", data["cap_gpu"],
        "0 GPUs on a machine of gpu_type CPU", 1,
    )  # fmt: skip
    reject_repeats(path, data["machine"], "machine", "a unique name", 1)
    empty = (data["cap_cpu"] == 0) & (data["cap_mem"] == 0) & (data["cap_gpu"] == 0)
    reject_rows(path, empty, "cap_cpu", data["cap_cpu"], NO_CAPACITY, 1)
    return Cluster(
        names=data["machine"].astype(str),
        cpu_milli=data["cap_cpu"] * 1000,
        memory_mib=np.rint(data["cap_mem"] * GIB).astype(np.int64),
        gpu_count=data["cap_gpu"],
        gpu_model=np.where(data["cap_gpu"] > 0, gpu_type, ""),
        source="alibaba-pai-gpu-v2020:machine_spec",
    )


def load_spot_gpu_v2026_nodes(
    trace_dir: Path, memory_mib_per_vcpu: MiB = SPOT_MEMORY_MIB_PER_VCPU
) -> Cluster:
    """The nodes of ``node_info_df.csv``: GPU model and count, vCPUs (1 vCPU = 1000 millicores).

    Memory is not published; it is ``cpu_num * memory_mib_per_vcpu`` (an assumption, see
    SPOT_MEMORY_MIB_PER_VCPU). Raises TraceFormatError for a malformed file.
    """
    path = trace_dir / "node_info_df.csv"
    data = read_csv(path, _SPOT_COLUMNS)
    reject_repeats(path, data["node_name"], "node_name", "a unique name", 2)
    empty = (data["cpu_num"] == 0) & (data["gpu_capacity_num"] == 0)  # memory follows cpu_num
    reject_rows(path, empty, "cpu_num", data["cpu_num"], NO_CAPACITY, 2)
    names = np.char.add("spot-node-", data["node_name"].astype(str))
    return Cluster(
        names=names,
        cpu_milli=data["cpu_num"] * 1000,
        memory_mib=data["cpu_num"] * memory_mib_per_vcpu,
        gpu_count=data["gpu_capacity_num"],
        gpu_model=np.where(data["gpu_capacity_num"] > 0, data["gpu_model"].astype(str), ""),
        source="alibaba-v2026-spot-gpu:node_info",
    )
