"""The arithmetic of FGD's fragmentation measure on raw arrays (private to heuristics).

:mod:`heuristics.fragmentation` holds the definition and the public API; this module
holds the vectorised kernels it and its memo share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cluster_traces.model import GPU_MILLI_PER_GPU, FloatArray, IntArray
from heuristics._arrays import count_per_row
from heuristics.contract import Context, Pod

__all__ = [
    "SCALE",
    "SMALL_BATCH",
    "Shapes",
    "fragment",
    "gpu_after",
    "level_stats",
    "shapes_of",
]


@dataclass(frozen=True)
class Shapes:
    """Per-context constants of :func:`fragment`, derived once per :class:`Context`."""

    cpu_milli: IntArray  # shapes
    memory_mib: IntArray  # shapes
    num_gpu: IntArray  # shapes
    levels: IntArray  # distinct per-GPU requests of the GPU shapes
    level_of_shape: IntArray  # index into levels; len(levels) for CPU-only shapes
    weights: FloatArray  # shapes x (levels + 1): p_m * SCALE in its level's column and the last


_SHAPES_CACHE: dict[int, tuple[Context, Shapes]] = {}


SCALE = float(2**32)
"""Probabilities are used as whole multiples of ``1 / SCALE``. Every intermediate of
:func:`fragment` is then a whole number below 2**53, exact in float64 whatever the order
of summation, so nodes in the same situation get bit-identical values and FGD's ties are
real ties (broken by the lowest index, in the simulator and the extender alike) rather
than float noise. The quantisation moves a value by under 1e-4 thousandths of a GPU."""


def _scaled(probability: FloatArray) -> FloatArray:
    """``probability * SCALE`` as whole numbers summing to exactly ``SCALE`` (the rounding
    remainder goes to the likeliest shape) when the probabilities sum to one."""
    scaled = np.rint(np.asarray(probability, dtype=np.float64) * SCALE)
    if len(scaled) and abs(float(probability.sum()) - 1.0) < 1e-9:
        scaled[int(np.argmax(scaled))] += SCALE - scaled.sum()
    return scaled


def shapes_of(ctx: Context) -> Shapes:
    cached = _SHAPES_CACHE.get(id(ctx))
    if cached is not None and cached[0] is ctx:
        return cached[1]
    wants_gpu = ctx.shape_num_gpu > 0
    levels = np.unique(np.maximum(ctx.shape_gpu_milli[wants_gpu], 1))
    level_of_shape = np.where(
        wants_gpu, np.searchsorted(levels, np.maximum(ctx.shape_gpu_milli, 1)), len(levels)
    ).astype(np.int64)
    probability = _scaled(ctx.shape_probability)
    weights = np.zeros((len(wants_gpu), len(levels) + 1))
    rows = np.arange(len(wants_gpu))
    weights[rows[wants_gpu], level_of_shape[wants_gpu]] = probability[wants_gpu]
    weights[:, -1] = probability
    shapes = Shapes(
        cpu_milli=np.asarray(ctx.shape_cpu_milli, dtype=np.int64),
        memory_mib=np.asarray(ctx.shape_memory_mib, dtype=np.int64),
        num_gpu=np.asarray(ctx.shape_num_gpu, dtype=np.int64),
        levels=levels.astype(np.int64),
        level_of_shape=level_of_shape,
        weights=weights,
    )
    if len(_SHAPES_CACHE) >= 16:
        _SHAPES_CACHE.clear()
    _SHAPES_CACHE[id(ctx)] = (ctx, shapes)
    return shapes


def fragment(
    cpu_free: IntArray, memory_free: IntArray, gpu_free_milli: IntArray, ctx: Context
) -> tuple[FloatArray, FloatArray]:
    """(expected fragmented GPU share, probability mass of unhostable shapes) per row.

    With ``host[n, m]`` whether row n can host shape m and ``fit_k[n]`` the free share of
    the GPUs of row n with at least level k's per-GPU request free, FGD's sum regroups as
    ``gpu[n] = free[n] - Σ_k fit_k[n] · Σ_{m GPU shape of level k} p_m · host[n, m]``,
    so one matrix product over shapes gives every level's weight at once.
    """
    rows = len(cpu_free)
    if len(ctx.shape_probability) == 0 or rows == 0:
        return np.zeros(rows), np.zeros(rows)
    shapes = shapes_of(ctx)
    levels = len(shapes.levels)
    gpu_free = gpu_free_milli.astype(np.float64)
    counts, fitting_share = level_stats(gpu_free_milli, gpu_free, shapes.levels)
    host = cpu_free[:, None] >= shapes.cpu_milli
    host &= memory_free[:, None] >= shapes.memory_mib
    host &= counts[:, shapes.level_of_shape] >= shapes.num_gpu
    hosted = host.astype(np.float64) @ shapes.weights  # rows x (levels + 1), whole numbers
    scaled = gpu_free.sum(axis=1) * SCALE - (fitting_share[:, :levels] * hosted[:, :levels]).sum(
        axis=1
    )
    return scaled / SCALE, (SCALE - hosted[:, levels]) / SCALE


SMALL_BATCH = 64
"""Up to this many rows, :func:`level_stats` compares all levels at once (few numpy calls);
above, level by level (less memory traffic)."""


def level_stats(
    gpu_free_milli: IntArray, gpu_free: FloatArray, levels: IntArray
) -> tuple[IntArray, FloatArray]:
    """Per row and level k (plus a last level 0): how many GPUs have at least
    ``levels[k]`` free, and their total free share."""
    rows = len(gpu_free_milli)
    thresholds = np.append(levels, 0)
    if rows <= SMALL_BATCH:
        fits = gpu_free_milli[:, :, None] >= thresholds
        return fits.sum(axis=1), (gpu_free[:, :, None] * fits).sum(axis=1)
    counts = np.empty((rows, len(thresholds)), dtype=np.int64)
    shares = np.empty((rows, len(thresholds)))
    ones = np.ones(gpu_free.shape[1])
    for k, level in enumerate(thresholds.tolist()):
        fits = gpu_free_milli >= level
        counts[:, k] = count_per_row(fits)
        shares[:, k] = (gpu_free * fits) @ ones
    return counts, shares


def gpu_after(pod: Pod, gpu_free_milli: IntArray) -> IntArray:
    """Per-GPU free share after placing ``pod`` on each row, by the rule of
    :func:`heuristics.feasibility.gpu_slots` (rows are assumed feasible)."""
    if pod.num_gpu <= 0:
        return gpu_free_milli
    need = max(int(pod.gpu_milli), 1)
    fitting = gpu_free_milli >= need
    if need >= GPU_MILLI_PER_GPU:
        take = fitting & (np.cumsum(fitting, axis=1) <= pod.num_gpu)
    else:
        keyed = np.where(fitting, gpu_free_milli, GPU_MILLI_PER_GPU + 1)
        order = np.argsort(keyed, axis=1, kind="stable")[:, : pod.num_gpu]
        take = np.zeros(gpu_free_milli.shape, dtype=bool)
        np.put_along_axis(take, order, True, axis=1)
        take &= fitting
    return gpu_free_milli - take * int(pod.gpu_milli)
