"""Loaded replays: a trace's own arrivals and lifetimes on a cluster sized to be busy.

Replayed as recorded, the public traces leave their clusters nearly idle
(alibaba-gpu-v2023 keeps 30 to 50 pods alive on 1,523 nodes; alibaba-v2017's one pod per
task keeps 0.2 % of its CPUs busy), so placement policies barely differ. A *loaded
replay* keeps the trace's pods, requests, arrival order and lifetimes and changes three
things, each a seeded derivation of ``cluster_traces.derive``:

1. **one window** of arrivals, ``window_s`` long, so one simulation takes seconds;
   ``SET:loaded-K`` is window ``K`` (0, 1, 2, ...) counted from ``first_s``, and on
   alibaba-gpu-v2023 ``SET:loaded-K-LIST`` the same window of another of its pod lists
   (``loaded-0-gpushare40``: the FGD paper's variant with 40 % of GPU pods sharing a GPU,
   over the same days);
2. **denser arrivals** (``compress``: arrival gaps divided, lifetimes kept) and, for
   alibaba-v2017, **one pod per instance** (each task's instances arrive with the task
   and live its lifetime) of which a seeded ``pod_fraction`` is kept;
3. **fewer nodes**: a seeded random subset, the smallest prefix of one permutation whose
   capacity of every resource (GPUs, CPU, memory) reaches the window's mean live demand
   of it divided by ``load``: the scarcest resource runs at about ``load`` on average.
   With ``load`` near 1 the busy hours exceed the capacity, so pods queue, and a pod
   still pending an hour after arrival fails (the replay protocol's timeout).

The scenario seed (``load_scenario(..., seed=)``, ``ScenarioRef.scenario_seed``) picks
the node subset and the kept instances, so windows and seeds give independent scenarios.
The nodes' own add/remove events are not replayed. ``docs/results.md`` ("Campaign 3")
gives the utilisation and the pending and failed pods these scenarios reach.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cluster_traces import alibaba_gpu, alibaba_v2017
from cluster_traces.derive import compress_time, demand, node_order, subsample_nodes, time_window
from cluster_traces.errors import ScenarioError
from cluster_traces.model import Cluster, IntArray, Seconds, Workload

__all__ = [
    "LOADED_REPLAYS",
    "LoadedReplay",
    "check_loaded_variant",
    "is_loaded_variant",
    "live_demand",
    "loaded_trace",
]

_DAY_S = 86_400.0
_VARIANT = re.compile(r"^loaded-(\d+)(?:-([a-z0-9]+))?$")
_RESOURCES = ("gpu", "cpu_milli", "memory_mib")


@dataclass(frozen=True)
class LoadedReplay:
    """How one trace set becomes loaded replays (``SET:loaded-K``).

    Attributes:
        pods: the set's pod list (variant) the windows are cut from.
        first_s: start of window 0, in trace seconds.
        window_s: length of each window of (uncompressed) trace time.
        compress: arrival gaps are divided by this; lifetimes are kept.
        instances: one pod per task instance (alibaba-v2017) instead of one per task.
        pod_fraction: seeded share of the window's pods (instances) kept.
        load: the window's mean live demand over the subset's capacity, for the
            scarcest resource (as if every pod were placed on arrival).
    """

    pods: str
    first_s: Seconds
    window_s: Seconds
    compress: float
    instances: bool
    pod_fraction: float
    load: float


LOADED_REPLAYS: Mapping[str, LoadedReplay] = {
    # The live window starts on day 115.9 (1 % of pods arrive before it): 5-day windows
    # (loaded-0..6, the last one 3 days) of 1,015 to 1,464 pods, arrivals 48x denser
    # (2.5 hours), nodes sized for 75 % mean load: 28 to 54 nodes. At 90 %, 3 to 10 %
    # of the pods timed out on windows 0, 1 and 5, and failures drowned the stranded share.
    "alibaba-gpu-v2023": LoadedReplay(
        pods="default",
        first_s=116 * _DAY_S,
        window_s=5 * _DAY_S,
        compress=48.0,
        instances=False,
        pod_fraction=1.0,
        load=0.75,
    ),
    # Tasks arrive over 17 hours at 0.3 to 1.2 million instances an hour: 10-minute
    # windows (loaded-0..99), one instance in 50 kept, sized for 90 % mean load of the
    # scarcest resource (memory): 360 to 8,800 pods on 1 to 68 machines.
    "alibaba-v2017": LoadedReplay(
        pods="batch_task",
        first_s=0.0,
        window_s=600.0,
        compress=1.0,
        instances=True,
        pod_fraction=0.02,
        load=0.9,
    ),
}
"""The loaded replay of each set that has one, by set name."""


def is_loaded_variant(set_name: str, variant: str) -> bool:
    """True when ``SET:VARIANT`` is spelled as a loaded replay (``loaded-K[-LIST]`` of a set
    listed above); :func:`check_loaded_variant` checks the pod list."""
    return set_name in LOADED_REPLAYS and _VARIANT.match(variant) is not None


def check_loaded_variant(set_name: str, variant: str) -> tuple[LoadedReplay, int]:
    """The replay and the window ``K`` that ``SET:loaded-K[-LIST]`` names.

    Raises:
        ScenarioError: for a set without loaded replays, a malformed variant, or a pod
            list the set does not have (only alibaba-gpu-v2023 has several).
    """
    match = _VARIANT.match(variant)
    spec = LOADED_REPLAYS.get(set_name)
    if spec is None or match is None:
        raise ScenarioError(f"{set_name}:{variant}: expected SET:loaded-K for a set in "
                            f"{', '.join(LOADED_REPLAYS)}")  # fmt: skip
    pod_list = match.group(2)
    if pod_list is not None:
        if set_name != "alibaba-gpu-v2023":
            raise ScenarioError(
                f"{set_name}:{variant}: {set_name} has one pod list; use {set_name}:loaded-K "
                "(loaded-K-LIST is for alibaba-gpu-v2023's pod lists)"
            )
        others = [v for v in alibaba_gpu.POD_VARIANTS if v != spec.pods]
        if pod_list not in others:  # the default list is loaded-K, one name for one replay
            raise ScenarioError(
                f"{set_name}:{variant}: unknown pod list {pod_list!r}; loaded-K is the "
                f"{spec.pods} list, loaded-K-LIST one of {', '.join(others)}"
            )
        spec = dataclasses.replace(spec, pods=pod_list)
    return spec, int(match.group(1))


def loaded_trace(set_name: str, variant: str, folder: Path, seed: int) -> tuple[Cluster, Workload]:
    """The nodes and pods of the loaded replay ``SET:loaded-K[-LIST]`` with scenario seed
    ``seed``.

    Raises ScenarioError for an unknown set, variant or pod list, or a window without
    pods; TraceFormatError for malformed files.
    """
    spec, window = check_loaded_variant(set_name, variant)
    start = spec.first_s + window * spec.window_s
    name = f"{set_name}:{variant}"
    cluster, workload = _window(set_name, spec, folder, start, seed)
    if len(workload) == 0:
        raise ScenarioError(f"{name}: no pods arrive in [{start:.0f}, "
                            f"{start + spec.window_s:.0f}) s; try a smaller K")  # fmt: skip
    workload = compress_time(workload, spec.compress)
    order = node_order(len(cluster), seed)  # the order subsample_nodes keeps prefixes of
    reached = np.ones(len(cluster), dtype=bool)
    for resource in _RESOURCES:
        needed = live_demand(workload, resource) / spec.load
        reached &= np.cumsum(_node_capacity(cluster, resource)[order]) >= needed
    count = int(np.argmax(reached)) + 1 if reached.any() else len(cluster)
    source = f"{workload.source} {variant} seed {seed}"
    return subsample_nodes(cluster, count, seed), _with_source(workload, source)


def live_demand(workload: Workload, resource: str) -> float:
    """Mean demand of ``resource`` of the pods alive between the first and last arrival.

    A pod counts from its arrival to its departure (to the last arrival if it never
    leaves), as if placed at once. Units: those of ``Cluster.totals()[resource]``.
    """
    arrival = workload.arrival_s
    first, last = float(arrival.min()), float(arrival.max())
    if last <= first:
        return float(demand(workload, resource).sum())
    departure = np.where(np.isnan(workload.departure_s), last, workload.departure_s)
    alive_s = np.clip(np.minimum(departure, last) - arrival, 0.0, None)
    return float((demand(workload, resource) * alive_s).sum() / (last - first))


def _window(
    set_name: str, spec: LoadedReplay, folder: Path, start: Seconds, seed: int
) -> tuple[Cluster, Workload]:
    end = start + spec.window_s
    if set_name == "alibaba-gpu-v2023":
        cluster = alibaba_gpu.load_alibaba_gpu_nodes(folder, "all_node")
        pods = alibaba_gpu.load_alibaba_gpu_pods(folder, spec.pods)
        return cluster, time_window(pods, start, end)
    machines = alibaba_v2017.load_alibaba_v2017_machines(folder)
    tasks, instances = alibaba_v2017.load_alibaba_v2017_batch_task_instances(folder)
    inside = np.flatnonzero((tasks.arrival_s >= start) & (tasks.arrival_s < end))
    kept = _kept_instances(instances[inside], spec.pod_fraction, seed)
    return machines, tasks.take(np.repeat(inside, kept))


def _kept_instances(instances: IntArray, fraction: float, seed: int) -> IntArray:
    """Per task, how many of its instances a seeded ``fraction`` keeps (binomial draws)."""
    if fraction >= 1.0:
        return instances
    return np.random.default_rng(seed).binomial(instances, fraction).astype(np.int64)


def _node_capacity(cluster: Cluster, resource: str) -> np.ndarray:
    if resource == "gpu":
        return cluster.gpu_count.astype(np.float64)
    return getattr(cluster, resource).astype(np.float64)


def _with_source(workload: Workload, source: str) -> Workload:
    return dataclasses.replace(workload, source=source)
