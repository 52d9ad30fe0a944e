"""The ``elastic`` protocol: nodes open on demand; online bin packing for 1-D instances.

FunSearch's setting, exactly: every bin is pre-allocated at full capacity, the item's
candidates are the bins it fits in, the heuristic scores them and the first maximum wins.
Here a bin is a node with only CPU (capacity and item sizes scaled by the smallest power
of ten that makes them integers), an item is a pod requesting that much CPU, and the
candidates are the open bins that fit, in opening order, PLUS ONE fresh empty bin last.
Choosing the fresh bin opens it. For heuristics that score each bin from its own free
capacity (element-wise priorities, as FunSearch's), this is the same choice as with all
empty bins present: they all score alike and the first of them is the fresh one.

Speed: most items fit only a handful of bins, so scanning every open bin per item would
dominate. Open bins are kept in about 64 buckets by free capacity; an item's candidates
are the bins of the buckets at or above its size (the lowest one filtered exactly),
sorted by opening order. A bin whose free capacity falls below the smallest item still
to come (suffix minimum of the sizes) can never take another item and leaves the buckets
for good. When the buckets hold many candidates (small items), one vectorised scan over
the free capacity of all open bins is cheaper and gives the same set. Either way the
heuristic sees exactly the bins the item fits in, plus the fresh one.
"""

from __future__ import annotations

import numpy as np

from cluster_traces.model import (
    MAX_SIZE_DECIMALS,
    BinPackingInstance,
    Cluster,
    IntArray,
    Scenario,
    Workload,
    whole_at_scale,
)
from heuristics.contract import (
    Context,
    Heuristic,
    HeuristicError,
    NodeState,
    NodeView,
    Pod,
    choose,
    describe_failure,
)
from heuristics.fragmentation import make_context
from simulator.options import SimulationOptions
from simulator.results import SimulationResult

__all__ = ["bin_metrics", "integer_scale", "pack_instance", "pack_instances"]

_BUCKETS = 64
_DENSE_CANDIDATES = 2048
_MAX_ERRORS_KEPT = 10


def integer_scale(instance: BinPackingInstance) -> int:
    """The smallest power of ten (1..10**MAX_SIZE_DECIMALS) that turns capacity and sizes
    into integers (the loaders refuse sizes with more decimals).

    Raises:
        ValueError: when no such power exists.
    """
    values = np.append(instance.items, instance.capacity)
    for decimals in range(MAX_SIZE_DECIMALS + 1):
        if whole_at_scale(values, 10**decimals).all():
            return int(10**decimals)
    raise ValueError(
        f"bin-packing instance {instance.name}: sizes need more than {MAX_SIZE_DECIMALS} "
        "decimals to be integers"
    )


def _bins_cluster(count: int, capacity: int) -> Cluster:
    return Cluster(
        names=np.char.add("bin-", np.arange(count).astype(str)),
        cpu_milli=np.full(count, capacity, dtype=np.int64),
        memory_mib=np.zeros(count, dtype=np.int64),
        gpu_count=np.zeros(count, dtype=np.int64),
        gpu_model=np.full(count, "", dtype=np.str_),
        source="elastic bins",
    )


def _items_context(cluster: Cluster, sizes: IntArray) -> Context:
    """The context of FGD's reference shapes, with the items as CPU-only pods."""
    count = len(sizes)
    zeros = np.zeros(count, dtype=np.int64)
    nan = np.full(count, np.nan)
    items = Workload(
        names=np.char.add("item-", np.arange(count).astype(str)),
        cpu_milli=sizes,
        memory_mib=zeros,
        num_gpu=zeros,
        gpu_milli=zeros,
        gpu_spec=np.full(count, "", dtype=np.str_),
        qos=np.full(count, "", dtype=np.str_),
        priority=zeros,
        arrival_s=nan,
        departure_s=nan,
    )
    return make_context(cluster, items)


