"""Resolve scenario names such as ``alibaba-gpu-v2023:cpu050`` into loaded traces.

Grammar: ``SET[:VARIANT][@INVENTORY]``. ``INVENTORY`` gives nodes to a set that has none
(Azure, Philly): another set with nodes (``alibaba-v2018``, ``google-2019-cell-a:t86400``
for the machines present at 86,400 s, ...) or a declared node shape
``COUNTxCORESc-GIBg[-GPUSgpu[-MODEL]]`` such as ``200x64c-256g`` or ``50x96c-768g-8gpu-V100``.
``SET`` may also be the directory of a recorded live cluster
(``DIR[:train|:validation|:START-END]``, see docs/recording.md). ``SET:loaded-K`` is
window K of a loaded replay (``cluster_traces.loaded``: the trace's arrivals on a seeded
node subset sized to be busy; protocol replay by default).

The trace directory is the ``trace_dir`` argument, else ``$BINFORGE_TRACE_DIR``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cluster_traces import alibaba_gpu, alibaba_v2017, azure, binpack, google, inventories, philly
from cluster_traces.catalog import TraceSet, known_names, trace_set
from cluster_traces.derive import Derivation, apply_all, subsample_nodes
from cluster_traces.errors import ScenarioError
from cluster_traces.loaded import check_loaded_variant, is_loaded_variant, loaded_trace
from cluster_traces.model import BinPackingInstance, Cluster, Protocol, Replay, Scenario, Workload
from cluster_traces.recording import recording_entry, recording_scenario, split_recording_name
from cluster_traces.synthetic import synthetic_cluster, synthetic_workload
from cluster_traces.units import GIB

__all__ = [
    "MAX_GENERATED_ITEMS",
    "TRACE_DIR_ENV",
    "ScenarioError",
    "Trace",
    "check_scenario_name",
    "keep_nodes",
    "load_scenario",
    "load_trace",
    "resolve_trace_dir",
]

TRACE_DIR_ENV = "BINFORGE_TRACE_DIR"

_SHAPE = re.compile(r"^(\d+)x(\d+)c-(\d+)g(?:-(\d+)gpu(?:-([A-Za-z0-9_.]+))?)?$")
_WEIBULL = re.compile(r"^(\d+)(k?)$")
_GOOGLE_AT = re.compile(r"^t(\d+(?:\.\d+)?)$")


@dataclass(frozen=True)
class Trace:
    """What one set name loads to: nodes, pods, or bin-packing instances (any may be absent)."""

    name: str
    entry: TraceSet
    cluster: Cluster | None
    workload: Workload | None
    instances: tuple[BinPackingInstance, ...] = ()


def resolve_trace_dir(trace_dir: Path | None = None) -> Path | None:
    """``trace_dir`` if given, else ``$BINFORGE_TRACE_DIR`` (None when neither is set)."""
    if trace_dir is not None:
        return Path(trace_dir)
    value = os.environ.get(TRACE_DIR_ENV, "")
    return Path(value) if value else None


def load_trace(
    name: str, trace_dir: Path | None = None, *, seed: int = 0, node_list: str = "all_node"
) -> Trace:
    """Load ``SET[:VARIANT][@INVENTORY]`` as it is in the files (no protocol, no derivation).

    An ``@INVENTORY`` replaces the set's nodes. Raises ScenarioError for an unknown set,
    variant or inventory or a missing trace directory, TraceFormatError for malformed files.
    """
    base, _, inventory_name = name.partition("@")
    trace = _load_base(base, trace_dir, seed, node_list)
    if not inventory_name:
        return trace
    if trace.instances:
        raise ScenarioError(f"{name}: bin-packing instances take no inventory")
    cluster = _named_inventory(name, inventory_name, trace_dir)
    return Trace(name, trace.entry, cluster, trace.workload)


def _load_base(name: str, trace_dir: Path | None, seed: int, node_list: str) -> Trace:
    recorded = split_recording_name(name)
    if recorded is not None:  # a recording's directory (docs/recording.md)
        scenario = recording_scenario(recorded[0], recorded[1], seed=seed, name=name)
        entry = recording_entry(recorded[0])
        return Trace(name, entry, scenario.cluster, scenario.workload)
    entry, variant = _parse(name)
    if entry.name == "weibull":
        items = _weibull_items(name, variant)
        return Trace(name, entry, None, None, binpack.weibull_instances(items, count=5, seed=seed))
    if entry.name == "uniform":
        items = _uniform_items(name, variant)
        return Trace(name, entry, None, None, binpack.uniform_instances(items, count=5, seed=seed))
    if entry.name == "google-2019-cell-a":
        at_s = _google_at(name, variant)
        machines = google.load_google_2019_machines(_folder(entry, trace_dir), at_s=at_s)
        return Trace(name, entry, machines, None)
    if is_loaded_variant(entry.name, variant):
        try:
            cluster, pods = loaded_trace(entry.name, variant, _folder(entry, trace_dir), seed)
        except FileNotFoundError as exc:
            raise ScenarioError(f"load {name}: {exc}") from exc
        return Trace(name, entry, cluster, pods)
    variant = variant or (entry.variants[0] if entry.variants else "")
    if entry.name == "synthetic":
        return Trace(name, entry, synthetic_cluster(), synthetic_workload(seed=seed))
    folder = _folder(entry, trace_dir)
    try:
        return _load(name, entry, variant, folder, node_list)
    except FileNotFoundError as exc:
        raise ScenarioError(f"load {name}: {exc}") from exc


def _parse(name: str) -> tuple[TraceSet, str]:
    """The catalog entry and variant of ``SET[:VARIANT]``, checked by their spelling."""
    set_name, _, variant = name.partition(":")
    try:
        entry = trace_set(set_name)
    except KeyError:
        raise ScenarioError(
            f"unknown scenario {name!r}; known: {', '.join(known_names())}"
        ) from None
    if entry.name == "weibull":
        _weibull_items(name, variant)
    elif entry.name == "uniform":
        _uniform_items(name, variant)
    elif entry.name == "google-2019-cell-a":
        _google_at(name, variant)
    elif is_loaded_variant(entry.name, variant):
        check_loaded_variant(entry.name, variant)
    elif variant and variant not in entry.variants:
        listed = ", ".join(entry.variants) or "none"
        raise ScenarioError(f"unknown variant {variant!r} in {name!r}; variants: {listed}")
    return entry, variant


def check_scenario_name(name: str) -> None:
    """Refuse a name :func:`load_scenario` would refuse by its spelling alone (an unknown
    set, variant or node shape, a malformed size), without reading any file. A name that
    passes can still fail to load: a missing or malformed file, a window without pods.

    Raises:
        ScenarioError: naming the scenario and what was expected.
    """
    base, _, inventory_name = name.partition("@")
    if split_recording_name(base) is None:
        _parse(base)
    if inventory_name and not _SHAPE.match(inventory_name):
        if "@" in inventory_name:
            raise ScenarioError(f"{name}: expected one inventory after '@'")
        if split_recording_name(inventory_name) is None:
            _parse(inventory_name)


def load_scenario(
    name: str,
    trace_dir: Path | None = None,
    *,
    protocol: Protocol | None = None,
    seed: int = 0,
    target_resource: str | None = None,
    target_percent: float = 130.0,
    inventory: Cluster | None = None,
    derivations: Sequence[Derivation] = (),
) -> Scenario:
    """Load the scenario ``SET[:VARIANT][@INVENTORY]``.

    ``protocol`` defaults to the set's (bin packing: elastic, alibaba-gpu: saturate, timed
    sets: replay). ``target_resource`` defaults to gpu when the cluster has GPUs, else
    cpu_milli. ``inventory`` supplies nodes directly (instead of ``@INVENTORY``).
    ``derivations`` apply to the workload in order, seeded from ``seed``.
    Raises ScenarioError (unknown names, missing nodes or files, bad options) or
    TraceFormatError (malformed files).
    """
    if protocol is not None and protocol not in ("saturate", "replay", "elastic"):
        raise ScenarioError(f"unknown protocol {protocol!r}; expected saturate, replay or elastic")
    base, _, inventory_name = name.partition("@")
    trace = _load_base(base, trace_dir, seed, "all_node")
    loaded = is_loaded_variant(trace.entry.name, base.partition(":")[2])
    chosen: Protocol = protocol or ("replay" if loaded else trace.entry.protocol)
    if trace.instances:
        if chosen != "elastic":
            raise ScenarioError(f"{name}: bin-packing instances replay only as elastic")
        if inventory_name or inventory is not None or derivations:
            raise ScenarioError(f"{name}: bin-packing instances take no inventory or derivations")
        return Scenario(name, None, None, Replay("elastic", seed=seed), trace.instances)
    if trace.workload is None:
        raise ScenarioError(
            f"{name}: {trace.entry.name} has nodes but no pods; use it as an inventory of a "
            f"set with pods, for example azure-v1-2017:train@{trace.entry.name}"
        )
    cluster = _inventory(name, inventory_name, inventory, trace, trace_dir)
    workload = trace.workload
    if derivations:
        try:
            workload = apply_all(workload, cluster, derivations, seed)
        except ValueError as exc:
            raise ScenarioError(f"{name}: {exc}") from exc
    if chosen == "replay" and not workload.has_times:
        raise ScenarioError(
            f"{name}: the replay protocol needs arrival times, which these pods lack; "
            "use protocol saturate"
        )
    resource = target_resource or ("gpu" if int(cluster.gpu_count.sum()) else "cpu_milli")
    if resource not in cluster.totals():
        raise ScenarioError(f"{name}: unknown target resource {resource!r}")
    return Scenario(name, cluster, workload, Replay(chosen, resource, target_percent, seed))


def keep_nodes(scenario: Scenario, fraction: float, seed: int = 0) -> Scenario:
    """``scenario`` on a seeded share of its nodes: a cheaper cluster with the same node mix.

    Keeps the first ``max(1, round(fraction * nodes))`` nodes of a permutation seeded by
    ``seed``, in their original order; pods and protocol are unchanged (``saturate`` then
    fills the smaller cluster to its own 130 %). The evaluator's ``nodes_fraction`` and
    ``make results`` both use it. ``fraction`` 1, or a scenario without nodes, returns
    ``scenario`` itself. Raises ScenarioError unless 0 < fraction <= 1.
    """
    if not 0.0 < fraction <= 1.0:
        raise ScenarioError(f"{scenario.name}: nodes fraction {fraction!r}: expected 0 < f <= 1")
    if fraction == 1.0 or scenario.cluster is None:
        return scenario
    count = len(scenario.cluster)
    cluster = subsample_nodes(scenario.cluster, max(1, round(fraction * count)), seed)
    return Scenario(scenario.name, cluster, scenario.workload, scenario.replay, scenario.instances)


def _folder(entry: TraceSet, trace_dir: Path | None) -> Path:
    root = resolve_trace_dir(trace_dir)
    if root is None:
        raise ScenarioError(
            f"{entry.name} needs the trace files: set {TRACE_DIR_ENV} or pass trace_dir "
            f"(or fetch them with `binforge traces fetch {entry.name}`)"
        )
    folder = root / entry.folder
    if not folder.is_dir():
        raise ScenarioError(
            f"{entry.name}: folder {folder} not found; fetch it with "
            f"`binforge traces fetch {entry.name} --dest {root}`"
        )
    return folder


def _load(name: str, entry: TraceSet, variant: str, folder: Path, node_list: str) -> Trace:
    if entry.name == "alibaba-gpu-v2023":
        cluster = alibaba_gpu.load_alibaba_gpu_nodes(folder, node_list)
        return Trace(name, entry, cluster, alibaba_gpu.load_alibaba_gpu_pods(folder, variant))
    if entry.name == "alibaba-v2017":
        machines = alibaba_v2017.load_alibaba_v2017_machines(folder)
        if variant == "cloudsimpy":
            pods = alibaba_v2017.load_alibaba_v2017_cloudsimpy_jobs(folder)
        else:
            pods = alibaba_v2017.load_alibaba_v2017_batch_tasks(folder)
        return Trace(name, entry, machines, pods)
    if entry.name == "alibaba-v2018":
        return Trace(name, entry, inventories.load_alibaba_v2018_machines(folder), None)
    if entry.name == "alibaba-pai-gpu-v2020":
        return Trace(name, entry, inventories.load_pai_v2020_machines(folder), None)
    if entry.name == "alibaba-v2026-spot-gpu":
        return Trace(name, entry, inventories.load_spot_gpu_v2026_nodes(folder), None)
    if entry.name == "azure-v1-2017":
        return Trace(name, entry, None, azure.load_azure_vms(folder, variant))
    if entry.name == "philly-subset":
        return Trace(name, entry, None, philly.load_philly_jobs(folder))
    if entry.name == "orlib":
        return Trace(name, entry, None, None, binpack.load_orlib(folder / f"{variant}.txt"))
    if entry.name == "funsearch":
        file = {"or3": "OR3.json", "weibull5k": "Weibull_5k.json"}[variant]
        return Trace(name, entry, None, None, binpack.load_funsearch(folder / file))
    raise ScenarioError(f"no loader for {entry.name!r}")  # a catalog entry without a loader


MAX_GENERATED_ITEMS = 1_000_000
"""Most items per generated instance (``weibull:N``, ``uniform:N``); five instances each."""


def _weibull_items(name: str, variant: str) -> int:
    match = _WEIBULL.match(variant or "5k")
    if not match or int(match.group(1)) == 0:
        raise ScenarioError(f"{name}: expected weibull:N or weibull:Nk items, e.g. weibull:100k")
    return _at_most(name, int(match.group(1)) * (1000 if match.group(2) else 1))


def _uniform_items(name: str, variant: str) -> int:
    variant = variant or "1000"
    if not variant.isdigit() or int(variant) == 0:
        raise ScenarioError(f"{name}: expected uniform:N items (N > 0), e.g. uniform:500")
    return _at_most(name, int(variant))


def _at_most(name: str, items: int) -> int:
    if items > MAX_GENERATED_ITEMS:
        raise ScenarioError(
            f"{name}: expected at most {MAX_GENERATED_ITEMS:,} items per instance, got {items:,}"
        )
    return items


def _google_at(name: str, variant: str) -> float | None:
    """The time of ``google-2019-cell-a:t<seconds>``; None for every machine ever seen."""
    if not variant:
        return None
    match = _GOOGLE_AT.match(variant)
    if not match:
        raise ScenarioError(
            f"{name}: expected google-2019-cell-a or google-2019-cell-a:t<seconds> "
            "(the machines present at that time)"
        )
    return float(match.group(1))


def _inventory(
    name: str,
    inventory_name: str,
    inventory: Cluster | None,
    trace: Trace,
    trace_dir: Path | None,
) -> Cluster:
    if inventory is not None and inventory_name:
        raise ScenarioError(f"{name}: give the inventory in the name or as an argument, not both")
    if inventory is not None:
        return inventory
    if inventory_name:
        return _named_inventory(name, inventory_name, trace_dir)
    if trace.cluster is None:
        raise ScenarioError(
            f"{name}: {trace.entry.name} has no nodes; add an inventory, e.g. "
            f"{name}@alibaba-v2018 or {name}@200x64c-256g"
        )
    return trace.cluster


def _named_inventory(name: str, inventory_name: str, trace_dir: Path | None) -> Cluster:
    shape = _SHAPE.match(inventory_name)
    if shape:
        return _shape_cluster(shape)
    if "@" in inventory_name:
        raise ScenarioError(f"{name}: expected one inventory after '@'")
    nodes = _load_base(inventory_name, trace_dir, 0, "all_node")
    if nodes.cluster is None:
        raise ScenarioError(f"{name}: inventory {inventory_name!r} has no nodes")
    return nodes.cluster


def _shape_cluster(match: re.Match[str]) -> Cluster:
    count, cores, gib = int(match.group(1)), int(match.group(2)), int(match.group(3))
    gpus = int(match.group(4) or 0)
    model = match.group(5) or ("GPU" if gpus else "")
    if count == 0:
        raise ScenarioError(f"node shape {match.group(0)!r}: expected at least one node")
    return Cluster(
        names=np.char.add("node-", np.arange(count).astype(str)),
        cpu_milli=np.full(count, cores * 1000),
        memory_mib=np.full(count, gib * GIB),
        gpu_count=np.full(count, gpus),
        gpu_model=np.full(count, model),
        source=f"shape:{match.group(0)}",
    )
