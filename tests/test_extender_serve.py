"""``binforge serve`` as a process: it serves the verbs and the probes, reloads its
heuristic on SIGHUP, logs JSON lines, and drains and exits cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from extender_cluster import args, nodes, pending_pod

ROOT = Path(__file__).parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.slow
def test_serve_answers_reloads_on_sighup_and_stops_on_sigterm(tmp_path: Path) -> None:
    heuristic = tmp_path / "most_cpu.py"
    heuristic.write_text("def score(pod, nodes, ctx):\n    return nodes.cpu_free * 1.0\n")
    config = tmp_path / "extender.yaml"
    config.write_text(
        "apiVersion: binforge.dev/v1alpha1\nkind: ExtenderConfig\n"
        f"heuristic: {heuristic}\nbaseline: first-fit\nwatch: false\nnodeCacheCapable: false\n"
    )
    port = _free_port()
    env = {**os.environ, "BINFORGE_SERVE_MODE": "filter"}
    process = subprocess.Popen(
        [sys.executable, "-m", "binforge", "serve", "--config", str(config), "--port", str(port)],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, "binforge serve exited early"
            assert time.monotonic() < deadline, "binforge serve did not come up"
            time.sleep(0.2)
        assert _get(f"{base}/readyz")[0] == 200  # no watch: nothing to sync
        body = json.dumps(
            args(pending_pod(), [n["metadata"]["name"] for n in nodes()], full_nodes=True)
        ).encode()
        request = urllib.request.Request(
            f"{base}/filter", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            reply = json.loads(response.read())
        assert [n["metadata"]["name"] for n in reply["Nodes"]["items"]] == ["d"]
        process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while (
            'binforge_heuristic_reloads_total{outcome="loaded"} 1.0'
            not in _get(f"{base}/metrics")[1]
        ):
            assert time.monotonic() < deadline, "SIGHUP did not reload the heuristic"
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    records = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    messages = [r["message"] for r in records]
    assert "serving" in messages
    assert any(m.startswith("shutting down") for m in messages)
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)


def test_serve_reports_a_bad_config_as_a_user_error(tmp_path: Path) -> None:
    from binforge.cli import main

    config = tmp_path / "extender.yaml"
    config.write_text(
        "apiVersion: binforge.dev/v1alpha1\nkind: ExtenderConfig\nmode: guess\nport: 0\n"
    )
    assert main(["serve", "--config", str(config)]) == 2


@pytest.mark.slow
def test_serve_without_a_kubernetes_config_is_a_user_error() -> None:
    env = {k: v for k, v in os.environ.items() if k != "KUBERNETES_SERVICE_HOST"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "binforge",
            "serve",
            "--heuristic",
            "best-fit",
            "--port",
            str(_free_port()),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "load Kubernetes config" in done.stderr


def test_a_port_already_taken_is_a_message_not_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from binforge.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = ["serve", "--no-watch", "--host", "127.0.0.1", "--port", str(port)]
        assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}: " in err and "in use" in err
    assert "Traceback" not in err
