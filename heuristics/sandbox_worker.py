"""The sandbox worker process: confines itself, then runs candidate heuristics on request.

Started by :class:`heuristics.sandbox.Sandbox` as ``python -m heuristics.sandbox_worker
LIMITS_JSON`` in a new session (its own process group). Before it reads any request it

1. imports numpy, the simulator and the scenario loaders (trusted code, so a candidate
   never pays for them and they are never imported under the limits);
2. moves into a fresh network namespace with no interfaces (``unshare(CLONE_NEWNET)``;
   needs root or user namespaces, otherwise skipped and reported);
3. when running as root, drops to the ``nobody`` user;
4. starts a watchdog thread that ends the worker when its parent process is gone, so
   a killed orchestrator leaves no worker behind; then sets RLIMIT_AS (address space), RLIMIT_FSIZE=0 (no file can grow; SIGXFSZ is
   ignored so a write fails with an error instead of killing the worker), RLIMIT_NPROC=0
   (no new processes or threads for an unprivileged user) and RLIMIT_CORE=0, and per
   request RLIMIT_CPU (the CPU seconds one request may use; SIGXCPU kills the worker);
5. replaces stdout and stderr with /dev/null, replying on a private duplicate of stdout.

Protocol: one JSON request per line on stdin, ``{"source": str | null, "heuristic":
str | null, "task": {...}, "cpu_limit_s": int}``; one JSON reply per line, ``{"ok": bool,
"value": {...numbers...}, "error": str | null}``. Every heuristic from a ``source`` goes
through :func:`heuristics.safety.compile_heuristic` here, inside the worker.

Task kinds: ``simulate`` (run the simulator on scenarios; metrics averaged over seeds,
optionally a behaviour signature of the placements), ``decisions`` (the candidate's
choices on decisions recorded on a scenario: :mod:`heuristics.evolve.probe`; a preload
entry with ``probe_decisions`` records them before the worker confines itself). Both
take ``simulation``, the simulator's options (``simulator.SimulationOptions`` fields);
without it the defaults hold.
Also ``probe`` (call the heuristic on a small built-in cluster; for tests without the
simulator), ``ping`` (nothing; measures the round trip) and ``limits`` (reports which
confinements hold; for tests and docs).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import resource
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from heuristics.contract import Context, Heuristic, NodeState, Pod, choose
from heuristics.safety import compile_heuristic

__all__ = ["main"]

_CLONE_NEWNET = 0x40000000
_NOBODY = 65534
_MAX_ERROR_CHARS = 2000

# Everything a request may import lazily must be imported before the worker drops to an
# unprivileged user: the interpreter's own files may not be readable by that user.
_PRELOADED_MODULES = (
    "secrets",
    "statistics",
    "bisect",
    "heapq",
    "numpy.random",
    "numpy.linalg",
    "numpy.fft",
    "numpy.polynomial",
    "numpy.ma",
    "simulator",
    "simulator.saturate",
    "simulator.engine",
    "simulator.elastic",
    "cluster_traces.scenarios",
    "heuristics.feasibility",
    "heuristics.registry",
    "heuristics.evolve.probe",
)

_scenarios: dict[tuple[Any, ...], Any] = {}
_load_errors: dict[tuple[Any, ...], str] = {}
_enforced: dict[str, bool] = {}


def main(argv: list[str]) -> int:
    limits = json.loads(argv[1]) if len(argv) > 1 else {}
    _preload(limits)
    reply = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    _confine(limits)
    for line in sys.stdin:
        response = _handle(line)
        reply.write(json.dumps(response, allow_nan=True) + "\n")
        reply.flush()
    return 0


def _preload(limits: Mapping[str, Any]) -> None:
    """Import the trusted modules and load scenarios while threads and files are allowed."""
    for module in _PRELOADED_MODULES:
        with contextlib.suppress(ImportError):
            __import__(module)
    np.random.default_rng(0).integers(10, size=2)  # the generator's lazy set-up
    for ref in limits.get("preload", ()):
        try:
            _scenario(ref, limits.get("data_dir"))
        except Exception as exc:
            # kept for the first request: confined, a reload could only fail for another
            # reason (no threads, no files), which would hide what is wrong with the trace
            _load_errors[_key(ref, limits.get("data_dir"))] = str(exc)
            continue
        if ref.get("probe_decisions"):
            with contextlib.suppress(Exception):  # reported by the first request
                _recorded(ref, int(ref["probe_decisions"]), limits.get("data_dir"), _options(ref))


def _confine(limits: Mapping[str, Any]) -> None:
    sys.dont_write_bytecode = True
    parent = int(limits.get("parent_pid", os.getppid()))
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    if limits.get("isolate_network", True):
        libc = ctypes.CDLL(None, use_errno=True)
        _enforced["network_namespace"] = libc.unshare(_CLONE_NEWNET) == 0
    if limits.get("drop_privileges", True) and os.getuid() == 0:
        os.setgroups([])
        os.setgid(_NOBODY)
        os.setuid(_NOBODY)
        _enforced["unprivileged_user"] = True
    memory = int(limits.get("memory_mib", 4096)) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    cpu_hard = int(limits.get("cpu_hard_s", 3600))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_hard, cpu_hard))
    _enforced["confined"] = True


def _watch_parent(parent: int) -> None:
    """Exit as soon as the orchestrator is gone (its pipe may outlive it in a grandchild)."""
    while os.getppid() == parent:
        time.sleep(0.25)
    os._exit(0)


def _handle(line: str) -> dict[str, Any]:
    try:
        request = json.loads(line)
        _limit_cpu(int(request.get("cpu_limit_s", 60)))
        task = request.get("task", {})
        kind = task.get("kind", "")
        if kind == "ping":
            return {"ok": True, "value": {}, "error": None}
        if kind == "limits":
            return {"ok": True, "value": _limits_report(), "error": None}
        heuristic = _heuristic(request)
        runner = _TASKS.get(kind)
        if runner is None:
            raise ValueError(f"unknown task kind {kind!r}")
        return {"ok": True, "value": runner(heuristic, task), "error": None}
    except MemoryError:
        return {"ok": False, "value": None, "error": "MemoryError: address-space limit reached"}
    except BaseException as exc:  # a candidate's failure of any kind is a recorded result
        message = f"{type(exc).__name__}: {exc}"
        return {"ok": False, "value": None, "error": message[:_MAX_ERROR_CHARS]}


def _limit_cpu(seconds: int) -> None:
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(used.ru_utime + used.ru_stime) + 1
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (min(hard, spent + seconds), hard))


def _heuristic(request: Mapping[str, Any]) -> Heuristic:
    source = request.get("source")
    if source is not None:
        return compile_heuristic(str(source), "<candidate>")
    name = request.get("heuristic")
    if not name:
        raise ValueError("request names neither a source nor a heuristic")
    import importlib

    registry: Any = importlib.import_module("heuristics.registry")
    named = registry.resolve(str(name))
    return getattr(named, "heuristic", named)


def _simulate(heuristic: Heuristic, task: Mapping[str, Any]) -> dict[str, Any]:
    from simulator import simulate

    metrics: dict[str, dict[str, float]] = {}
    protocols: dict[str, str] = {}
    signature = hashlib.blake2b(digest_size=8)
    options = _options(task)
    started = time.perf_counter()
    for ref in task["scenarios"]:
        scenario = _scenario(ref, task.get("data_dir"))
        runs = []
        for seed in ref["seeds"]:
            result = simulate(scenario, heuristic, seed=int(seed), **options)
            runs.append(result.metrics)
            signature.update(np.ascontiguousarray(result.placements).tobytes())
        keys = set.intersection(*(set(r) for r in runs))
        metrics[ref["label"]] = {k: float(np.mean([r[k] for r in runs])) for k in sorted(keys)}
        protocols[ref["label"]] = scenario.replay.protocol
    return {
        "metrics": metrics,
        "protocols": protocols,
        "signature": int.from_bytes(signature.digest(), "big") >> 1,
        "simulate_s": time.perf_counter() - started,
    }


def _decisions(heuristic: Heuristic, task: Mapping[str, Any]) -> dict[str, Any]:
    """The candidate's probe signature on ``task["decisions"]`` decisions of a scenario."""
    from heuristics.evolve.probe import probe_signature

    try:
        decisions = _recorded(
            task["scenario"], int(task["decisions"]), task.get("data_dir"), _options(task)
        )
    except Exception as exc:  # not the candidate's fault: the screen will judge it
        return {"signature": None, "error": f"record decisions: {type(exc).__name__}: {exc}"}
    if "depth" in task:  # for measurements; the engine uses the probe's default
        return probe_signature(heuristic, decisions, depth=int(task["depth"]))
    return probe_signature(heuristic, decisions)


