"""The cluster simulator: judges a heuristic on a scenario and reports stable metrics.

Public API::

    from simulator import simulate, SimulationResult
    result = simulate(scenario, heuristic, seed=0)
    result.metrics["gpu_alloc_at_130"]     # saturate
    result.metrics["excess_percent"]       # elastic (FunSearch's bin-packing score)

Protocols (``scenario.replay.protocol``): ``saturate`` (FGD's), ``replay`` (trace time with
departures, SimPy) and ``elastic`` (nodes open on demand; FunSearch's online bin packing for
1-D instances). See docs/simulator.md.
"""

from __future__ import annotations

import time
from dataclasses import replace

from cluster_traces.model import Scenario
from heuristics.contract import Heuristic, HeuristicError
from simulator.options import SimulationOptions
from simulator.results import METRICS, Curve, SimulationResult

__all__ = [
    "METRICS",
    "Curve",
    "HeuristicError",
    "SimulationOptions",
    "SimulationResult",
    "policy_name",
    "simulate",
]


def policy_name(heuristic: object) -> str:
    """A heuristic's display name: ``.name`` (registry), else ``__name__``, else ""."""
    name = getattr(heuristic, "name", None) or getattr(heuristic, "__name__", None)
    return str(name) if name else ""


def simulate(
    scenario: Scenario, heuristic: Heuristic, *, seed: int = 0, **options: object
) -> SimulationResult:
    """Run ``heuristic`` on ``scenario`` under the scenario's protocol, seeded by ``seed``.

    ``heuristic`` is a ``score(pod, nodes, ctx)`` function or a registry ``NamedHeuristic``
    (its ``.heuristic`` is called). ``options`` are the fields of :class:`SimulationOptions`.
    The same scenario, heuristic, seed and options always give the same metrics.

    Raises:
        HeuristicError: the heuristic raised or returned a wrong shape or non-finite scores
            (unless ``on_heuristic_error="count"``), with the pod and decision named.
        ValueError: unknown or invalid options, or a protocol the scenario cannot run.
    """
    config = SimulationOptions.from_keywords(dict(options))
    score = getattr(heuristic, "heuristic", heuristic)
    if not callable(score):
        raise TypeError(f"simulate: heuristic must be callable, got {type(score).__name__}")
    protocol = scenario.replay.protocol
    started = time.perf_counter()
    if scenario.instances:
        if protocol != "elastic":
            raise ValueError(
                f"simulate {scenario.name}: bin-packing instances run under 'elastic', "
                f"not {protocol!r}"
            )
        from simulator.elastic import pack_instances

        result = pack_instances(scenario, score, seed=seed, options=config)
    elif protocol == "saturate":
        from simulator.saturate import saturate

        result = saturate(scenario, score, seed=seed, options=config)
    elif protocol == "replay":
        from simulator.engine import replay

        result = replay(scenario, score, seed=seed, options=config)
    elif protocol == "elastic" and scenario.workload is not None and scenario.workload.has_times:
        from simulator.engine import replay

        result = replay(scenario, score, seed=seed, options=config, autoscale=True)
    elif protocol == "elastic":
        from simulator.autoscale import elastic_pack

        result = elastic_pack(scenario, score, seed=seed, options=config)
    else:
        raise ValueError(f"simulate {scenario.name}: unknown protocol {protocol!r}")
    return replace(result, policy=policy_name(heuristic), elapsed_s=time.perf_counter() - started)
