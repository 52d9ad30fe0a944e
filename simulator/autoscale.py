"""Elastic clusters: an autoscaler opens nodes of one template shape when pods need them.

The multi-resource generalisation of online bin packing (:mod:`simulator.elastic`): pods
arrive in workload order and never leave; the candidates of a pod are the open nodes it
fits on plus one fresh node of the template shape, last; choosing the fresh node opens it
(the autoscaler's scale-up). The lower bound on nodes is the L1 bound per resource,
``max_r ceil(sum of requests_r / template capacity_r)``, over the pods a template node can
host at all (pods it cannot host are counted as unschedulable).
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable

import numpy as np
import simpy

from cluster_traces.model import GPU_MILLI_PER_GPU, Cluster, Scenario, Workload
from heuristics.contract import Heuristic, NodeState, Pod
from heuristics.fragmentation import make_context
from simulator.elastic import bin_metrics
from simulator.options import SimulationOptions
from simulator.placement import Placer, hostable, pods_of
from simulator.results import SimulationResult

__all__ = ["Autoscaler", "elastic_pack", "template_copies", "template_node"]


def template_node(cluster: Cluster, requested: int = -1) -> int:
    """Index of the node whose shape new nodes take: ``requested``, or the most common shape.

    Ties between equally common shapes go to the shape that appears first.

    Raises:
        ValueError: when ``requested`` is out of range or the cluster is empty.
    """
    if len(cluster) == 0:
        raise ValueError("elastic: the cluster has no node to take as template")
    if requested >= 0:
        if requested >= len(cluster):
            raise ValueError(
                f"elastic: node_template: index {requested} out of range 0..{len(cluster) - 1}"
            )
        return requested
    shapes = list(
        zip(
            cluster.cpu_milli.tolist(),
            cluster.memory_mib.tolist(),
            cluster.gpu_count.tolist(),
            cluster.gpu_model.tolist(),
            strict=True,
        )
    )
    common = Counter(shapes).most_common(1)[0][0]
    return shapes.index(common)


def template_copies(cluster: Cluster, node: int, count: int) -> Cluster:
    """A cluster of ``count`` copies of node ``node`` of ``cluster``, named elastic-0.."""
    index = np.full(count, node, dtype=np.int64)
    return Cluster(
        names=np.char.add("elastic-", np.arange(count).astype(str)),
        cpu_milli=cluster.cpu_milli[index],
        memory_mib=cluster.memory_mib[index],
        gpu_count=cluster.gpu_count[index],
        gpu_model=cluster.gpu_model[index],
        extended={k: v[index] for k, v in cluster.extended.items()},
        labels={k: v[index] for k, v in cluster.labels.items()},
        source=f"elastic copies of {cluster.names[node]}",
    )


def elastic_pack(
    scenario: Scenario, score: Heuristic, *, seed: int, options: SimulationOptions
) -> SimulationResult:
    """Place the workload on nodes opened on demand; reports nodes used and excess over L1."""
    cluster, workload = scenario.cluster, scenario.workload
    if cluster is None or workload is None:
        raise ValueError(f"elastic {scenario.name}: needs a cluster and a workload")
    node = template_node(cluster, options.node_template)
    pods = pods_of(workload)
    limit = options.max_nodes or len(pods) + 1
    nodes = template_copies(cluster, node, limit)
    can_host = hostable(template_copies(cluster, node, 1), pods)
    state = NodeState(nodes)
    state.active[:] = False
    state.active[0] = True
    ctx = make_context(nodes.take([0]), workload)
    placer = Placer(state, score, ctx, options, f"elastic {scenario.name}")
    placements = np.full(len(pods), -1, dtype=np.int64)
    opened = 0
    for i, pod in enumerate(pods):
        if not can_host[i]:
            continue
        allocation = placer.place(pod, i)
        if allocation is None:
            continue
        placements[i] = allocation.node
        if allocation.node == opened:
            opened += 1
            if opened < limit:
                state.active[opened] = True
    bound = _l1_bound(workload.take(np.flatnonzero(can_host)), nodes, 0)
    metrics = {
        **placer.pod_counts(placements, can_host),
        "nodes_used_max": opened,
        **bin_metrics(opened, bound, heuristic_failed=placer.heuristic_errors > 0),
    }
    return SimulationResult(
        scenario=scenario.name,
        policy="",
        protocol="elastic",
        seed=seed,
        metrics=metrics,
        placements=placements,
        errors=tuple(placer.errors),
    )


def _l1_bound(workload: Workload, nodes: Cluster, node: int) -> int:
    """``max_r ceil(sum_r / capacity_r)`` over cpu, memory, GPU and extended resources."""
    pairs = [
        (workload.cpu_milli.sum(), nodes.cpu_milli[node]),
        (workload.memory_mib.sum(), nodes.memory_mib[node]),
        (workload.gpu_milli_total.sum(), nodes.gpu_count[node] * GPU_MILLI_PER_GPU),
        *((workload.extended[k].sum(), nodes.extended[k][node]) for k in workload.extended),
    ]
    bound = 0
    for demand, capacity in pairs:
        if capacity > 0:
            bound = max(bound, int(np.ceil(int(demand) / int(capacity) - 1e-12)))
    return bound


class Autoscaler:
    """Scale-up and scale-down of template-shaped nodes for ``elastic`` replays in time.

    The node state holds a pool of identical template nodes, all inactive at first. When a
    scheduling round leaves pods with no feasible node, the autoscaler provisions enough
    nodes for them by the L1 estimate ``max_r ceil(sum_r / capacity_r)`` (less the nodes
    already on their way); each becomes active ``provision_delay_s`` later and wakes the
    scheduler. A node left empty for ``scale_down_idle_s`` is removed. Node-seconds are
    integrated for the ``node_hours`` metric.
    """

    def __init__(
        self,
        env: simpy.Environment,
        state: NodeState,
        provision_delay_s: float,
        scale_down_idle_s: float,
        wake: Callable[[], None],
    ) -> None:
        self.env = env
        self.state = state
        self.provision_delay_s = provision_delay_s
        self.scale_down_idle_s = scale_down_idle_s
        self.wake = wake
        self.idle: list[int] = list(range(len(state)))  # a heap of inactive pool slots
        self.provisioning = 0
        self.emptied_at: dict[int, float] = {}
        self.active = 0
        self.active_max = 0
        self.opened = 0
        self.node_seconds = 0.0
        self._since = float(env.now)

    def _count(self, delta: int) -> None:
        now = float(self.env.now)
        self.node_seconds += self.active * (now - self._since)
        self._since = now
        self.active += delta
        self.active_max = max(self.active_max, self.active)

    def scale_up(self, pods: list[Pod]) -> None:
        """Provision nodes for ``pods`` (which found no feasible node)."""
        needed = _pods_bound(pods, self.state) - self.provisioning
        for _ in range(min(needed, len(self.idle))):
            node = heapq.heappop(self.idle)
            self.provisioning += 1
            timer = self.env.timeout(self.provision_delay_s)
            timer.callbacks.append(self._ready_callback(node))

    def _ready_callback(self, node: int) -> Callable[[simpy.Event], None]:
        return lambda _event: self._ready(node)

    def _ready(self, node: int) -> None:
        self.provisioning -= 1
        self.state.active[node] = True
        self.opened += 1
        self._count(+1)
        self.node_emptied(node)
        self.wake()

    def node_emptied(self, node: int) -> None:
        """Note that ``node`` holds no pod; remove it if it stays empty long enough."""
        now = float(self.env.now)
        self.emptied_at[node] = now
        timer = self.env.timeout(self.scale_down_idle_s)
        timer.callbacks.append(lambda _event: self._maybe_remove(node, now))

    def _maybe_remove(self, node: int, emptied: float) -> None:
        if (
            self.emptied_at.get(node) != emptied
            or self.state.pods[node]
            or not self.state.active[node]
        ):
            return
        self.state.active[node] = False
        heapq.heappush(self.idle, node)
        self._count(-1)

    def finish(self) -> None:
        """Close the node-seconds integral at the current time."""
        self._count(0)


def _pods_bound(pods: list[Pod], state: NodeState) -> int:
    """Template nodes needed for ``pods`` by the L1 estimate (at least 1)."""
    pairs = [
        (sum(p.cpu_milli for p in pods), int(state.cpu_total[0])),
        (sum(p.memory_mib for p in pods), int(state.memory_total[0])),
        (sum(p.gpu_milli_total for p in pods), int(state.gpu_total[0]) * GPU_MILLI_PER_GPU),
    ]
    return max([1, *(-(-demand // cap) for demand, cap in pairs if cap > 0)])
