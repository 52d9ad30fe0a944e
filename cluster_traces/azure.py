"""Azure Public Dataset V1 (2017) VM arrivals, as processed by huaweicloud/trace_generation_rnn.

``v1.<split>.txt``: one line per 300-second bin, ``t VM,VM,|,VM,...``: the VMs (one flavour
letter each) that arrived since the previous line; ``|`` separates tenants' batches.
``flav_map.txt`` maps a letter to ``vCPU,GB``. The dev and test splits come with lifetimes
(``U<k>`` ended, ``C<k>`` still running at the censoring time) in duration bins ``k`` whose
bounds are in ``v1.interval_map.txt``.

Units: 1 vCPU = 1000 millicores; 1 GB (the source's unit) = 1024 MiB. A VM arrives at its
line's time stamp; an ended VM departs after the midpoint of its duration bin; a censored
one has a NaN departure.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from cluster_traces._text import read_text
from cluster_traces.errors import TraceFormatError
from cluster_traces.model import FloatArray, MiB, Millicores, Workload
from cluster_traces.units import GIB

__all__ = [
    "SPLITS",
    "Flavour",
    "duration_bins",
    "load_azure_flavours",
    "load_azure_vms",
]

SPLITS = ("train", "dev", "test")
_LIFETIME_FILES = {"dev": "v1.dev.c2100000.txt", "test": "v1.test.c2591400.txt"}

Flavour = tuple[Millicores, MiB]


def load_azure_flavours(trace_dir: Path) -> dict[str, Flavour]:
    """``flav_map.txt`` as letter -> (millicores, MiB). Raises TraceFormatError when malformed."""
    path = trace_dir / "flav_map.txt"
    if not path.is_file():
        raise FileNotFoundError(f"trace file not found: {path}")
    flavours: dict[str, Flavour] = {}
    defined_at: dict[str, int] = {}
    for line, text in enumerate(read_text(path).splitlines(), start=1):
        if not text.strip():
            continue
        size, _, letter = text.strip().rpartition(" ")
        vcpu, _, gb = size.partition(",")
        try:
            cpu, memory = float(vcpu), float(gb)
        except ValueError:
            raise TraceFormatError(
                path, "'vCPU,GB LETTER' with numbers", line=line, value=text
            ) from None
        sizes_ok = 0 < cpu < math.inf and 0 < memory < math.inf  # False for NaN too
        if len(letter) != 1 or not letter.isalpha() or not sizes_ok:
            raise TraceFormatError(
                path, "'vCPU,GB LETTER' with positive finite sizes", line=line, value=text
            )
        if letter in defined_at:
            raise TraceFormatError(
                path, f"a letter not defined before (line {defined_at[letter]} defines "
                f"{letter!r})", line=line, value=text,
            )  # fmt: skip
        defined_at[letter] = line
        flavours[letter] = (round(cpu * 1000), round(memory * GIB))
    if not flavours:
        raise TraceFormatError(path, "at least one flavour line 'vCPU,GB LETTER'", line=1)
    return flavours


def duration_bins(trace_dir: Path) -> FloatArray:
    """Midpoint in seconds of each duration bin of ``v1.interval_map.txt`` (index = bin).

    Bin k spans from the smallest duration mapped to k to the smallest mapped to k + 1 (the
    last bin ends one 300 s step after its last listed duration).
    """
    path = trace_dir / "v1.interval_map.txt"
    rows = _number_rows(path, 2)
    seconds, bins = rows[:, 0], rows[:, 1].astype(np.int64)
    if np.any(np.diff(bins) < 0) or bins[0] != 0 or np.any(np.diff(bins) > 1):
        raise TraceFormatError(path, "bin indices rising by 0 or 1 from 0", column="bin")
    count = int(bins[-1]) + 1
    lower = np.array([seconds[bins == k].min() for k in range(count)])
    upper = np.append(lower[1:], seconds[-1] + 300.0)
    return (lower + upper) / 2


def load_azure_vms(trace_dir: Path, split: str = "train") -> Workload:
    """The VMs of one split in arrival order, with flavour sizes and (dev/test) departures.

    Raises TraceFormatError naming file, line and token for an unknown flavour letter, a bad
    time stamp or lifetimes that do not match the arrivals; ValueError for an unknown split.
    """
    if split not in SPLITS:
        raise ValueError(f"azure-v1-2017 split: expected one of {SPLITS}, got {split!r}")
    flavours = load_azure_flavours(trace_dir)
    path = trace_dir / f"v1.{split}.txt"
    times, counts, tokens = _bins(path)
    if not tokens:
        raise TraceFormatError.no_rows(path, "VM")
    letters = "".join(tokens)
    if len(letters) != len(tokens):
        _raise_at(
            path, times, counts, tokens, [len(t) != 1 for t in tokens], "a one-letter flavour"
        )
    lookup = np.full(256, -1, np.int64)
    letter_list = sorted(flavours)
    for index, letter in enumerate(letter_list):
        lookup[ord(letter)] = index
    codes = lookup[np.frombuffer(letters.encode("ascii", "replace"), np.uint8)]
    if (codes < 0).any():
        _raise_at(
            path, times, counts, tokens, (codes < 0).tolist(),
            f"a flavour letter of flav_map.txt ({''.join(letter_list)})",
        )  # fmt: skip
    cpu = np.array([flavours[k][0] for k in letter_list], np.int64)[codes]
    memory = np.array([flavours[k][1] for k in letter_list], np.int64)[codes]
    arrival = np.repeat(times, counts)
    departure = np.full(len(codes), np.nan)
    if split in _LIFETIME_FILES:
        departure = arrival + _lifetimes(trace_dir, _LIFETIME_FILES[split], times, counts)
    n = len(codes)
    return Workload(
        names=np.char.add(f"azure-{split}-", np.arange(n).astype(str)),
        cpu_milli=cpu,
        memory_mib=memory,
        num_gpu=np.zeros(n, np.int64),
        gpu_milli=np.zeros(n, np.int64),
        gpu_spec=np.full(n, ""),
        qos=np.full(n, ""),
        priority=np.zeros(n, np.int64),
        arrival_s=arrival,
        departure_s=departure,
        source=f"azure-v1-2017:{split}",
    )


def _lifetimes(trace_dir: Path, name: str, times: np.ndarray, counts: np.ndarray) -> FloatArray:
    path = trace_dir / name
    midpoints = duration_bins(trace_dir)
    life_times, life_counts, tokens = _bins(path)
    if not np.array_equal(life_times, times) or not np.array_equal(life_counts, counts):
        n = min(len(life_times), len(times))  # the first line that differs, or is missing
        differ = np.flatnonzero((life_times[:n] != times[:n]) | (life_counts[:n] != counts[:n]))
        raise TraceFormatError(
            path,
            "the same bins and VM counts as the arrivals file",
            line=int(differ[0]) + 1 if len(differ) else n + 1,
        )
    states = [token[:1] for token in tokens]
    bad = [
        s not in ("U", "C") or not token[1:].isdigit()
        for s, token in zip(states, tokens, strict=True)
    ]
    if any(bad):
        _raise_at(path, times, counts, tokens, bad, "U<bin> or C<bin>")
    bins = np.array([int(token[1:]) for token in tokens], np.int64)
    if bins.max(initial=0) >= len(midpoints):
        _raise_at(
            path, times, counts, tokens, (bins >= len(midpoints)).tolist(),
            f"a duration bin below {len(midpoints)}",
        )  # fmt: skip
    ended = np.array(states) == "U"
    return np.where(ended, midpoints[bins], np.nan)


def _bins(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Time stamps, VM counts per line, and the VM tokens of a bin file (batches dropped)."""
    if not path.is_file():
        raise FileNotFoundError(f"trace file not found: {path}")
    times: list[float] = []
    counts: list[int] = []
    tokens: list[str] = []
    previous = -np.inf
    for line, text in enumerate(read_text(path).splitlines(), start=1):
        stamp, _, rest = text.partition(" ")
        try:
            time = float(stamp)
        except ValueError:
            time = math.nan  # reported below, like a written nan
        if not math.isfinite(time):
            raise TraceFormatError(
                path, "a finite time stamp in seconds", line=line, column="time", value=stamp
            )
        if time < previous or time < 0:
            raise TraceFormatError(
                path, f"a non-negative time not before {previous:g}", line=line,
                column="time", value=stamp,
            )  # fmt: skip
        previous = time
        vms = [token for token in rest.strip().split(",") if token and token != "|"]
        times.append(time)
        counts.append(len(vms))
        tokens.extend(vms)
    return np.asarray(times), np.asarray(counts, np.int64), tokens


def _raise_at(
    path: Path,
    times: np.ndarray,
    counts: np.ndarray,
    tokens: list[str],
    bad: list[bool],
    expected: str,
) -> None:
    index = bad.index(True)
    ends = np.cumsum(counts)
    line = int(np.searchsorted(ends, index, side="right"))
    position = index - (int(ends[line - 1]) if line else 0)
    raise TraceFormatError(
        path,
        expected,
        line=line + 1,
        column=f"VM {position + 1} (time {times[line]:g})",
        value=tokens[index],
    )


def _number_rows(path: Path, width: int) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"trace file not found: {path}")
    rows = []
    for line, text in enumerate(read_text(path).splitlines(), start=1):
        fields = text.split()
        try:
            values = [float(v) for v in fields]
        except ValueError:
            values = []
        if len(values) != width or not all(0 <= v < math.inf for v in values):
            raise TraceFormatError(
                path, f"{width} finite non-negative numbers", line=line, value=text
            )
        rows.append(values)
    if not rows:
        raise TraceFormatError(path, f"rows of {width} numbers", line=1)
    return np.asarray(rows)
