"""The untrusted-code boundary: run a candidate heuristic in a confined worker process.

One entry point, :meth:`Sandbox.run`, returns a :class:`SandboxResult`; nothing a
candidate does (loop forever, exhaust memory, raise, return garbage) escapes it as an
exception or stops the caller. Candidates never run in the caller's process.

What is enforced, and where:

============================  ==========================================================
safety check (allow-list)     in the worker, :func:`heuristics.safety.compile_heuristic`
wall-clock timeout            here: the worker's process group is killed (SIGKILL)
CPU time per request          worker: RLIMIT_CPU (SIGXCPU ends the worker)
address space                 worker: RLIMIT_AS (``MemoryError`` inside the candidate)
no file grows                 worker: RLIMIT_FSIZE=0, scratch working directory
no new processes              worker: RLIMIT_NPROC=0 as an unprivileged user; as root the
                              worker first drops to ``nobody`` (otherwise root ignores it)
no network                    worker: a new, empty network namespace (root or user
                              namespaces only; elsewhere only the safety check stops it)
reply size                    here: a reply longer than ``max_reply_bytes`` kills the worker
============================  ==========================================================

Workers are reused (warm, with scenarios preloaded), so a request costs a pipe round
trip, not an interpreter start; a worker is replaced after it dies, times out or has
served ``tasks_per_worker`` requests.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from cluster_traces.scenarios import TRACE_DIR_ENV

__all__ = ["Sandbox", "SandboxLimits", "SandboxResult"]

_STARTUP_LOG = "worker-startup.log"
_THREAD_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


@dataclass(frozen=True)
class SandboxLimits:
    """Limits of every worker.

    Attributes:
        cpu_s: CPU seconds one request may use.
        memory_mib: address-space limit of a worker, in MiB.
        max_reply_bytes: longest accepted reply line.
        tasks_per_worker: requests a worker serves before it is replaced.
        isolate_network: move workers into an empty network namespace where allowed.
        drop_privileges: a worker started as root switches to ``nobody``.
        preload: scenarios a worker loads before it confines itself, as task
            ``scenarios`` entries (``{"name", "protocol"}``), plus their ``data_dir``.
        data_dir: directory of the public traces for preloading (None: the default).
    """

    cpu_s: int = 120
    memory_mib: int = 4096
    max_reply_bytes: int = 1_000_000
    tasks_per_worker: int = 500
    isolate_network: bool = True
    drop_privileges: bool = True
    preload: tuple[Mapping[str, Any], ...] = ()
    data_dir: str | None = None


@dataclass(frozen=True)
class SandboxResult:
    """The outcome of one request.

    Attributes:
        ok: the candidate ran and the task finished.
        value: the task's reply (numbers, lists of numbers, mappings of them) when ok.
        error: what went wrong when not ok (the candidate's exception, a limit, a timeout).
        wall_s: wall-clock seconds the request took once a worker was free (including
            starting a worker when one had to be started, and the round trip).
    """

    ok: bool
    value: Mapping[str, Any] | None
    error: str | None
    wall_s: float


class _WorkerLost(Exception):
    """The worker died, timed out or misbehaved; it must be replaced."""


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    scratch: tempfile.TemporaryDirectory[str]
    served: int = 0
    buffer: bytes = field(default=b"")

    def call(self, request: Mapping[str, Any], timeout_s: float, max_bytes: int) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()
        except OSError as exc:
            raise _WorkerLost(f"send request: {exc}") from None
        self.served += 1
        deadline = time.monotonic() + timeout_s
        fd = self.process.stdout.fileno()
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _WorkerLost(f"timeout: no answer within {timeout_s:g} s, worker killed")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise _WorkerLost(f"worker died: {self._death()}")
            self.buffer += chunk
            if len(self.buffer) > max_bytes:
                raise _WorkerLost(f"reply longer than {max_bytes} bytes, worker killed")
        line, _, self.buffer = self.buffer.partition(b"\n")
        try:
            reply = json.loads(line)
        except ValueError:
            raise _WorkerLost("reply is not JSON") from None
        if not isinstance(reply, dict):
            raise _WorkerLost("reply is not a JSON object")
        return reply

    def _death(self) -> str:
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "closed its output"
        if code < 0:
            name = signal.Signals(-code).name
            reason = {"SIGXCPU": "CPU time limit", "SIGKILL": "killed"}.get(name, "signal")
            return f"{name} ({reason})"
        log = os.path.join(self.scratch.name, _STARTUP_LOG)
        try:
            with open(log, encoding="utf-8", errors="replace") as stream:
                tail = stream.read()[-500:].strip()
        except OSError:
            tail = ""
        return f"exit status {code}" + (f": {tail}" if tail else "")

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        self.scratch.cleanup()


class Sandbox:
    """A pool of confined, warm worker processes that run candidate heuristics.

    Thread-safe: up to ``workers`` calls of :meth:`run` proceed at once, more wait.
    Use as a context manager, or call :meth:`close`, so no worker outlives the caller.
    """

    def __init__(self, workers: int = 2, limits: SandboxLimits | None = None) -> None:
        self.limits = limits or SandboxLimits()
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        self._closed = False
        for _ in range(workers):
            self._idle.put(None)  # started on first use, in parallel with the caller

    def run(
        self,
        source: str | None,
        task: Mapping[str, Any],
        timeout_s: float,
        *,
        heuristic: str | None = None,
    ) -> SandboxResult:
        """Run ``task`` with the candidate ``source`` (or a registered ``heuristic`` name).

        Returns a :class:`SandboxResult`; never raises for anything the candidate does.

        Raises:
            RuntimeError: when the sandbox is closed or a worker cannot be started at all.
        """
        if self._closed:
            raise RuntimeError("run a candidate: the sandbox is closed")
        worker = self._idle.get()
        started = time.perf_counter()  # after the wait for a free worker
        try:
            if worker is None or worker.process.poll() is not None:
                worker = self._start()
            request = {
                "source": source,
                "heuristic": heuristic,
                "task": dict(task),
                "cpu_limit_s": self.limits.cpu_s,
            }
            try:
                reply = worker.call(request, timeout_s, self.limits.max_reply_bytes)
            except _WorkerLost as exc:
                worker.kill()
                worker = None
                return SandboxResult(False, None, str(exc), time.perf_counter() - started)
            if worker.served >= self.limits.tasks_per_worker:
                worker.kill()
                worker = None
            ok = bool(reply.get("ok"))
            value = reply.get("value") if ok else None
            error = None if ok else str(reply.get("error") or "unknown error")
            return SandboxResult(ok, value, error, time.perf_counter() - started)
        finally:
            self._idle.put(worker)

    def warm(self) -> None:
        """Start every worker now (each preloads its scenarios) instead of on first use."""
        held = [self._idle.get() for _ in range(self._idle.qsize())]
        started = [w if w is not None else self._start() for w in held]
        for worker in started:
            worker.call({"task": {"kind": "ping"}}, 600, self.limits.max_reply_bytes)
            self._idle.put(worker)

    def close(self) -> None:
        """Kill every worker; later calls of :meth:`run` raise."""
        self._closed = True
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                return
            if worker is not None:
                worker.kill()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> _Worker:
        scratch = tempfile.TemporaryDirectory(prefix="binforge-sandbox-")
        os.chmod(scratch.name, 0o777)
        config = asdict(self.limits)
        config["preload"] = list(self.limits.preload)
        config["cpu_hard_s"] = self.limits.cpu_s * (self.limits.tasks_per_worker + 2)
        config["parent_pid"] = os.getpid()
        env = {**os.environ, **{name: "1" for name in _THREAD_ENV}}
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTHONPATH"] = os.pathsep.join(_import_roots())
        if env.get(TRACE_DIR_ENV):  # the worker runs in its scratch directory
            env[TRACE_DIR_ENV] = os.path.abspath(env[TRACE_DIR_ENV])
        try:
            with open(os.path.join(scratch.name, _STARTUP_LOG), "wb") as log:
                process = subprocess.Popen(
                    [sys.executable, "-m", "heuristics.sandbox_worker", json.dumps(config)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,  # until the worker confines itself: import errors land here
                    cwd=scratch.name,
                    env=env,
                    start_new_session=True,
                )
        except OSError as exc:
            scratch.cleanup()
            raise RuntimeError(f"start a sandbox worker: {exc}") from exc
        return _Worker(process, scratch)


def _import_roots() -> Sequence[str]:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    extra = os.environ.get("PYTHONPATH", "")
    return [here, *([extra] if extra else [])]