def _recorded(
    ref: Mapping[str, Any], count: int, data_dir: str | None, options: Mapping[str, Any]
) -> Any:
    """The probe's decisions on a scenario, recorded by trusted policies once per worker."""
    from heuristics.evolve.probe import recorded_decisions

    seed = int(ref.get("seeds", [0])[0])
    key = (*_key(ref, data_dir), tuple(sorted(options.items())))
    return recorded_decisions(_scenario(ref, data_dir), count, seed=seed, key=key, options=options)


def _options(task: Mapping[str, Any]) -> dict[str, Any]:
    """The task's simulation options (``simulator.SimulationOptions`` fields); none: defaults."""
    return dict(task.get("simulation") or {})


def _key(ref: Mapping[str, Any], data_dir: str | None) -> tuple[Any, ...]:
    """What identifies a scenario entry's scenario within one worker."""
    fraction = float(ref.get("nodes_fraction", 1.0))
    return (ref["name"], ref.get("protocol"), int(ref.get("scenario_seed", 0)), fraction, data_dir)


def _scenario(ref: Mapping[str, Any], data_dir: str | None) -> Any:
    """The scenario of a task's ``scenarios`` entry, loaded once per worker."""
    key = _key(ref, data_dir)
    fraction, seed = key[3], key[2]
    if key in _load_errors:
        raise RuntimeError(_load_errors[key])
    if key not in _scenarios:
        from cluster_traces.scenarios import keep_nodes, load_scenario

        trace_dir = Path(data_dir) if data_dir else None
        try:
            scenario = load_scenario(
                ref["name"], trace_dir, protocol=ref.get("protocol"), seed=seed
            )
        except Exception as exc:
            hint = " (not preloaded: list it in SandboxLimits.preload)" if _enforced else ""
            raise RuntimeError(f"load scenario {ref['name']!r}{hint}: {exc}") from None
        _scenarios[key] = keep_nodes(scenario, fraction, seed)
    return _scenarios[key]


