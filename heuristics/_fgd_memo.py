"""A memo of per-node fragmentation, so FGD and the stranded metrics stay fast.

Fragmentation of a node depends only on its free CPU, memory and per-GPU shares (and
the context); a placement changes one node. The memo keeps, per :class:`NodeState` and
:class:`Context`, a shadow copy of every node's free capacity and a version number per
node: each lookup compares the shadow with the state (a few vectorised comparisons),
bumps the version of the nodes that changed, and recomputes only entries computed at an
older version. Results are exactly those of :func:`heuristics._fgd_math.fragment`; the
memo is invisible apart from speed. It is keyed by object identity and holds states
weakly, and a lock makes it safe for the extender's request threads.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict

import numpy as np

from cluster_traces.model import FloatArray, IntArray
from heuristics._arrays import count_per_row
from heuristics._fgd_math import SMALL_BATCH, fragment, gpu_after
from heuristics.contract import Context, NodeState, Pod

__all__ = ["memo_for"]

_MAX_PODS_REMEMBERED = 256
"""Distinct pod requests whose after-placement fragmentation is kept per state."""


_ROW_HASH = np.random.default_rng(0x5EED).integers(1, 2**62, size=64, dtype=np.int64) | 1
"""Odd multipliers for hashing a row of free capacities into one integer (wrapping)."""


def _distinct_rows(rows: IntArray) -> tuple[IntArray, IntArray] | None:
    """(distinct rows, inverse) of a 2-D integer array, or None when a hash collision
    made the quick answer wrong. One integer per row is sorted instead of whole rows
    (``np.unique(axis=0)`` cost more than the fragmentation it saved), and the answer is
    checked row by row, so it is exact."""
    if rows.shape[1] > len(_ROW_HASH):  # more than 62 GPUs on a node: no quick answer
        return None
    keys = rows @ _ROW_HASH[: rows.shape[1]]  # int64 arithmetic wraps: a hash
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    distinct = rows[first]
    if not np.array_equal(distinct[inverse], rows):
        return None
    return distinct, inverse


def _fragment_distinct(
    cpu: IntArray, memory: IntArray, gpu: IntArray, ctx: Context
) -> tuple[FloatArray, FloatArray]:
    """:func:`fragment`, computed once per distinct row: nodes of one type that nothing
    has touched yet share a row, and early in a replay most nodes are such."""
    if len(cpu) <= SMALL_BATCH:
        return fragment(cpu, memory, gpu, ctx)
    found = _distinct_rows(np.column_stack([cpu, memory, gpu]))
    if found is None or len(found[0]) * 2 > len(cpu):
        return fragment(cpu, memory, gpu, ctx)
    distinct, inverse = found
    fragmented, unhostable = fragment(distinct[:, 0], distinct[:, 1], distinct[:, 2:], ctx)
    return fragmented[inverse], unhostable[inverse]


_CHUNK = 1024
"""Rows computed and stored at a time: a caller interrupted by its time budget (the
extender's heuristic runner) keeps the chunks it finished, so a cold pass over a large
cluster that overruns one call completes over the next few instead of never."""


def _chunks(rows: IntArray) -> list[IntArray]:
    return [rows[start : start + _CHUNK] for start in range(0, len(rows), _CHUNK)]


class _Entry:
    """Values per node, each computed at ``computed_at[node]`` (the node's version)."""

    def __init__(self, nodes: int, columns: int) -> None:
        self.computed_at: IntArray = np.full(nodes, -1, dtype=np.int64)
        self.values: FloatArray = np.zeros((columns, nodes))


class FragmentMemo:
    """Fragmentation of every node of one state against one context, kept up to date."""

    def __init__(self, state: NodeState, ctx: Context) -> None:
        self._ctx = ctx
        self._lock = threading.Lock()
        self._reset(state)

    def _reset(self, state: NodeState) -> None:
        self._cpu = state.cpu_free.copy()
        self._memory = state.memory_free.copy()
        self._gpu = state.gpu_free_milli.copy()
        self._version: IntArray = np.zeros(len(state), dtype=np.int64)
        self._clock = 0
        self._before = _Entry(len(state), 2)
        self._after: OrderedDict[tuple[int, int, int, int], _Entry] = OrderedDict()

    def _sync(self, state: NodeState) -> None:
        if self._gpu.shape != state.gpu_free_milli.shape or len(self._cpu) != len(state):
            self._reset(state)
            return
        changed = self._cpu != state.cpu_free
        changed |= self._memory != state.memory_free
        changed |= count_per_row(self._gpu != state.gpu_free_milli) > 0
        rows = np.flatnonzero(changed)
        if len(rows):
            self._clock += 1
            self._version[rows] = self._clock
            self._cpu[rows] = state.cpu_free[rows]
            self._memory[rows] = state.memory_free[rows]
            self._gpu[rows] = state.gpu_free_milli[rows]

    def _stale(self, entry: _Entry) -> IntArray:
        return np.flatnonzero(entry.computed_at != self._version)

    def before(self, state: NodeState) -> FloatArray:
        """Rows (GPU fragmentation, unhostable mass) per node of the current state."""
        with self._lock:
            self._sync(state)
            for rows in _chunks(self._stale(self._before)):
                gpu, unhostable = _fragment_distinct(
                    self._cpu[rows], self._memory[rows], self._gpu[rows], self._ctx
                )
                self._before.values[0, rows] = gpu
                self._before.values[1, rows] = unhostable
                self._before.computed_at[rows] = self._version[rows]
            return self._before.values.copy()

    def after(self, state: NodeState, pod: Pod, index: IntArray) -> FloatArray:
        """GPU fragmentation of the nodes ``index`` after placing ``pod`` on each of them
        (by the single GPU rule), and before, as rows (after, before)."""
        key = (pod.cpu_milli, pod.memory_mib, pod.num_gpu, pod.gpu_milli)
        with self._lock:
            self._sync(state)
            entry = self._after.get(key)
            if entry is None:
                entry = self._after[key] = _Entry(len(self._version), 1)
                if len(self._after) > _MAX_PODS_REMEMBERED:
                    self._after.popitem(last=False)
            else:
                self._after.move_to_end(key)
            for target, columns in ((entry, "after"), (self._before, "before")):
                stale = index[target.computed_at[index] != self._version[index]]
                for rows in _chunks(stale):
                    cpu, memory, gpu = self._cpu[rows], self._memory[rows], self._gpu[rows]
                    if columns == "after":
                        cpu, memory, gpu = (
                            cpu - pod.cpu_milli,
                            memory - pod.memory_mib,
                            gpu_after(pod, gpu),
                        )
                    fragmented, unhostable = _fragment_distinct(cpu, memory, gpu, self._ctx)
                    target.values[0, rows] = fragmented
                    if columns == "before":
                        target.values[1, rows] = unhostable
                    target.computed_at[rows] = self._version[rows]
            return np.stack([entry.values[0, index], self._before.values[0, index]])


_MEMOS: weakref.WeakKeyDictionary[NodeState, dict[int, tuple[Context, FragmentMemo]]]
_MEMOS = weakref.WeakKeyDictionary()
_MEMOS_LOCK = threading.Lock()


def memo_for(state: NodeState, ctx: Context) -> FragmentMemo:
    """The memo of ``state`` against ``ctx`` (created on first use)."""
    with _MEMOS_LOCK:
        per_ctx = _MEMOS.setdefault(state, {})
        found = per_ctx.get(id(ctx))
        if found is not None and found[0] is ctx:
            return found[1]
        if len(per_ctx) >= 4:
            per_ctx.clear()
        memo = FragmentMemo(state, ctx)
        per_ctx[id(ctx)] = (ctx, memo)
        return memo
