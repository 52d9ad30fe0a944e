"""Google Borg ClusterData 2019, cell a: the machine events (gzipped JSON lines).

Each row: ``time`` (microseconds), ``machine_id``, ``type`` (1 ADD, 2 REMOVE, 3 UPDATE) and,
on most rows, ``capacity.cpus`` / ``capacity.memory`` normalised to the largest machine.
Normalised capacities become millicores and MiB through ``NormalisedUnits`` (default
``GOOGLE_2019_UNITS``); a row without capacity keeps the machine's previous one.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.json as pajson

from cluster_traces._arrays import last_per_group
from cluster_traces._text import utf8_error
from cluster_traces.errors import TraceFormatError
from cluster_traces.model import Cluster, NodeEvents, Seconds
from cluster_traces.units import GOOGLE_2019_UNITS, NormalisedUnits

__all__ = ["MACHINE_EVENTS_FILE", "load_google_2019_machines"]

MACHINE_EVENTS_FILE = "machine_events-000000000000.json.gz"

_ADD, _REMOVE, _UPDATE = 1, 2, 3
_MICROSECONDS = 1e6


def load_google_2019_machines(
    trace_dir: Path,
    units: NormalisedUnits = GOOGLE_2019_UNITS,
    *,
    at_s: Seconds | None = None,
) -> Cluster:
    """Machines of cell a.

    With ``at_s`` None: every machine that ever appears, with its last known capacity and
    its add/remove events (seconds). With ``at_s``: the inventory at that time, i.e. the
    machines present then (last ADD/REMOVE at or before ``at_s`` is an ADD) with the
    capacity they had then, and no events. Raises TraceFormatError naming the line and field.
    """
    path = trace_dir / MACHINE_EVENTS_FILE
    times, machines, kinds, cpus, memories = _read_fast(path) or _read(path)
    if len(times) == 0:
        raise TraceFormatError.no_rows(path, "machine event")
    order = np.argsort(times, kind="stable")
    if at_s is not None:
        order = order[times[order] <= at_s * _MICROSECONDS]
    names, node_of_row = np.unique(machines, return_inverse=True)
    sized = order[~np.isnan(cpus[order])]
    last_sized = last_per_group(node_of_row[sized], len(names))
    cpu = np.full(len(names), np.nan)
    memory = np.full(len(names), np.nan)
    known = last_sized >= 0
    cpu[known] = cpus[sized[last_sized[known]]]
    memory[known] = memories[sized[last_sized[known]]]
    moves = order[kinds[order] != _UPDATE]
    last_move = last_per_group(node_of_row[moves], len(names))
    present = np.zeros(len(names), bool)
    moved = last_move >= 0
    present[moved] = kinds[moves[last_move[moved]]] == _ADD
    if at_s is not None:
        keep = present & ~np.isnan(cpu)
        names, cpu, memory = names[keep], cpu[keep], memory[keep]
        events = NodeEvents.empty()
    else:
        missing = np.isnan(cpu)
        if missing.any():
            raise TraceFormatError(
                path,
                "a capacity on at least one event of each machine",
                column="capacity",
                value=str(names[int(np.argmax(missing))]),
            )
        events = NodeEvents(
            time_s=times[moves] / _MICROSECONDS,
            node=node_of_row[moves],
            kind=np.where(kinds[moves] == _ADD, "add", "remove"),
        )
    n = len(names)
    return Cluster(
        names=names,
        cpu_milli=units.cpu_milli(cpu),
        memory_mib=units.memory_mib(memory),
        gpu_count=np.zeros(n, np.int64),
        gpu_model=np.full(n, ""),
        events=events,
        source="google-2019-cell-a" + ("" if at_s is None else f"@{at_s:g}s"),
    )


_Columns = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]

_SCHEMA = pa.schema(
    [
        ("time", pa.string()),
        ("machine_id", pa.string()),
        ("type", pa.string()),
        ("capacity", pa.struct([("cpus", pa.float64()), ("memory", pa.float64())])),
    ]
)


def _read_fast(path: Path) -> _Columns | None:
    """Columnar read with pyarrow; None when anything looks wrong (the slow path then names
    the exact line)."""
    if not path.is_file():
        return None
    options = pajson.ParseOptions(explicit_schema=_SCHEMA, unexpected_field_behavior="ignore")
    try:
        with pa.input_stream(str(path), compression="gzip") as stream:
            table = pajson.read_json(stream, parse_options=options)
        if any(table[name].null_count for name in ("time", "machine_id", "type")):
            return None
        # numpy, not pyarrow.compute, for the conversions: importing it costs ~0.5 s.
        times = np.asarray(table["time"].to_numpy(zero_copy_only=False)).astype(np.int64)
        kinds = np.asarray(table["type"].to_numpy(zero_copy_only=False)).astype(np.int64)
    except (pa.ArrowInvalid, OSError, EOFError, ValueError):
        return None
    capacity = table["capacity"].combine_chunks()
    cpus, memories = (
        field.to_numpy(zero_copy_only=False).astype(np.float64) for field in capacity.flatten()
    )
    values = np.concatenate([cpus, memories])
    values = values[~np.isnan(values)]
    if (
        not np.array_equal(np.isnan(cpus), np.isnan(memories))
        or int(np.isnan(cpus).sum()) != capacity.null_count
        or (values < 0).any()
        or ((cpus == 0) & (memories == 0)).any()
        or (values > 1).any()
        or (times < 0).any()
        or (kinds < _ADD).any()
        or (kinds > _UPDATE).any()
    ):
        return None
    machines = np.asarray(table["machine_id"].to_numpy(zero_copy_only=False)).astype(str)
    return times, machines, kinds, cpus, memories


def _read(path: Path) -> _Columns:
    if not path.is_file():
        raise FileNotFoundError(f"trace file not found: {path}")
    times: list[int] = []
    machines: list[str] = []
    kinds: list[int] = []
    cpus: list[float] = []
    memories: list[float] = []
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    row = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise TraceFormatError(
                        path, f"a JSON object ({exc.msg})", line=line, value=text.strip()[:80]
                    ) from None
                if not isinstance(row, dict):
                    raise TraceFormatError(path, "a JSON object", line=line, value=text[:80])
                times.append(_integer(path, line, row, "time", minimum=0))
                kind = _integer(path, line, row, "type", minimum=_ADD)
                if kind > _UPDATE:
                    raise TraceFormatError(
                        path, "1 (ADD), 2 (REMOVE) or 3 (UPDATE)", line=line, column="type",
                        value=row["type"],
                    )  # fmt: skip
                kinds.append(kind)
                if "machine_id" not in row:
                    raise TraceFormatError(path, "a machine_id", line=line, column="machine_id")
                machines.append(str(row["machine_id"]))
                capacity = row.get("capacity")
                if capacity is None:
                    cpus.append(np.nan)
                    memories.append(np.nan)
                    continue
                cpus.append(_fraction(path, line, capacity, "cpus"))
                memories.append(_fraction(path, line, capacity, "memory"))
                if cpus[-1] == memories[-1] == 0:
                    raise TraceFormatError(
                        path, "a capacity above 0 in cpus or memory", line=line,
                        column="capacity", value=capacity,
                    )  # fmt: skip
    except UnicodeDecodeError:
        raise utf8_error(path) from None
    except (OSError, EOFError) as exc:
        raise TraceFormatError(path, f"a readable gzip file ({exc})") from exc
    return (
        np.asarray(times, np.int64),
        np.asarray(machines),
        np.asarray(kinds, np.int64),
        np.asarray(cpus, np.float64),
        np.asarray(memories, np.float64),
    )


def _integer(path: Path, line: int, row: dict[str, object], key: str, minimum: int) -> int:
    value = row.get(key)
    try:
        number = int(str(value))
    except ValueError:
        number = minimum - 1
    if number < minimum:
        raise TraceFormatError(path, f"an integer >= {minimum}", line=line, column=key, value=value)
    return number


def _fraction(path: Path, line: int, capacity: object, key: str) -> float:
    value = capacity.get(key) if isinstance(capacity, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise TraceFormatError(
            path,
            "a normalised capacity between 0 and 1",
            line=line,
            column=f"capacity.{key}",
            value=value,
        )
    return float(value)
