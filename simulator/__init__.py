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

import numpy as np

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
    started = time.perf_counter()
    # evolved code divides by zero on purpose under its nan_to_num guard: numpy's warnings
    # would only print its source line; a non-finite score is still a HeuristicError
    with np.errstate(all="ignore"):
        result = _run(scenario, score, seed, config)
    return replace(result, policy=policy_name(heuristic), elapsed_s=time.perf_counter() - started)


def _run(
    scenario: Scenario, score: Heuristic, seed: int, config: SimulationOptions
) -> SimulationResult:
    protocol = scenario.replay.protocol
    if scenario.instances:
        if protocol != "elastic":
            raise ValueError(
                f"simulate {scenario.name}: bin-packing instances run under 'elastic', "
                f"not {protocol!r}"
            )
        from simulator.elastic import pack_instances

        return pack_instances(scenario, score, seed=seed, options=config)
    if protocol == "saturate":
        from simulator.saturate import saturate

        return saturate(scenario, score, seed=seed, options=config)
    if protocol == "replay":
        from simulator.engine import replay

        return replay(scenario, score, seed=seed, options=config)
    if protocol == "elastic" and scenario.workload is not None and scenario.workload.has_times:
        from simulator.engine import replay

        return replay(scenario, score, seed=seed, options=config, autoscale=True)
    if protocol == "elastic":
        from simulator.autoscale import elastic_pack

        return elastic_pack(scenario, score, seed=seed, options=config)
    raise ValueError(f"simulate {scenario.name}: unknown protocol {protocol!r}")
