"""Running a heuristic on the request path under a time budget: the extender's one
boundary around heuristic code (which has passed :mod:`heuristics.safety` when it came
from a file).

:meth:`HeuristicRunner.run` returns ``(scores, None)`` or ``(None, reason)`` with reason
``exception``, ``timeout``, ``nan`` or ``shape``; it never raises. Two ways to keep the
budget:

* On the main thread (``binforge serve`` answers on it), a ``SIGALRM`` interval timer
  interrupts the heuristic where it stands, so a runaway Python loop really stops. A
  long single numpy call finishes before the interruption lands.
* Elsewhere (signals reach only the main thread), the heuristic runs on a worker thread
  and is no longer waited for: a runaway call keeps its worker busy until it returns
  (threads cannot be killed); when every worker is busy, calls time out.

Any timer set by someone else (e.g. pytest-timeout) is restored afterwards. numpy's
floating-point warnings are silenced inside the call, on whichever thread it runs (numpy's
error state is per thread): a guarded ``x / 0`` would otherwise log a warning per
heuristic, and a non-finite score is rejected as ``nan`` anyway.
"""

from __future__ import annotations

import concurrent.futures
import signal
import threading
import time
from types import FrameType
from typing import Any

import numpy as np

from cluster_traces.model import FloatArray
from heuristics.contract import Context, Heuristic, NodeView, Pod

__all__ = ["HeuristicRunner"]

_HAS_ALARM = hasattr(signal, "setitimer") and hasattr(signal, "SIGALRM")


class _OverBudget(BaseException):
    """Raised inside the heuristic by the alarm (a BaseException: ``except Exception`` in
    the heuristic cannot swallow it)."""


def _quietly(heuristic: Heuristic, pod: Pod, nodes: NodeView, ctx: Context) -> Any:
    """Call ``heuristic`` with numpy's floating-point warnings off on this thread."""
    with np.errstate(all="ignore"):
        return heuristic(pod, nodes, ctx)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise _OverBudget


class HeuristicRunner:
    """Runs heuristics with a per-call time budget."""

    def __init__(self, timeout_s: float, workers: int = 4) -> None:
        self._timeout_s = timeout_s
        self._pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="heuristic")

    def run(
        self, heuristic: Heuristic, pod: Pod, nodes: NodeView, ctx: Context, inline: bool = False
    ) -> tuple[FloatArray | None, str | None]:
        """Score ``nodes`` with ``heuristic``: ``(scores, None)``, or ``(None, reason)``.

        ``inline`` runs it on the calling thread without a budget (for the baseline: the
        answer of last resort must come).
        """
        try:
            if inline:
                raw = _quietly(heuristic, pod, nodes, ctx)
            elif _HAS_ALARM and threading.current_thread() is threading.main_thread():
                raw = self._with_alarm(heuristic, pod, nodes, ctx)
            else:
                raw = self._on_worker(heuristic, pod, nodes, ctx)
        except (_OverBudget, concurrent.futures.TimeoutError):
            return None, "timeout"
        except Exception:
            return None, "exception"
        try:
            scores = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError):
            return None, "shape"
        if scores.ndim == 0 and len(nodes) == 1:
            scores = scores.reshape(1)
        if scores.shape != (len(nodes),):
            return None, "shape"
        if not np.isfinite(scores).all():
            return None, "nan"
        return scores, None

    def _with_alarm(self, heuristic: Heuristic, pod: Pod, nodes: NodeView, ctx: Context) -> Any:
        previous_handler = signal.signal(signal.SIGALRM, _interrupt)
        started = time.monotonic()
        previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, self._timeout_s)
        try:
            try:
                return _quietly(heuristic, pod, nodes, ctx)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        finally:
            signal.signal(signal.SIGALRM, previous_handler)
            if previous_delay > 0:
                left = max(previous_delay - (time.monotonic() - started), 1e-6)
                signal.setitimer(signal.ITIMER_REAL, left, previous_interval)

    def _on_worker(self, heuristic: Heuristic, pod: Pod, nodes: NodeView, ctx: Context) -> Any:
        future = self._pool.submit(_quietly, heuristic, pod, nodes, ctx)
        try:
            return future.result(timeout=self._timeout_s)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    def close(self) -> None:
        """Stop accepting work; does not wait for runaway calls."""
        self._pool.shutdown(wait=False, cancel_futures=True)
