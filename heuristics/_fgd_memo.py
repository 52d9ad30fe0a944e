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


def _fragment_distinct(
    cpu: IntArray, memory: IntArray, gpu: IntArray, ctx: Context
) -> tuple[FloatArray, FloatArray]:
    """:func:`fragment`, computed once per distinct row: nodes of one type that nothing
    has touched yet share a row, and early in a replay most nodes are such."""
    if len(cpu) <= SMALL_BATCH:
        return fragment(cpu, memory, gpu, ctx)
    rows = np.column_stack([cpu, memory, gpu])
    distinct, inverse = np.unique(rows, axis=0, return_inverse=True)
    if len(distinct) * 2 > len(rows):
        return fragment(cpu, memory, gpu, ctx)
    fragmented, unhostable = fragment(distinct[:, 0], distinct[:, 1], distinct[:, 2:], ctx)
    inverse = inverse.reshape(-1)
    return fragmented[inverse], unhostable[inverse]


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
            rows = self._stale(self._before)
            if len(rows):
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
                if len(stale) == 0:
                    continue
                cpu, memory, gpu = self._cpu[stale], self._memory[stale], self._gpu[stale]
                if columns == "after":
                    cpu, memory, gpu = (
                        cpu - pod.cpu_milli,
                        memory - pod.memory_mib,
                        gpu_after(pod, gpu),
                    )
                fragmented, unhostable = _fragment_distinct(cpu, memory, gpu, self._ctx)
                target.values[0, stale] = fragmented
                if columns == "before":
                    target.values[1, stale] = unhostable
                target.computed_at[stale] = self._version[stale]
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
