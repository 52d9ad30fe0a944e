"""Alibaba cluster trace v2017: machines from server_event, tasks from batch_task / CloudSimPy.

Memory is normalised to the largest machine in all three files; it becomes MiB through
``NormalisedUnits`` (default ``ALIBABA_V2017_UNITS``, see cluster_traces.units). CPU is in
cores (server_event, cloudsimpy_jobs) or hundredths of a core (batch_task ``plan_cpu``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cluster_traces._arrays import last_per_group
from cluster_traces._table import NO_CAPACITY, Column, read_csv, reject_repeats, reject_rows
from cluster_traces.errors import TraceFormatError
from cluster_traces.model import Cluster, IntArray, NodeEvents, Workload
from cluster_traces.units import ALIBABA_V2017_UNITS, NormalisedUnits

__all__ = [
    "load_alibaba_v2017_batch_task_instances",
    "load_alibaba_v2017_batch_tasks",
    "load_alibaba_v2017_cloudsimpy_jobs",
    "load_alibaba_v2017_machines",
]

_SERVER_EVENT_NAMES = ("timestamp", "machine_id", "event", "detail", "cpu", "mem", "disk")
_SERVER_EVENT_COLUMNS = (
    Column("timestamp", "float", "a non-negative time (s)"),
    Column("machine_id", "str", "a machine id"),
    Column("event", "str", "'add' or 'softerror'"),
    Column("cpu", "int", "a non-negative integer (cores)"),
    Column("mem", "float", "a normalised memory capacity (0..1)"),
)
_EVENTS = ("add", "softerror")

_BATCH_CPU = "number_of_cpus_requested_per_instance_in_the_task"
_BATCH_MEM = "normalized_memory_requested_per_instance_in_the_task"
_BATCH_COLUMNS = (
    Column("task_create_time", "float", "a time (s)", minimum=None),
    Column("task_end_time", "float", "a time (s)", minimum=None),
    Column("job_id", "str", "a job id"),
    Column("task_id", "str", "a task id"),
    Column("number_of_instances", "int", "a non-negative instance count"),
    Column("status", "str", "a task status"),
    Column(_BATCH_CPU, "float", "a CPU request in hundredths of a core, or empty",
           nullable=True),
    Column(_BATCH_MEM, "float", "a normalised memory request (0..1), or empty", nullable=True),
)  # fmt: skip

_CLOUDSIMPY_COLUMNS = (
    Column("submit_time", "float", "a non-negative time (s)"),
    Column("duration", "float", "a non-negative mean instance runtime (s)"),
    Column("cpu", "float", "a non-negative CPU request (cores)"),
    Column("memory", "float", "a normalised memory request (0..1)"),
    Column("job_id", "str", "a job id"),
    Column("task_id", "str", "a task id"),
    Column("instances_num", "int", "a non-negative instance count"),
)
_CLOUDSIMPY_UNREAD = ("", "disk")  # "" names the row-index column


def load_alibaba_v2017_machines(
    trace_dir: Path, units: NormalisedUnits = ALIBABA_V2017_UNITS
) -> Cluster:
    """Machines from ``server_event.csv`` (no header), with their add/softerror events.

    Capacity is the one given by a machine's last ``add`` row; a ``softerror`` removes the
    machine until its next ``add``. Raises TraceFormatError for a malformed file or an
    unknown event name.
    """
    path = trace_dir / "server_event.csv"
    data = read_csv(path, _SERVER_EVENT_COLUMNS, names=_SERVER_EVENT_NAMES)
    event = data["event"]
    reject_rows(path, ~np.isin(event, _EVENTS), "event", event, "'add' or 'softerror'", 1)
    reject_rows(path, data["mem"] > 1, "mem", data["mem"], "a normalised capacity, at most 1", 1)
    empty = (event == "add") & (data["cpu"] == 0) & (data["mem"] == 0)  # softerror rows hold 0
    reject_rows(path, empty, "cpu", data["cpu"], NO_CAPACITY, 1)
    order = np.argsort(data["timestamp"], kind="stable")
    machine = data["machine_id"][order].astype(str)
    kind = event[order]
    adds = kind == "add"
    names, node_of_row = np.unique(machine, return_inverse=True)
    add_rows = np.flatnonzero(adds)
    last_add = last_per_group(node_of_row[add_rows], len(names))
    if (last_add < 0).any():
        raise TraceFormatError(
            path, "an 'add' row for every machine", column="machine_id",
            value=str(names[int(np.argmax(last_add < 0))]),
        )  # fmt: skip
    cpu = data["cpu"][order][add_rows[last_add]] * 1000
    mem = data["mem"][order][add_rows[last_add]]
    events = NodeEvents(
        time_s=data["timestamp"][order],
        node=node_of_row,
        kind=np.where(adds, "add", "remove"),
    )
    return Cluster(
        names=names,
        cpu_milli=cpu,
        memory_mib=units.memory_mib(mem),
        gpu_count=np.zeros(len(names), np.int64),
        gpu_model=np.full(len(names), ""),
        events=events,
        source="alibaba-v2017:server_event",
    )


def load_alibaba_v2017_batch_tasks(
    trace_dir: Path,
    units: NormalisedUnits = ALIBABA_V2017_UNITS,
    *,
    expand_instances: bool = False,
) -> Workload:
    """Tasks of ``batch_task.csv`` as pods (one per task, or one per instance when expanded).

    Tasks without a request (both request fields empty) are left out; a task with only one
    of them is an error. An end time before the create time (0 for running tasks) gives a
    NaN departure. Raises TraceFormatError for a malformed file.
    """
    workload, instances = load_alibaba_v2017_batch_task_instances(trace_dir, units)
    if expand_instances:
        return workload.take(np.repeat(np.arange(len(workload)), instances))
    return workload


def load_alibaba_v2017_batch_task_instances(
    trace_dir: Path, units: NormalisedUnits = ALIBABA_V2017_UNITS
) -> tuple[Workload, IntArray]:
    """One pod per task of ``batch_task.csv`` and each task's instance count, in one order.

    The pods are those of :func:`load_alibaba_v2017_batch_tasks`; ``instances[i]`` is
    how many instances pod ``i``'s task runs (each with the task's per-instance request),
    so a caller can expand a window of tasks into instances without expanding all 11
    million. Raises TraceFormatError for a malformed file.
    """
    path = trace_dir / "batch_task.csv"
    data = read_csv(path, _BATCH_COLUMNS)
    cpu, mem = data[_BATCH_CPU], data[_BATCH_MEM]
    reject_rows(path, mem > 1, _BATCH_MEM, mem, "a normalised request, at most 1", 2)
    half = np.isnan(cpu) != np.isnan(mem)
    if half.any():
        row = int(np.argmax(half))
        column = _BATCH_CPU if np.isnan(cpu[row]) else _BATCH_MEM
        raise TraceFormatError(
            path, "both requests given, or neither", line=row + 2, column=column, value=""
        )
    every = _task_names(data["job_id"], data["task_id"])
    reject_repeats(path, every, "task_id", _ONE_ROW_PER_TASK, 2)
    keep = np.flatnonzero(~np.isnan(cpu))
    keep = keep[np.argsort(data["task_create_time"][keep], kind="stable")]  # arrival order
    arrival = data["task_create_time"][keep]
    end = data["task_end_time"][keep]
    names = every[keep]
    workload = _workload(
        names,
        cpu_milli=np.rint(cpu[keep] * 10).astype(np.int64),
        memory_mib=units.memory_mib(mem[keep]),
        arrival=arrival,
        departure=np.where(end >= arrival, end, np.nan),
        source="alibaba-v2017:batch_task",
    )
    return workload, data["number_of_instances"][keep].astype(np.int64)


def load_alibaba_v2017_cloudsimpy_jobs(
    trace_dir: Path,
    units: NormalisedUnits = ALIBABA_V2017_UNITS,
    *,
    expand_instances: bool = False,
) -> Workload:
    """Tasks of ``cloudsimpy_jobs.csv`` as pods: departure = submit + mean instance runtime.

    Raises TraceFormatError for a malformed file.
    """
    path = trace_dir / "cloudsimpy_jobs.csv"
    data = read_csv(path, _CLOUDSIMPY_COLUMNS, unread=_CLOUDSIMPY_UNREAD)
    memory = data["memory"]
    reject_rows(path, memory > 1, "memory", memory, "a normalised request, at most 1", 2)
    names = _task_names(data["job_id"], data["task_id"])
    reject_repeats(path, names, "task_id", _ONE_ROW_PER_TASK, 2)
    workload = _workload(
        names,
        cpu_milli=np.rint(data["cpu"] * 1000).astype(np.int64),
        memory_mib=units.memory_mib(data["memory"]),
        arrival=data["submit_time"],
        departure=data["submit_time"] + data["duration"],
        source="alibaba-v2017:cloudsimpy_jobs",
    )
    if expand_instances:
        return workload.take(np.repeat(np.arange(len(names)), data["instances_num"]))
    return workload


_ONE_ROW_PER_TASK = "one row per task: this job_id/task_id is on an earlier line too"


def _task_names(job_id: np.ndarray, task_id: np.ndarray) -> np.ndarray:
    """``job/task`` for each row: a task's pod name, unique within a file."""
    return np.char.add(np.char.add(job_id.astype(str), "/"), task_id.astype(str))


def _workload(
    names: np.ndarray,
    *,
    cpu_milli: np.ndarray,
    memory_mib: np.ndarray,
    arrival: np.ndarray,
    departure: np.ndarray,
    source: str,
) -> Workload:
    order = np.argsort(arrival, kind="stable")
    n = len(names)
    return Workload(
        names=names[order],
        cpu_milli=cpu_milli[order],
        memory_mib=memory_mib[order],
        num_gpu=np.zeros(n, np.int64),
        gpu_milli=np.zeros(n, np.int64),
        gpu_spec=np.full(n, ""),
        qos=np.full(n, ""),
        priority=np.zeros(n, np.int64),
        arrival_s=arrival[order],
        departure_s=departure[order],
        source=source,
    )
