"""The heuristic runner keeps the time budget: on the main thread an alarm stops a
runaway loop where it stands; elsewhere the call is abandoned on a worker thread; bad
results are named, never raised."""

from __future__ import annotations

import signal
import threading
import time
import warnings

import numpy as np
import pytest

from cluster_traces.model import Cluster
from heuristics.contract import Context, NodeState, NodeView, Pod
from heuristics.safety import compile_heuristic
from k8s_plugin.runner import HeuristicRunner

POD = Pod(cpu_milli=100, memory_mib=100)


def _nodes() -> tuple[NodeView, Context]:
    cluster = Cluster(
        names=np.array(["a", "b"]),
        cpu_milli=np.array([1000, 2000]),
        memory_mib=np.array([1000, 1000]),
        gpu_count=np.array([0, 0]),
        gpu_model=np.array(["", ""]),
    )
    empty = np.zeros(0, dtype=np.int64)
    ctx = Context(empty, empty, empty, empty, np.zeros(0))
    return NodeView(NodeState(cluster), np.arange(2)), ctx


RUNAWAY = compile_heuristic("def score(pod, nodes, ctx):\n    while True:\n        pass\n")


def test_an_alarm_stops_a_runaway_heuristic_on_the_main_thread() -> None:
    nodes, ctx = _nodes()
    runner = HeuristicRunner(timeout_s=0.05)
    started = time.monotonic()
    assert runner.run(RUNAWAY, POD, nodes, ctx) == (None, "timeout")
    assert time.monotonic() - started < 1.0
    # The process is not left with a pending alarm or a foreign handler.
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL


def test_an_outer_timer_is_restored_after_the_call() -> None:
    nodes, ctx = _nodes()
    runner = HeuristicRunner(timeout_s=0.05)
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(True))
    try:
        signal.setitimer(signal.ITIMER_REAL, 5.0)
        scores, reason = runner.run(lambda pod, nodes, ctx: nodes.cpu_free * 1.0, POD, nodes, ctx)
        assert reason is None and scores is not None
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 4.0 < left <= 5.0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert fired == []


def test_off_the_main_thread_a_slow_heuristic_is_abandoned() -> None:
    nodes, ctx = _nodes()
    runner = HeuristicRunner(timeout_s=0.05)

    def slow(pod: Pod, nodes: NodeView, ctx: Context) -> np.ndarray:
        time.sleep(0.5)
        return np.zeros(len(nodes))

    results = []
    thread = threading.Thread(target=lambda: results.append(runner.run(slow, POD, nodes, ctx)))
    started = time.monotonic()
    thread.start()
    thread.join(5)
    assert results == [(None, "timeout")]
    assert time.monotonic() - started < 0.4
    runner.close()


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        (np.array([1.0, np.nan]), "nan"),
        (np.array([1.0, np.inf]), "nan"),
        (np.array([1.0]), "shape"),
        ("scores", "shape"),
        (np.array([[1.0, 2.0]]), "shape"),
    ],
)
def test_bad_results_are_named(result: object, reason: str) -> None:
    nodes, ctx = _nodes()
    runner = HeuristicRunner(timeout_s=1.0)
    assert runner.run(lambda *_: result, POD, nodes, ctx)[1] == reason  # type: ignore[arg-type,return-value]


def test_an_exception_is_named_not_raised() -> None:
    nodes, ctx = _nodes()

    def broken(pod: Pod, nodes: NodeView, ctx: Context) -> np.ndarray:
        raise ZeroDivisionError

    assert HeuristicRunner(timeout_s=1.0).run(broken, POD, nodes, ctx) == (None, "exception")


def test_a_cold_fgd_pass_that_overruns_its_budget_completes_over_the_next_calls() -> None:
    # 40,000 distinct nodes: FGD's first pass for a new pod shape takes far longer than
    # the budget. The memo keeps each finished chunk, so retries finish the pass.
    from heuristics.registry import resolve

    rng = np.random.default_rng(3)
    n = 40_000
    cluster = Cluster(
        names=np.array([f"n{i}" for i in range(n)]),
        cpu_milli=rng.integers(4_000, 96_000, n),
        memory_mib=rng.integers(8_000, 400_000, n),
        gpu_count=np.full(n, 8),
        gpu_model=np.full(n, "G"),
    )
    state = NodeState(cluster)
    ctx = Context(
        shape_cpu_milli=np.array([4_000, 8_000, 16_000]),
        shape_memory_mib=np.array([8_000, 30_000, 64_000]),
        shape_num_gpu=np.array([1, 0, 2]),
        shape_gpu_milli=np.array([500, 0, 1_000]),
        shape_probability=np.array([0.5, 0.3, 0.2]),
    )
    nodes = NodeView(state, np.arange(n))
    runner = HeuristicRunner(timeout_s=0.01)
    fgd = resolve("fgd").heuristic
    outcomes = [runner.run(fgd, Pod(2_000, 4_000, 1, 250), nodes, ctx)[1] for _ in range(60)]
    runner.close()
    assert outcomes[0] == "timeout"
    assert None in outcomes, outcomes


GUARDED = compile_heuristic(
    "import numpy as np\n"
    "def score(pod, nodes, ctx):\n"
    "    share = nodes.cpu_free / (nodes.cpu_free - nodes.cpu_free)\n"
    "    return np.where(np.isfinite(share), share, 0.0)\n"
)


@pytest.mark.parametrize("where", ["inline", "main thread", "worker thread"])
def test_a_guarded_division_by_zero_prints_no_numpy_warning_on_any_thread(where: str) -> None:
    # numpy's error state is per thread: the runner silences it wherever the call runs.
    nodes, ctx = _nodes()
    runner = HeuristicRunner(timeout_s=5.0)
    results = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning becomes an exception in the heuristic
        if where == "worker thread":
            thread = threading.Thread(
                target=lambda: results.append(runner.run(GUARDED, POD, nodes, ctx))
            )
            thread.start()
            thread.join(5)
            assert not thread.is_alive()
        else:
            results.append(runner.run(GUARDED, POD, nodes, ctx, inline=where == "inline"))
    runner.close()
    ((scores, reason),) = results
    assert reason is None
    assert scores is not None and scores.tolist() == [0.0, 0.0]
