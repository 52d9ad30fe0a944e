"""FGD's fragmentation measure, in one place, generalised from GPUs to every resource.

Source: Weng et al., "Beware of Fragmentation: Scheduling GPU-Sharing Workloads with
Fragmentation Gradient Descent", USENIX ATC'23, and their simulator
(hkust-adsl/kubernetes-scheduler-simulator, ``pkg/utils/frag.go``).

The reference workload is a set of pod shapes ``m`` (cpu, memory, GPUs, per-GPU share)
with probabilities ``p_m`` (:func:`reference_shapes`). For a node ``n`` and a shape ``m``:

* GPU: if ``m`` requests no GPU, or ``n`` cannot host ``m``, all of ``n``'s free GPU
  share is a fragment; otherwise only the free share of the GPUs whose free share is
  below ``m``'s per-GPU request.
* CPU, memory and every extended resource: all of ``n``'s free capacity is stranded
  for ``m`` when ``n`` cannot host ``m``, none otherwise.

Node fragmentation is the expectation ``Σ_m p_m · F_n(m)``. "Can host" checks free CPU,
memory and GPUs (count and per-GPU share), like :mod:`heuristics.feasibility`. Two
differences from FGD's code, both deliberate: FGD ignores memory (we check it, so a node
out of memory strands its GPUs), and shapes carry no GPU model (the reference shapes
have none), so the model check of FGD does not apply.

The simulator's stranded-capacity metrics, the extender's metrics and the FGD baseline all
call this module, so they agree by construction. Per-node values are memoised per node
state (:mod:`heuristics._fgd_memo`) and recomputed only for nodes whose free capacity
changed, so a decision or a metrics snapshot costs about as much as the nodes it touches.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from cluster_traces.model import Cluster, FloatArray, IntArray, Workload
from heuristics._fgd_math import fragment, gpu_after
from heuristics._fgd_memo import memo_for
from heuristics.contract import Context, NodeState, NodeView, Pod

__all__ = [
    "DEFAULT_COVERAGE",
    "fragmentation_increase",
    "make_context",
    "node_fragmentation",
    "reference_shapes",
    "stranded_increase",
]

DEFAULT_COVERAGE = 0.95
"""Share of the workload's pods the reference shapes cover (FGD's popularity threshold)."""


def reference_shapes(workload: Workload, coverage: float = DEFAULT_COVERAGE) -> Context:
    """A :class:`Context` holding the workload's most frequent pod shapes.

    Shapes are distinct (cpu_milli, memory_mib, num_gpu, gpu_milli) tuples, most frequent
    first (ties by the tuple, ascending); the smallest prefix covering at least
    ``coverage`` of the pods is kept and its frequencies renormalised to sum to 1. The
    cluster fields are left empty: :func:`make_context` fills them.

    Raises:
        ValueError: when ``coverage`` is not in (0, 1].
    """
    if not 0.0 < coverage <= 1.0:
        raise ValueError(f"reference shapes: coverage: expected a value in (0, 1], got {coverage}")
    rows = np.stack(
        [workload.cpu_milli, workload.memory_mib, workload.num_gpu, workload.gpu_milli], axis=1
    ).astype(np.int64)
    if len(rows) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Context(empty, empty, empty, empty, np.zeros(0, dtype=np.float64))
    shapes, counts = np.unique(rows, axis=0, return_counts=True)
    order = np.argsort(-counts, kind="stable")  # np.unique sorts shapes: ties stay ascending
    shapes, counts = shapes[order], counts[order]
    cumulative = np.cumsum(counts)
    keep = int(np.searchsorted(cumulative, coverage * len(rows) - 1e-9)) + 1
    shapes, counts = shapes[:keep], counts[:keep]
    return Context(
        shape_cpu_milli=shapes[:, 0].copy(),
        shape_memory_mib=shapes[:, 1].copy(),
        shape_num_gpu=shapes[:, 2].copy(),
        shape_gpu_milli=shapes[:, 3].copy(),
        shape_probability=counts / counts.sum(),
    )


def make_context(
    source: Cluster | NodeState, workload: Workload, coverage: float = DEFAULT_COVERAGE
) -> Context:
    """The full :class:`Context` for scheduling ``workload`` on a cluster.

    Cluster totals count every node of a :class:`Cluster`, or the active nodes of a
    :class:`NodeState`. Raises ``ValueError`` as :func:`reference_shapes`.
    """
    shapes = reference_shapes(workload, coverage)
    if isinstance(source, Cluster):
        models = source.gpu_models
        cpu, memory, gpu = source.cpu_milli, source.memory_mib, source.gpu_count
    else:
        models = source.models
        cpu = source.cpu_total[source.active]
        memory = source.memory_total[source.active]
        gpu = source.gpu_total[source.active]
    return replace(
        shapes,
        gpu_models=models,
        cluster_cpu_milli=int(cpu.sum()),
        cluster_memory_mib=int(memory.sum()),
        cluster_gpu=int(gpu.sum()),
        max_node_cpu_milli=int(cpu.max()) if len(cpu) else 0,
        max_node_memory_mib=int(memory.max()) if len(memory) else 0,
        max_node_gpu=int(gpu.max()) if len(gpu) else 0,
    )


def node_fragmentation(
    state: NodeState, ctx: Context, nodes: IntArray | None = None
) -> dict[str, FloatArray]:
    """Expected stranded capacity per node, per resource, against ``ctx``'s shapes.

    Returns arrays over ``nodes`` (default: every node; inactive nodes strand nothing)
    keyed ``"gpu_milli"`` (thousandths of a GPU), ``"cpu_milli"``, ``"memory_mib"`` and
    each extended resource's name (its count).
    """
    index = np.arange(len(state)) if nodes is None else np.asarray(nodes, dtype=np.int64)
    gpu, unhostable = memo_for(state, ctx).before(state)[:, index]
    free = {"cpu_milli": state.cpu_free[index], "memory_mib": state.memory_free[index]}
    free.update((name, values[index]) for name, values in state.extended_free.items())
    return _stranded(gpu, unhostable, state.active[index], free)


def _stranded(
    gpu: FloatArray, unhostable: FloatArray, active: np.ndarray, free: dict[str, IntArray]
) -> dict[str, FloatArray]:
    """Per resource: the GPU fragment, or the free capacity times the unhostable mass
    (``free`` holds CPU, memory and every extended resource); inactive nodes strand nothing."""
    on = active.astype(np.float64)
    out = {"gpu_milli": gpu * on}
    for name, values in free.items():
        out[name] = values * (unhostable * on)
    return out


def stranded_increase(pod: Pod, nodes: NodeView, ctx: Context) -> dict[str, FloatArray]:
    """Stranded capacity after placing ``pod`` on each of ``nodes`` minus before, per
    resource (the keys and units of :func:`node_fragmentation`).

    ``nodes`` must be feasible for ``pod``. Computed for just these nodes, before and
    after, without changing the state (the extender's counterfactual per decision).
    """
    state = nodes._state  # read only, as in fragmentation_increase
    index = nodes.index
    cpu, memory = state.cpu_free[index], state.memory_free[index]
    gpu = state.gpu_free_milli[index]
    fragmented, unhostable = fragment(
        np.concatenate([cpu, cpu - pod.cpu_milli]),
        np.concatenate([memory, memory - pod.memory_mib]),
        np.concatenate([gpu, gpu_after(pod, gpu)]),
        ctx,
    )
    count = len(index)
    active = state.active[index]
    before_free = {"cpu_milli": cpu, "memory_mib": memory}
    after_free = {"cpu_milli": cpu - pod.cpu_milli, "memory_mib": memory - pod.memory_mib}
    for name, values in state.extended_free.items():
        before_free[name] = values[index]
        after_free[name] = values[index] - int(pod.extended.get(name, 0))
    before = _stranded(fragmented[:count], unhostable[:count], active, before_free)
    after = _stranded(fragmented[count:], unhostable[count:], active, after_free)
    return {name: after[name] - before[name] for name in before}


def fragmentation_increase(pod: Pod, nodes: NodeView, ctx: Context) -> FloatArray:
    """GPU fragmentation (thousandths) after placing ``pod`` on each node minus before.

    ``nodes`` must be feasible for ``pod`` (as from :func:`heuristics.feasibility.view`).
    FGD places the pod where this is smallest.
    """
    if len(nodes) == 0:
        return np.zeros(0)
    # NodeView keeps its state private; the memo needs the whole state to notice which
    # nodes changed since the last decision.
    state = nodes._state
    after, before = memo_for(state, ctx).after(state, pod, nodes.index)
    return after - before
