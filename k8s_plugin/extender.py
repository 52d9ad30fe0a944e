"""The extender's verbs, independent of the HTTP stack: bytes in, (status, document) out.

``filter`` and ``prioritize`` decode an ``ExtenderArgs``, read the pod's requests, take a
snapshot of the cluster, make one :func:`~k8s_plugin.decision.decide` call and answer
according to the mode:

* ``filter``: only the heuristic's node passes; unknown nodes and nodes binforge does
  not model (:data:`~k8s_plugin.cache.MAX_GPUS_PER_NODE`) are listed in FailedNodes with
  a reason, and so is every node when none can host the pod.
* ``score``: filter passes every feasible node and, with no opinion, the nodes binforge
  does not model; prioritize maps the heuristic's scores to 1..10 (infeasible, unknown
  and unmodelled nodes get 0).
* ``shadow``: every node passes and every score is 0; the heuristic's choice and the
  counterfactual are only recorded.

A request that cannot be decoded is answered 400 with ``{"Error": ...}``; problems with
single nodes (unknown, cannot host the pod) are reported per node. Nothing here raises
to the caller: an unexpected error becomes a 200 reply that changes nothing, logged and
counted with outcome ``error``, because a 5xx would fail the pod in kube-scheduler.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from heuristics.contract import Pod
from heuristics.feasibility import fits, view
from k8s_plugin.cache import ClusterCache, Snapshot, build_snapshot, pod_key
from k8s_plugin.config import ExtenderConfig
from k8s_plugin.decision import Decision, counterfactual, decide, to_priorities
from k8s_plugin.metrics import ExtenderMetrics
from k8s_plugin.resources import PodRequests, ResourceError, node_capacity, pod_requests
from k8s_plugin.runner import HeuristicRunner
from k8s_plugin.slot import HeuristicSlot
from k8s_plugin.wire import (
    ExtenderArgs,
    PriorityEncoder,
    WireError,
    decode_args,
    encode,
    filter_result,
    host_priority_list,
    resolve,
)

__all__ = ["Extender", "Reply"]

log = logging.getLogger("binforge.extender")

_DETAILED_REASONS = 16
"""Infeasible nodes that get a detailed reason; the rest get a short one (cost bound)."""
_UNKNOWN = "unknown node (not in the extender's node cache)"


class Reply:
    """An HTTP status and the JSON reply: a document, or bytes already encoded (large
    priority lists are encoded directly, :class:`~k8s_plugin.wire.PriorityEncoder`).
    Each form is derived from the other on demand."""

    __slots__ = ("_body", "_document", "status")

    def __init__(self, status: int, document: Any = None, *, body: bytes | None = None) -> None:
        self.status = status
        self._document = document
        self._body = body

    @property
    def document(self) -> Any:
        """The reply as a JSON document."""
        if self._document is None and self._body is not None:
            self._document = orjson.loads(self._body)
        return self._document

    @property
    def body(self) -> bytes:
        """The reply as JSON bytes."""
        if self._body is None:
            self._body = encode(self._document)
        return self._body


class _BadRequest(Exception):
    pass


@dataclass(frozen=True)
class _Prepared:
    args: ExtenderArgs
    snapshot: Snapshot
    decision: Decision
    unknown: tuple[str, ...]
    requested: np.ndarray
    positions: np.ndarray
    fit: Pod


class Extender:
    """Answers filter and prioritize requests for one config."""

    def __init__(
        self,
        config: ExtenderConfig,
        slot: HeuristicSlot,
        metrics: ExtenderMetrics,
        cache: ClusterCache | None,
        runner: HeuristicRunner | None = None,
    ) -> None:
        self.config = config
        self.slot = slot
        self.metrics = metrics
        self.cache = cache
        self.runner = runner or HeuristicRunner(config.heuristic_timeout_ms / 1000)
        self._priorities = PriorityEncoder()

    @property
    def ready(self) -> bool:
        """True once the watch cache (if any) has synced."""
        return self.cache is None or self.cache.synced

    def warm(self, pod: Pod) -> None:
        """Score ``pod`` on every node that can host it and drop the answer (never raises).

        A heuristic's first call for a pod shape can be its slowest (FGD computes
        fragmentation after placement on every node, then keeps it per shape): the server
        calls this for the reference shapes, between requests, whenever they change, so
        that pods of the usual shapes find the work done.
        """
        if self.cache is None or not self.cache.synced:
            return
        with self.cache.frozen() as snapshot:
            nodes = view(snapshot.state, pod)
            if len(nodes):
                self.runner.run(self.slot.current.heuristic, pod, nodes, snapshot.ctx)

    # -- verbs ------------------------------------------------------------------------

    def filter(self, body: bytes) -> Reply:
        """Answer a filter request (never raises)."""
        return self._answer("filter", body)

    def prioritize(self, body: bytes) -> Reply:
        """Answer a prioritize request (never raises)."""
        return self._answer("prioritize", body)

    def _answer(self, verb: str, body: bytes) -> Reply:
        started = time.perf_counter()
        reply = self._guarded(verb, body)
        self.metrics.latency.labels(verb).observe(time.perf_counter() - started)
        self.metrics.requests.labels(verb, str(reply.status)).inc()
        return reply

    def _guarded(self, verb: str, body: bytes) -> Reply:
        with self._held() as cached:
            index = cached.index_of if cached is not None else None
            try:
                args = decode_args(body, self.config.max_nodes_per_request, index)
            except WireError as exc:
                return Reply(400, {"Error": f"{verb}: {exc}"})
            return self._verb(verb, args, cached)

    def _verb(self, verb: str, args: ExtenderArgs, cached: Snapshot | None) -> Reply:
        try:
            if verb == "filter":
                return self._filter(args, cached)
            return self._prioritize(args, cached)
        except _BadRequest as exc:
            return Reply(400, {"Error": f"{verb}: {exc}"})
        except Exception:
            log.exception("%s: unexpected error; answering without a preference", verb)
            self.metrics.decisions.labels(self.config.mode, "error").inc()
            return self._neutral(verb, args)

    def _neutral(self, verb: str, args: ExtenderArgs) -> Reply:
        if verb == "filter":
            return Reply(200, filter_result(args, args.node_names, {}))
        return Reply(200, host_priority_list(args))

    # -- shared steps -----------------------------------------------------------------

    @contextlib.contextmanager
    def _held(self) -> Iterator[Snapshot | None]:
        """The synced watch cache's cluster, unchanged by watch events for the whole
        request (names are resolved against it while decoding), or None."""
        if self.cache is None or not self.cache.synced:
            yield None
            return
        with self.cache.frozen() as snapshot:
            yield snapshot

    def _cluster(self, args: ExtenderArgs, cached: Snapshot | None) -> Snapshot:
        """The cluster to decide on: the watch cache's, or the request's nodes."""
        if cached is not None:
            return cached
        if args.nodes is None:
            raise _BadRequest("NodeNames: this extender has no node cache; send full Nodes")
        try:
            capacities = [node_capacity(node, self.config) for node in args.nodes]
        except ResourceError as exc:
            raise _BadRequest(f"Nodes: {exc}") from exc
        return build_snapshot(capacities, self.config)

    def _prepare(
        self, snapshot: Snapshot, args: ExtenderArgs, deciding: bool, scoring: bool = True
    ) -> _Prepared:
        """Decide for ``args``; ``deciding`` marks the verb whose answer is the decision
        (filter in filter and shadow modes, prioritize in score mode): only it is recorded,
        and in filter mode assumed, replacing the pod's earlier assumption. With
        ``scoring`` False only feasibility is decided (score mode's filter, whose answer
        is every feasible node: the heuristic runs once, in prioritize)."""
        try:
            requests = pod_requests(args.pod, self.config)
        except ResourceError as exc:
            raise _BadRequest(f"Pod: {exc}") from exc
        key = pod_key(args.pod)
        if self.cache is not None and not deciding:
            with self.cache.without(key):
                return self._decide(snapshot, args, requests, deciding, scoring)
        if self.cache is not None:
            self.cache.forget(key)
        return self._decide(snapshot, args, requests, deciding, scoring)

    def _decide(
        self,
        snapshot: Snapshot,
        args: ExtenderArgs,
        requests: PodRequests,
        deciding: bool,
        scoring: bool,
    ) -> _Prepared:
        key = pod_key(args.pod)
        names = args.node_names
        positions, unknown = args.positions, args.unknown  # resolved while decoding
        if positions is None:  # full Nodes without a cache: the snapshot was built from them
            positions, unknown = resolve(names, snapshot.index_of)
        candidates = np.sort(positions[positions >= 0] if unknown else positions)
        loaded = self.slot.current
        decision = decide(
            snapshot.state,
            snapshot.ctx,
            (requests.fit, requests.score),
            candidates,
            loaded.heuristic,
            loaded.baseline,
            self.runner,
            scoring=scoring,
        )
        if deciding:
            self._record(snapshot, decision, requests.fit, args)
        if (
            deciding
            and self.config.mode == "filter"
            and decision.chosen is not None
            and self.cache is not None
        ):
            chosen = str(snapshot.state.names[decision.chosen])
            self.cache.assume(key, chosen, requests.fit)
        return _Prepared(args, snapshot, decision, unknown, candidates, positions, requests.fit)

    def _record(self, snapshot: Snapshot, decision: Decision, fit: Pod, args: ExtenderArgs) -> None:
        mode = self.config.mode
        if decision.fallback is not None:
            self.metrics.fallbacks.labels(decision.fallback).inc()
            name, pod = self.slot.current.identity.get("name"), pod_key(args.pod)
            if decision.fallback == "baseline_failed":
                log.error(
                    "heuristic %s and baseline %s both failed for pod %s: no score from the "
                    "extender", name, self.config.baseline, pod,
                )  # fmt: skip
            else:
                log.warning(
                    "heuristic %s failed (%s) for pod %s: answered by the baseline",
                    name, decision.fallback, pod,
                )  # fmt: skip
        if decision.chosen is None:
            outcome = "no_fit" if len(decision.candidates) == 0 else "error"
        else:
            outcome = "fallback" if decision.fallback else "chosen"
        self.metrics.decisions.labels(mode, outcome).inc()
        if decision.chosen is not None and decision.baseline_chosen is not None:
            difference = counterfactual(
                snapshot.state, snapshot.ctx, fit, decision.chosen, decision.baseline_chosen
            )
            self.metrics.record_counterfactual(difference)
        if log.isEnabledFor(logging.DEBUG):
            names = snapshot.state.names
            log.debug(
                "decision",
                extra={
                    "pod": pod_key(args.pod),
                    "mode": mode,
                    "outcome": outcome,
                    "chosen": None if decision.chosen is None else str(names[decision.chosen]),
                    "baseline": None
                    if decision.baseline_chosen is None
                    else str(names[decision.baseline_chosen]),
                },
            )

    def _failed(self, prepared: _Prepared) -> dict[str, str]:
        """Reasons for unknown nodes (and those left out of the node state) and, when no
        node can host the pod, for every candidate. kube-scheduler reads FailedNodes only
        to explain a pod that fits nowhere (its diagnosis and preemption); when a node
        passes, listing the rest would make the reply as large as the cluster for nothing."""
        state, left_out = prepared.snapshot.state, prepared.snapshot.left_out
        reasons = {name: f"binforge: {left_out.get(name, _UNKNOWN)}" for name in prepared.unknown}
        if len(prepared.decision.candidates):
            return reasons
        infeasible = prepared.requested.tolist()  # no candidate passed: every known node
        # Detailed reasons cost a Python call per node: give them to the first few only.
        for index in infeasible[:_DETAILED_REASONS]:
            reason = fits(state, index, prepared.fit) or "cannot host the pod"
            reasons[str(state.names[index])] = f"binforge: {reason}"
        rest = state.names[infeasible[_DETAILED_REASONS:]].tolist()
        reasons.update(dict.fromkeys(rest, "binforge: cannot host the pod"))
        return reasons

    # -- filter and prioritize ---------------------------------------------------------

    def _filter(self, args: ExtenderArgs, cached: Snapshot | None) -> Reply:
        mode = self.config.mode
        if self.cache is not None and cached is None:  # not synced when the request came
            self.metrics.decisions.labels(mode, "not_ready").inc()
            return Reply(200, filter_result(args, args.node_names, {}))
        snapshot = self._cluster(args, cached)
        prepared = self._prepare(
            snapshot, args, deciding=mode in ("filter", "shadow"), scoring=mode != "score"
        )
        if mode == "shadow":
            return Reply(200, filter_result(args, args.node_names, {}))
        failed = self._failed(prepared)
        decision = prepared.decision
        names = snapshot.state.names
        if mode == "filter" and decision.chosen is not None:
            winner = str(names[decision.chosen])
            # The other feasible nodes are simply not returned: listing them in FailedNodes
            # would only feed kube-scheduler's diagnosis, at the cost of a reply as large as
            # the cluster (the choice is in the metrics and the debug log instead).
            return Reply(200, filter_result(args, [winner], failed))
        # Feasible nodes in request order (-1, an unknown node, reads the extra False).
        feasible = np.zeros(len(names) + 1, dtype=bool)
        feasible[decision.candidates] = True
        passes = feasible[prepared.positions].tolist()
        left_out = snapshot.left_out
        if mode == "score" and left_out:  # no opinion on them: pass, score 0 at prioritize
            passes = [
                ok or name in left_out for ok, name in zip(passes, args.node_names, strict=True)
            ]
            failed = {name: why for name, why in failed.items() if name not in left_out}
        passing = list(itertools.compress(args.node_names, passes))
        return Reply(200, filter_result(args, passing, failed))

    def _prioritize(self, args: ExtenderArgs, cached: Snapshot | None) -> Reply:
        if self.config.mode == "shadow" or (self.cache is not None and cached is None):
            return Reply(200, host_priority_list(args))
        snapshot = self._cluster(args, cached)
        prepared = self._prepare(snapshot, args, deciding=self.config.mode == "score")
        decision = prepared.decision
        if decision.scores is None:
            return Reply(200, host_priority_list(args))
        # Scores by cluster index, then read at each request position (-1, unknown, is 0).
        by_index = np.zeros(len(snapshot.state) + 1, dtype=np.int64)
        by_index[decision.candidates] = to_priorities(decision.scores)
        scores = by_index[prepared.positions]
        if prepared.unknown:
            return Reply(200, host_priority_list(args, scores.tolist()))
        names = snapshot.state.names
        return Reply(200, body=self._priorities.encode(names, prepared.positions, scores))
