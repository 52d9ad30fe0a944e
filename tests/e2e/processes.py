"""Child processes that cannot outlive the test session.

Each :class:`ManagedProcess` runs in its own process group (``start_new_session``), writes
its output to a log file, and is registered with an ``atexit`` hook, so a failed fixture,
an interrupted run or a forgotten ``stop()`` still ends the whole group; a parent-death
signal covers a test process that is killed outright.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

__all__ = ["ManagedProcess", "StartupError", "free_port", "wait_until"]

T = TypeVar("T")

_LIVE: set[ManagedProcess] = set()
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _die_with_parent() -> None:
    """In the child: ask Linux to send SIGTERM when the parent dies.

    atexit does not run when the test process is killed (SIGKILL, or pytest-timeout's
    os._exit); this still ends the children then. Linux ties it to the thread that
    started the child, so start control planes from the main thread (fixtures do).
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the atexit hook is the only guard


class StartupError(RuntimeError):
    """A managed process exited early or never became ready; the message quotes its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ManagedProcess:
    """A child process in its own process group, logging to ``log_file``."""

    def __init__(self, name: str, argv: Sequence[str], log_file: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_file = log_file
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with log_file.open("wb") as log:
            self._popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        _LIVE.add(self)

    @property
    def pid(self) -> int:
        return self._popen.pid

    def running(self) -> bool:
        """True while the process has not exited."""
        return self._popen.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the process's log, for error messages."""
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def check_running(self) -> None:
        """Raise :class:`StartupError` with the log's tail if the process has exited."""
        if not self.running():
            raise StartupError(
                f"{self.name} exited with status {self._popen.returncode}; "
                f"log {self.log_file}:\n{self.log_tail()}"
            )

    def stop(self, grace_s: float = 10.0) -> int | None:
        """Send SIGTERM to the process group, then SIGKILL after ``grace_s``.

        Returns the exit status (None only if the process could not be reaped).
        """
        _LIVE.discard(self)
        if self.running():
            self._signal_group(signal.SIGTERM)
            try:
                self._popen.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self._popen.wait(timeout=grace_s)
        # Reap anything the leader left behind in its group.
        self._signal_group(signal.SIGKILL)
        return self._popen.returncode

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._popen.pid, sig)


@atexit.register
def _stop_all() -> None:
    for process in list(_LIVE):
        process.stop(grace_s=2.0)


def wait_until(
    what: str,
    probe: Callable[[], T | None],
    timeout_s: float,
    *,
    alive: ManagedProcess | None = None,
    interval_s: float = 0.1,
) -> T:
    """Call ``probe`` until it returns something other than None; return that.

    Exceptions from ``probe`` count as "not yet". Raises :class:`StartupError` if
    ``alive`` exits meanwhile, and :class:`TimeoutError` naming ``what`` after ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while True:
        if alive is not None:
            alive.check_running()
        try:
            result = probe()
        except Exception as error:
            last_error = error
            result = None
        if result is not None:
            return result
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            log = f"\nlog {alive.log_file}:\n{alive.log_tail()}" if alive else ""
            raise TimeoutError(f"{what}: not ready after {timeout_s:.0f}s{detail}{log}")
        time.sleep(interval_s)
