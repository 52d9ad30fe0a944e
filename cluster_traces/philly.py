"""Microsoft Philly trace subset (``jobs.json``): multi-GPU jobs with submit time and runtime.

``runtime`` is in minutes: it equals the summed duration of the job's attempts (checked by
the tests). A job arrives at ``submitted_time`` (seconds after the earliest submission) and
departs ``runtime`` later. CPU and memory requests are not published; they are
``num_gpus * cpu_milli_per_gpu`` and ``num_gpus * memory_mib_per_gpu`` (explicit, default 0).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from cluster_traces._text import read_text
from cluster_traces.errors import TraceFormatError
from cluster_traces.model import GPU_MILLI_PER_GPU, MiB, Millicores, Workload

__all__ = ["RUNTIME_UNIT_S", "attempt_seconds", "load_philly_jobs"]

RUNTIME_UNIT_S = 60.0
"""Seconds per unit of ``runtime`` (minutes)."""

_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def load_philly_jobs(
    trace_dir: Path,
    *,
    cpu_milli_per_gpu: Millicores = 0,
    memory_mib_per_gpu: MiB = 0,
) -> Workload:
    """The jobs of ``jobs.json`` sorted by submission, as whole-GPU pods.

    Raises TraceFormatError naming the job index and field of the first bad entry.
    """
    path = trace_dir / "jobs.json"
    if not path.is_file():
        raise FileNotFoundError(f"trace file not found: {path}")
    try:
        jobs = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise TraceFormatError(path, f"valid JSON ({exc.msg})", line=exc.lineno) from exc
    if not isinstance(jobs, list):
        raise TraceFormatError(path, "a JSON list of jobs", value=type(jobs).__name__)
    if not jobs:
        raise TraceFormatError.no_rows(path, "job")
    ids, gpus, runtimes, submitted = [], [], [], []
    seen: dict[str, int] = {}
    for index, job in enumerate(jobs):
        where = f"jobs[{index}]"
        if not isinstance(job, dict):
            raise TraceFormatError(path, "a job object", column=where, value=job)
        num_gpus = job.get("num_gpus")
        if not isinstance(num_gpus, int) or isinstance(num_gpus, bool) or num_gpus < 0:
            raise TraceFormatError(
                path, "a non-negative integer", column=f"{where}.num_gpus", value=num_gpus
            )
        runtime = job.get("runtime")
        if (
            isinstance(runtime, bool)
            or not isinstance(runtime, int | float)
            or not 0 <= runtime < math.inf  # False for NaN too (json reads NaN, Infinity)
        ):
            raise TraceFormatError(
                path,
                "a finite non-negative runtime (minutes)",
                column=f"{where}.runtime",
                value=runtime,
            )
        job_id = str(job.get("id", index))
        if job_id in seen:
            raise TraceFormatError(
                path, f"a unique job id (jobs[{seen[job_id]}] has it)", column=f"{where}.id",
                value=job.get("id"),
            )  # fmt: skip
        seen[job_id] = index
        ids.append(job_id)
        gpus.append(num_gpus)
        runtimes.append(float(runtime))
        submitted.append(_timestamp(path, f"{where}.submitted_time", job.get("submitted_time")))
    submit = np.asarray(submitted, np.float64)
    origin = float(submit.min())
    order = np.argsort(submit, kind="stable")
    num_gpu = np.asarray(gpus, np.int64)[order]
    arrival = submit[order] - origin
    n = len(order)
    return Workload(
        names=np.asarray(ids)[order],
        cpu_milli=num_gpu * cpu_milli_per_gpu,
        memory_mib=num_gpu * memory_mib_per_gpu,
        num_gpu=num_gpu,
        gpu_milli=np.where(num_gpu > 0, GPU_MILLI_PER_GPU, 0),
        gpu_spec=np.full(n, ""),
        qos=np.full(n, ""),
        priority=np.zeros(n, np.int64),
        arrival_s=arrival,
        departure_s=arrival + np.asarray(runtimes)[order] * RUNTIME_UNIT_S,
        source="philly-subset:jobs",
    )


def attempt_seconds(job: dict[str, object]) -> float:
    """Summed duration of a raw job's attempts in seconds (for checking runtime units)."""
    total = 0.0
    attempts = job.get("attempts")
    for attempt in attempts if isinstance(attempts, list) else []:
        if not isinstance(attempt, dict) or not attempt.get("end_time"):
            continue  # an attempt still running at the end of the trace
        start = datetime.strptime(attempt["start_time"], _TIME_FORMAT)
        end = datetime.strptime(attempt["end_time"], _TIME_FORMAT)
        total += (end - start).total_seconds()
    return total


def _timestamp(path: Path, where: str, value: object) -> float:
    try:
        return datetime.strptime(str(value), _TIME_FORMAT).replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise TraceFormatError(
            path, f"a time stamp '{_TIME_FORMAT}'", column=where, value=value
        ) from None