def _probe(heuristic: Heuristic, task: Mapping[str, Any]) -> dict[str, Any]:
    """Place ``task["pods"]`` pods (default 20) on a small built-in cluster, first choice wins."""
    from cluster_traces.model import Cluster
    from heuristics.feasibility import allocate, view

    cluster = Cluster(
        names=np.array([f"n{i}" for i in range(8)]),
        cpu_milli=np.array([32000, 64000] * 4),
        memory_mib=np.array([131072, 262144] * 4),
        gpu_count=np.array([0, 2, 4, 8] * 2),
        gpu_model=np.array(["", "A", "B", "A"] * 2),
    )
    state = NodeState(cluster)
    ctx = Context(
        shape_cpu_milli=np.array([1000, 4000]),
        shape_memory_mib=np.array([2048, 8192]),
        shape_num_gpu=np.array([0, 1]),
        shape_gpu_milli=np.array([0, 500]),
        shape_probability=np.array([0.5, 0.5]),
        gpu_models=cluster.gpu_models,
    )
    placements = []
    for i in range(int(task.get("pods", 20))):
        pod = Pod(
            cpu_milli=1000 + 500 * (i % 4), memory_mib=2048, num_gpu=i % 2, gpu_milli=500 * (i % 2)
        )
        nodes = view(state, pod)
        if len(nodes) == 0:
            placements.append(-1)
            continue
        node = choose(heuristic(pod, nodes, ctx), nodes)
        allocate(state, node, pod)
        placements.append(node)
    return {"placements": placements}


def _limits_report() -> dict[str, Any]:
    report: dict[str, Any] = {"uid": os.getuid(), "pid": os.getpid()}
    report.update({k: int(v) for k, v in _enforced.items()})
    report["file_write_blocked"] = int(_fails(lambda: Path("probe.txt").write_text("x")))
    report["fork_blocked"] = int(_fails(_fork_and_reap))
    interfaces = [name for _, name in socket.if_nameindex() if name != "lo"]
    report["network_blocked"] = int(not interfaces)
    report["address_space_mib"] = resource.getrlimit(resource.RLIMIT_AS)[0] // (1024 * 1024)
    return report


def _fork_and_reap() -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)


def _fails(action: Callable[[], object]) -> bool:
    try:
        action()
    except OSError:
        return True
    return False


_TASKS: dict[str, Callable[[Heuristic, Mapping[str, Any]], dict[str, Any]]] = {
    "simulate": _simulate,
    "decisions": _decisions,
    "probe": _probe,
}

if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
