"""The decision probe: a cheap pre-screen that recognises most behaviour duplicates.

Most GP children place every item exactly like a known program (they change a constant
or a term that never flips a decision), yet each used to cost a full screen simulation.
The probe asks a candidate to rank the nodes of a fixed set of recorded decisions instead:
the states (pod, candidate nodes, context) that three trusted policies -- tightest fit,
first fit and a seeded random choice -- meet on their way through the screen scenario.
The hash of the candidate's best and runner-up node on each state (:data:`DEPTH`) is its
*probe signature*. Two programs with the same probe signature choose alike on every
recorded state, so the engine treats a candidate whose probe signature is already known
as a duplicate without running the screen.

This is a sample of decisions, not the screen itself: a candidate can agree with a
known program on every recorded state and still differ on the screen (a false
duplicate). ``python -m benchmarks.engine_ab`` measures how often that happens.

The probe runs only inside a sandbox worker (task kind ``decisions`` of
:mod:`heuristics.sandbox_worker`): the candidate is untrusted code like any other. The
recorded decisions are built once per worker, deterministically, so every worker gives a
candidate the same signature. Every call gets fresh copies of the arrays it may touch,
so a candidate that writes into its inputs cannot change what later candidates see.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from heuristics.contract import Context, Heuristic, NodeState, NodeView, Pod, choose

__all__ = ["DEPTH", "POLICIES", "Decision", "probe_signature", "recorded_decisions"]


@dataclass(frozen=True)
class Decision:
    """One recorded placement decision: a snapshot of the state the heuristic saw."""

    pod: Pod
    state: NodeState
    index: np.ndarray
    ctx: Context | None


def _tightest(pod: Pod, nodes: NodeView, ctx: Context) -> np.ndarray:
    cpu = (nodes.cpu_free - pod.cpu_milli) / np.maximum(nodes.cpu_total, 1)
    gpu = (nodes.gpu_free - pod.gpu_milli_total) / np.maximum(1000 * nodes.gpu_total, 1)
    return np.asarray(-cpu - gpu, dtype=np.float64)


def _first(pod: Pod, nodes: NodeView, ctx: Context) -> np.ndarray:
    return np.zeros(len(nodes))


POLICIES: tuple[str, ...] = ("tightest", "first", "random")
"""The trusted policies whose trajectories supply the recorded decisions."""

DEPTH = 2
"""Nodes per decision the signature hashes, best first. With the first choice alone,
twice to four times as many new behaviours were mistaken for duplicates in the engine
A/B's offline check (docs/evolve.md); the second-best node tells most of them apart."""

_cache: dict[Hashable, list[Decision]] = {}


def recorded_decisions(
    scenario: Any,
    count: int,
    *,
    seed: int = 0,
    key: Hashable | None = None,
    options: Mapping[str, Any] | None = None,
) -> list[Decision]:
    """``count`` decisions recorded on ``scenario``, evenly spread over each policy's run.

    Decisions with a single candidate node are skipped (every heuristic makes them
    alike). ``options`` are the runs' simulation options (``simulate``'s keywords). Cached
    per ``key`` when one is given (the key must tell the options apart).

    Raises:
        ValueError: when ``count`` is not positive.
    """
    if count < 1:
        raise ValueError(f"recorded decisions: count: expected >= 1, got {count}")
    if key is not None and (key, count, seed) in _cache:
        return _cache[(key, count, seed)]
    decisions: list[Decision] = []
    for i, policy in enumerate(POLICIES):
        share = count // len(POLICIES) + (1 if i < count % len(POLICIES) else 0)
        decisions.extend(_record(scenario, policy, share, seed, options or {}))
    if key is not None:
        _cache[(key, count, seed)] = decisions
    return decisions


def probe_signature(
    heuristic: Heuristic, decisions: list[Decision], depth: int = DEPTH
) -> dict[str, Any]:
    """The candidate's choices on ``decisions``, hashed: per decision the nodes it ranks
    first, or its ``depth`` best nodes in order (ties to the lowest index, as in ``choose``).

    Returns ``{"signature": int, "decisions": n}``, or ``{"signature": None, "error":
    message}`` when the heuristic fails on one of them (the screen then decides).
    """
    choices = np.full((len(decisions), depth), -1, dtype=np.int64)
    contexts: dict[int, Context | None] = {}
    for i, decision in enumerate(decisions):
        ctx = contexts.get(id(decision.ctx))
        if ctx is None:  # a fresh copy per request: the candidate may write into it
            ctx = contexts[id(decision.ctx)] = copy.deepcopy(decision.ctx)
        nodes = NodeView(decision.state, decision.index.copy())
        try:
            scores = heuristic(decision.pod, nodes, ctx)  # type: ignore[arg-type]
            choices[i, 0] = choose(scores, nodes)  # validates shape and finiteness
            if depth > 1:
                ranked = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
                choices[i, : min(depth, len(ranked))] = decision.index[ranked[:depth]]
        except Exception as exc:
            return {"signature": None, "error": f"decision {i}: {type(exc).__name__}: {exc}"}
    digest = hashlib.blake2b(choices.tobytes(), digest_size=8).digest()
    return {"signature": int.from_bytes(digest, "big") >> 1, "decisions": len(decisions)}


def _policy(name: str, seed: int) -> Heuristic:
    if name == "tightest":
        return _tightest
    if name == "first":
        return _first
    rng = np.random.default_rng(seed)
    return lambda pod, nodes, ctx: rng.random(len(nodes))


def _record(
    scenario: Any, policy: str, count: int, seed: int, options: Mapping[str, Any]
) -> list[Decision]:
    """Snapshot ``count`` decisions evenly spread over ``policy``'s run, in one pass.

    Every ``stride``-th decision is kept; when twice ``count`` are kept, every other one
    is dropped and the stride doubles, so at most ``2 * count`` snapshots are alive.
    """
    if count == 0:
        return []
    from simulator import simulate

    kept: list[tuple[int, Decision]] = []
    stride = 1
    steps = 0
    choose_for = _policy(policy, seed)

    def recorder(pod: Pod, nodes: NodeView, ctx: Context) -> Any:
        nonlocal steps, stride, kept
        if len(nodes) > 1:
            if steps % stride == 0:
                kept.append((steps, Decision(pod, _snapshot(nodes), nodes.index.copy(), ctx)))
                if len(kept) >= 2 * count:
                    stride *= 2
                    kept = [(step, d) for step, d in kept if step % stride == 0]
            steps += 1
        return choose_for(pod, nodes, ctx)

    simulate(scenario, recorder, seed=seed, **options)
    picks = np.linspace(0, len(kept) - 1, num=min(count, len(kept))).round().astype(int)
    return [kept[i][1] for i in sorted(set(picks.tolist()))]


def _snapshot(nodes: NodeView) -> NodeState:
    """A copy of the state behind ``nodes`` that later placements cannot change."""
    state: NodeState = nodes._state  # trusted code: the simulator's own state object
    copied = copy.copy(state)
    for name, value in vars(state).items():
        if isinstance(value, np.ndarray):
            setattr(copied, name, value.copy())
        elif isinstance(value, dict):
            setattr(copied, name, {k: v.copy() for k, v in value.items()})
    return copied