def pack_instance(
    instance: BinPackingInstance,
    score: Heuristic,
    options: SimulationOptions | None = None,
    errors: list[str] | None = None,
) -> tuple[int, IntArray]:
    """Pack one instance online; returns (bins used, bin index per item, -1 if unplaced).

    Raises:
        HeuristicError: on a heuristic error, unless ``options.on_heuristic_error`` is
            "count" (then the item stays unplaced and the message goes to ``errors``).
    """
    config = options or SimulationOptions()
    scale = integer_scale(instance)
    sizes = np.rint(instance.items * scale).astype(np.int64)
    capacity = round(instance.capacity * scale)
    count = len(sizes)
    bins = _bins_cluster(count + 1, capacity)
    state = NodeState(bins)
    ctx = _items_context(bins, sizes)
    # smallest size still to come after each item (capacity + 1 after the last one)
    later_min = np.append(np.minimum.accumulate(sizes[::-1])[::-1][1:], capacity + 1).tolist()
    free = state.cpu_free
    free_of = [capacity] * (count + 1)
    width = max(1, -(-capacity // _BUCKETS))
    buckets: list[set[int]] = [set() for _ in range(capacity // width + 1)]
    placements = np.full(count, -1, dtype=np.int64)
    pods: dict[int, Pod] = {}
    opened = 0
    for i, size in enumerate(sizes.tolist()):
        # Hot path, inlined on purpose: see the module docstring.
        low = size // width
        if sum(map(len, buckets[low:])) > _DENSE_CANDIDATES:
            index = np.flatnonzero(free[: opened + 1] >= size)
        else:
            ids = [b for b in buckets[low] if free_of[b] >= size]
            for bucket in buckets[low + 1 :]:
                if bucket:
                    ids.extend(bucket)
            ids.sort()
            ids.append(opened)
            index = np.array(ids, dtype=np.int64)
        nodes = NodeView(state, index)
        pod = pods.get(size)
        if pod is None:
            pod = pods[size] = Pod(cpu_milli=size, memory_mib=0)
        try:
            chosen = choose(score(pod, nodes, ctx), nodes)
        except Exception as exc:
            error = _heuristic_error(exc, score, f"{instance.name} item {i} (size {size})")
            if config.on_heuristic_error == "raise":
                raise error from exc
            if errors is not None and len(errors) < _MAX_ERRORS_KEPT:
                errors.append(str(error))
            continue
        before = free_of[chosen]
        after = before - size
        free_of[chosen] = after
        free[chosen] = after
        state.pods[chosen] += 1
        placements[i] = chosen
        if chosen == opened:
            opened += 1
        else:
            buckets[before // width].discard(chosen)
        if after >= later_min[i]:
            buckets[after // width].add(chosen)
    return opened, placements


def bin_metrics(bins: float, bound: float, *, heuristic_failed: bool) -> dict[str, float]:
    """Bins used, the L1 lower bound and FunSearch's excess over it in percent; no excess
    when the heuristic failed (pods it left out would make the packing look better)."""
    metrics = {"bins_used_mean": bins, "l1_bound_mean": bound}
    if not heuristic_failed:
        metrics["excess_percent"] = 100.0 * (bins - bound) / bound if bound else 0.0
    return metrics


def _heuristic_error(exc: BaseException, score: Heuristic, where: str) -> HeuristicError:
    return HeuristicError(f"heuristic on {where}: {describe_failure(exc, score)}")


def pack_instances(
    scenario: Scenario, score: Heuristic, *, seed: int, options: SimulationOptions
) -> SimulationResult:
    """Run every bin-packing instance of ``scenario``; reports FunSearch's excess over L1.

    The seed is recorded but unused: online bin packing takes items in their given order.
    """
    bins: list[int] = []
    bounds: list[int] = []
    placements: list[IntArray] = []
    errors: list[str] = []
    failed = 0
    for instance in scenario.instances:
        used, placed = pack_instance(instance, score, options, errors)
        bins.append(used)
        bounds.append(instance.l1_bound)
        placements.append(placed)
        failed += int((placed < 0).sum())
    items = sum(len(p) for p in placements)
    bins_mean = float(np.mean(bins)) if bins else 0.0
    bound_mean = float(np.mean(bounds)) if bounds else 0.0
    metrics = {
        "pods_arrived": items,
        "pods_placed": items - failed,
        "pods_failed": failed,
        "pods_unschedulable": 0,
        "heuristic_errors": failed,
        "decisions": items,
        **bin_metrics(bins_mean, bound_mean, heuristic_failed=failed > 0),
    }
    return SimulationResult(
        scenario=scenario.name,
        policy="",
        protocol="elastic",
        seed=seed,
        metrics=metrics,
        placements=np.concatenate(placements) if placements else np.zeros(0, np.int64),
        errors=tuple(errors),
    )
