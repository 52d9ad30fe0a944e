"""The ``replay`` protocol: trace time with departures, as SimPy processes.

Processes and events:

* ``arrivals``: each pod joins the pending queue at its ``arrival_s`` and wakes the scheduler.
* ``scheduler``: on each wake, tries the pending pods in order (higher priority first,
  then the time each last joined the queue: its arrival or its last failed attempt, as
  kube-scheduler's ``PrioritySort``; ``queue_order="arrival"``: arrival). A pod that fits
  nowhere backs off: it is retried only after capacity was freed (a departure or a node
  joining); the backoff starts at ``backoff_initial_s`` and doubles up to
  ``backoff_max_s``. As kube-scheduler (``SchedulerPopFromBackoffQ``, on since 1.33), a
  pod still backing off is tried as soon as no due pod is left, soonest expiry first;
  with ``pop_from_backoff=False`` it waits for its backoff to end. A pod never placed
  ``pending_timeout_s`` after its arrival has failed; a pod evicted by a node removal
  waits without a deadline. Pods that fit no node of the empty cluster fail at once.
* departures: a placed pod runs for ``departure_s - arrival_s`` seconds (its trace
  lifetime; NaN: forever) and then frees its node.
* ``node_events``: nodes join and leave at the cluster's event times; a leaving node's pods
  are evicted back to the pending queue.
* ``sampler``: records allocation and stranded shares at ``sample_points`` evenly spaced
  times over the live window (from the 1st percentile of arrival times to the last arrival;
  real traces have long quiet prefixes).

Several wakes at one instant are merged into one scheduling round.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from cluster_traces.model import Scenario
from heuristics.contract import Heuristic, NodeState, Pod
from heuristics.feasibility import Allocation, release
from heuristics.fragmentation import make_context
from simulator.autoscale import Autoscaler, template_copies, template_node
from simulator.metrics import behind_fragments, delay_percentiles, snapshot
from simulator.options import SimulationOptions
from simulator.placement import Placer, hostable, pods_of
from simulator.results import Curve, SimulationResult

__all__ = ["replay"]

_CURVES = (
    "gpu_alloc_percent",
    "cpu_alloc_percent",
    "memory_alloc_percent",
    "stranded_gpu_share",
    "stranded_cpu_share",
    "stranded_memory_share",
    "pods_pending",
    "pods_pending_fragmented",
)


@dataclass
class _Waiting:
    """A pod in the pending queue."""

    index: int
    queued: int  # when it last joined the queue (arrival or a failed attempt), as a count
    ready_at: float
    backoff_s: float
    tried_epoch: int = -1


@dataclass
class _Run:
    """The mutable state of one replay."""

    state: NodeState
    placer: Placer
    pods: list[Pod]
    arrival_s: np.ndarray
    runtime_s: np.ndarray
    priority: np.ndarray
    options: SimulationOptions
    env: simpy.Environment = field(default_factory=simpy.Environment)
    pending: dict[int, _Waiting] = field(default_factory=dict)
    held: dict[int, Allocation] = field(default_factory=dict)
    on_node: dict[int, set[int]] = field(default_factory=dict)
    generation: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    placements: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    placed_at: np.ndarray = field(default_factory=lambda: np.zeros(0))
    failed: set[int] = field(default_factory=set)
    freed_epoch: int = 0
    evicted: int = 0
    wake: simpy.Event | None = None
    timer_at: float = np.inf
    autoscaler: Autoscaler | None = None
    queue_clock: Iterator[int] = field(default_factory=itertools.count)
    failed_shapes: set[int] = field(default_factory=set)  # this round's, by pod identity
    no_room: list[Pod] = field(default_factory=list)  # this round's, for the autoscaler

    def signal(self) -> None:
        """Wake the scheduler (once per instant, however many wakes arrive)."""
        if self.wake is not None and not self.wake.triggered:
            self.wake.succeed()

    def freed(self) -> None:
        """Capacity was freed: waiting pods may retry (no round when nobody waits)."""
        self.freed_epoch += 1
        if self.pending:
            self.signal()

    def depart(self, index: int, generation: int) -> None:
        if self.generation[index] != generation or index not in self.held:
            return  # evicted and requeued since: this departure is stale
        allocation = self.held.pop(index)
        self.on_node[allocation.node].discard(index)
        release(self.state, allocation)
        if self.autoscaler is not None and self.state.pods[allocation.node] == 0:
            self.autoscaler.node_emptied(allocation.node)
        self.freed()

    def start(self, index: int, allocation: Allocation) -> None:
        now = self.env.now
        self.held[index] = allocation
        self.on_node.setdefault(allocation.node, set()).add(index)
        self.placements[index] = allocation.node
        if np.isnan(self.placed_at[index]):
            self.placed_at[index] = now
        runtime = self.runtime_s[index]
        if np.isfinite(runtime):
            generation = int(self.generation[index])
            timer = self.env.timeout(max(float(runtime), 0.0))
            timer.callbacks.append(lambda _event: self.depart(index, generation))

    def round(self) -> None:
        """Try every pending pod that is due, then (``pop_from_backoff``) every pod whose
        backoff has not ended but for which capacity was freed; collect timeouts; arm the
        backoff timer."""
        now = self.env.now
        timeout = self.options.pending_timeout_s
        by_arrival = self.options.queue_order == "arrival"
        self.failed_shapes.clear()
        self.no_room = []
        next_ready = np.inf
        backing_off: list[int] = []

        def queued(i: int) -> float:
            return float(self.arrival_s[i]) if by_arrival else self.pending[i].queued

        for index in sorted(self.pending, key=lambda i: (-self.priority[i], queued(i), i)):
            waiting = self.pending[index]
            if now - self.arrival_s[index] >= timeout and np.isnan(self.placed_at[index]):
                del self.pending[index]
                self.failed.add(index)
                continue
            if waiting.tried_epoch >= self.freed_epoch:
                continue  # nothing was freed since its last try
            if self._backing_off(waiting):
                backing_off.append(index)
                next_ready = min(next_ready, waiting.ready_at)
                continue
            self._try(index)
        if self.options.pop_from_backoff and backing_off:
            # kube-scheduler pops its backoff queue once its active queue is empty: soonest
            # expiry (in 1 s windows) first, then the active queue's order.
            for index in sorted(
                backing_off,
                key=lambda i: (
                    math.floor(self.pending[i].ready_at),
                    -self.priority[i],
                    queued(i),
                    i,
                ),
            ):
                self._try(index)
            next_ready = np.inf  # every pod that capacity was freed for has been tried
        if self.autoscaler is not None and self.no_room:
            self.autoscaler.scale_up(self.no_room)
        if next_ready < self.timer_at:
            self.timer_at = next_ready
            timer = self.env.timeout(next_ready - now)
            timer.callbacks.append(lambda _event: self._timer_fired())

    def _backing_off(self, waiting: _Waiting) -> bool:
        if waiting.tried_epoch < 0:
            return False  # never tried since it joined the queue: no backoff
        if self.options.pop_from_backoff:
            # kube-scheduler then truncates both times to its 1 s ordering window: a pod
            # is due only from the window after the one its backoff ends in
            return math.floor(waiting.ready_at) >= math.floor(self.env.now)
        return waiting.ready_at > self.env.now

    def _try(self, index: int) -> None:
        """One scheduling attempt of a pending pod in this round."""
        now = self.env.now
        waiting = self.pending[index]
        pod = self.pods[index]
        # An equal pod failed this round and capacity only shrank since: skip the call.
        allocation = None if id(pod) in self.failed_shapes else self.placer.place(pod, index)
        if allocation is None:
            if self.placer.last_had_no_room or id(pod) in self.failed_shapes:
                self.no_room.append(pod)
            self.failed_shapes.add(id(pod))
            waiting.tried_epoch = self.freed_epoch
            waiting.queued = next(self.queue_clock)
            waiting.ready_at = now + waiting.backoff_s
            waiting.backoff_s = min(2 * waiting.backoff_s, self.options.backoff_max_s)
            return
        del self.pending[index]
        self.start(index, allocation)

    def _timer_fired(self) -> None:
        # Pods skipped for backoff still have tried_epoch < freed_epoch: they retry now.
        self.timer_at = np.inf
        self.signal()

    def enqueue(self, index: int) -> None:
        now = self.env.now
        waiting = _Waiting(index, next(self.queue_clock), now, self.options.backoff_initial_s)
        self.pending[index] = waiting
        self.signal()

    def evict(self, node: int) -> None:
        for index in sorted(self.on_node.pop(node, set())):
            release(self.state, self.held.pop(index))
            self.generation[index] += 1
            self.evicted += 1
            self.enqueue(index)


def _arrivals(run: _Run, order: np.ndarray, can_host: np.ndarray) -> Generator[Any, Any, None]:
    for index in order.tolist():
        delay = run.arrival_s[index] - run.env.now
        if delay > 0:
            yield run.env.timeout(delay)
        if can_host[index]:
            run.enqueue(index)
        else:
            run.failed.add(index)


def _scheduler(run: _Run) -> Generator[Any, Any, None]:
    while True:
        run.wake = run.env.event()
        yield run.wake
        run.round()


def _node_events(run: _Run, scenario: Scenario) -> Generator[Any, Any, None]:
    assert scenario.cluster is not None
    events = scenario.cluster.events
    for time_s, node, kind in zip(
        events.time_s.tolist(), events.node.tolist(), events.kind.tolist(), strict=True
    ):
        if time_s > run.env.now:
            yield run.env.timeout(time_s - run.env.now)
        if kind == "add" and not run.state.active[node]:
            run.state.active[node] = True
            run.freed()
        elif kind == "remove" and run.state.active[node]:
            run.evict(node)
            run.state.active[node] = False


def _sampler(
    run: _Run, times: np.ndarray, rows: list[dict[str, float]], ctx: Any
) -> Generator[Any, Any, None]:
    for time_s in times.tolist():
        if time_s > run.env.now:
            yield run.env.timeout(time_s - run.env.now)
        row = snapshot(run.state, ctx)
        row["pods_pending"] = float(len(run.pending))
        waiting = [run.pods[i] for i in run.pending]
        row["pods_pending_fragmented"] = float(behind_fragments(run.state, waiting))
        row["nodes_used"] = float(np.count_nonzero(run.state.pods[run.state.active]))
        rows.append(row)


def _initially_active(scenario: Scenario) -> np.ndarray:
    """Nodes present at the start: all but those whose first event is an ``add``."""
    assert scenario.cluster is not None
    active = np.ones(len(scenario.cluster), dtype=bool)
    seen: set[int] = set()
    events = scenario.cluster.events
    for node, kind in zip(events.node.tolist(), events.kind.tolist(), strict=True):
        if node not in seen:
            seen.add(node)
            active[node] = kind != "add"
    return active


def replay(
    scenario: Scenario,
    score: Heuristic,
    *,
    seed: int,
    options: SimulationOptions,
    autoscale: bool = False,
) -> SimulationResult:
    """Replay ``scenario`` in trace time; see the module docstring.

    With ``autoscale`` (the ``elastic`` protocol on a timed workload) the nodes are a pool
    of copies of the template node (:func:`simulator.autoscale.template_node`), all
    absent at first, opened and removed by :class:`simulator.autoscale.Autoscaler`; the
    cluster's own node events are not replayed.

    Raises:
        ValueError: when the workload has no arrival times.
    """
    cluster, workload = scenario.cluster, scenario.workload
    if cluster is None or workload is None:
        raise ValueError(f"replay {scenario.name}: needs a cluster and a workload")
    if not workload.has_times:
        raise ValueError(
            f"replay {scenario.name}: every pod needs an arrival time (arrival_s has NaN); "
            "use the saturate or elastic protocol for workloads without times"
        )
    count = len(workload)
    pods = pods_of(workload)
    if autoscale:
        template = template_node(cluster, options.node_template)
        can_host = hostable(template_copies(cluster, template, 1), pods)
        cluster = template_copies(cluster, template, options.max_nodes or max(count, 1))
        state = NodeState(cluster)
        state.active[:] = False
    else:
        can_host = hostable(cluster, pods)
        state = NodeState(cluster)
        state.active[:] = _initially_active(scenario)
    ctx = make_context(cluster, workload)
    arrival = workload.arrival_s.astype(np.float64)
    start = float(arrival.min()) if count else 0.0
    run = _Run(
        state=state,
        placer=Placer(state, score, ctx, options, f"replay {scenario.name}"),
        pods=pods,
        arrival_s=arrival,
        runtime_s=workload.departure_s - arrival,
        priority=workload.priority,
        options=options,
        env=simpy.Environment(initial_time=start),
        generation=np.zeros(count, dtype=np.int64),
        placements=np.full(count, -1, dtype=np.int64),
        placed_at=np.full(count, np.nan),
    )
    order = np.lexsort((np.arange(count), arrival))
    last_arrival = float(arrival.max()) if count else 0.0
    window_start = float(np.quantile(arrival, 0.01)) if count else 0.0
    times = np.linspace(window_start, last_arrival, options.sample_points)
    rows: list[dict[str, float]] = []
    if autoscale:
        run.autoscaler = Autoscaler(
            run.env, state, options.provision_delay_s, options.scale_down_idle_s, run.freed
        )
    run.env.process(_scheduler(run))
    run.env.process(_arrivals(run, order, can_host))
    if not autoscale:
        run.env.process(_node_events(run, scenario))
    run.env.process(_sampler(run, times, rows, ctx))
    end = last_arrival + options.pending_timeout_s
    run.env.run(until=end + 1e-6)
    if run.autoscaler is not None:
        run.autoscaler.finish()
    # Never-placed pods have all timed out by ``end``; evicted pods still waiting stay
    # pending (they were placed once, so they are not failed).
    for index in list(run.pending):
        if np.isnan(run.placed_at[index]):
            run.failed.add(index)
            del run.pending[index]
    return _result(scenario, seed, run, can_host, times, rows)


def _result(
    scenario: Scenario,
    seed: int,
    run: _Run,
    can_host: np.ndarray,
    times: np.ndarray,
    rows: list[dict[str, float]],
) -> SimulationResult:
    placed = ~np.isnan(run.placed_at)
    delays = (run.placed_at - run.arrival_s)[placed]
    metrics: dict[str, float] = {
        "pods_arrived": len(run.pods),
        "pods_placed": int(placed.sum()),
        "pods_failed": len(run.failed),
        "pods_unschedulable": int((~can_host).sum()),
        "heuristic_errors": run.placer.heuristic_errors,
        "decisions": run.placer.decisions,
        "pods_pending_end": len(run.pending),
        "pods_evicted": run.evicted,
        **delay_percentiles(delays),
    }
    if rows:
        for key in _CURVES:  # time averages: gpu_alloc_percent, ..., pods_pending_mean
            name = key if key.endswith("_percent") else f"{key}_mean"
            metrics[name] = float(np.mean([row[key] for row in rows]))
        metrics["nodes_used_max"] = max(row["nodes_used"] for row in rows)
        has_gpus = scenario.cluster is not None and int(scenario.cluster.gpu_count.sum()) > 0
        headline = "gpu" if has_gpus else "cpu"
        metrics["stranded_share_mean"] = metrics[f"stranded_{headline}_share_mean"]
    if run.autoscaler is not None:
        metrics["nodes_used_max"] = run.autoscaler.active_max
        metrics["nodes_opened"] = run.autoscaler.opened
        metrics["node_hours"] = run.autoscaler.node_seconds / 3600.0
    x = times[: len(rows)]
    curves = {key: Curve("time_s", x, np.array([row[key] for row in rows])) for key in _CURVES}
    return SimulationResult(
        scenario=scenario.name,
        policy="",
        protocol="elastic" if run.autoscaler is not None else "replay",
        seed=seed,
        metrics=metrics,
        curves=curves,
        placements=run.placements,
        errors=tuple(run.placer.errors),
    )
