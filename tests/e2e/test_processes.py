"""Managed processes never outlive the tests: groups are stopped whole, on every path."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .processes import ManagedProcess, StartupError, wait_until


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers kill(0); it has ended all the same.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ", 1)[1].startswith("Z")


def test_stop_ends_the_whole_process_group_including_grandchildren(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    process = ManagedProcess(
        "shell", ["bash", "-c", f"sleep 60 & echo $! > {pid_file}; wait"], tmp_path / "shell.log"
    )
    grandchild = wait_until("grandchild pid", lambda: int(pid_file.read_text()), 10.0)
    process.stop(grace_s=5.0)
    assert not process.running()
    assert wait_until("grandchild gone", lambda: True if _gone(grandchild) else None, 5.0)


def test_children_die_when_the_test_process_is_killed_outright(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    script = (
        "import sys, time\n"
        f"sys.path.insert(0, {str(Path(__file__).parents[1])!r})\n"
        "from e2e.processes import ManagedProcess\n"
        f"p = ManagedProcess('sleeper', ['sleep', '60'], __import__('pathlib').Path({str(tmp_path / 's.log')!r}))\n"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        child = wait_until("child pid", lambda: int(pid_file.read_text()), 30.0)
        parent.send_signal(signal.SIGKILL)  # no atexit, no finalizer runs
        parent.wait(timeout=10)
        assert wait_until("orphan gone", lambda: True if _gone(child) else None, 10.0)
    finally:
        parent.kill()
        parent.wait(timeout=10)


def test_waiting_on_a_process_that_exits_raises_with_its_log(tmp_path: Path) -> None:
    process = ManagedProcess(
        "failing", ["bash", "-c", "echo bad flag --nope >&2; exit 3"], tmp_path / "f.log"
    )
    with pytest.raises(StartupError, match=r"failing exited with status 3(.|\n)*bad flag --nope"):
        wait_until("never", lambda: None, 10.0, alive=process)
    process.stop()


def test_a_timeout_names_what_was_awaited_and_the_last_error() -> None:
    started = time.monotonic()

    def probe() -> None:
        raise ConnectionRefusedError("port 1")

    with pytest.raises(TimeoutError, match=r"apiserver /readyz: not ready after 0s .*port 1"):
        wait_until("apiserver /readyz", probe, 0.2)
    assert time.monotonic() - started < 5
