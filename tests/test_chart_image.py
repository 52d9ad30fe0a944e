"""The container image: the Dockerfile's shape, and the same install it performs (the
wheel into a fresh virtual environment, then ``binforge serve --help``) without a
container engine."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from chart_render import (
    REPO,
    one,
    render,
)
from conftest import require

# ----------------------------------------------------------------------------- image


@pytest.mark.slow
def test_the_image_install_builds_a_wheel_that_serves_help_from_a_fresh_venv(
    tmp_path: Path,
) -> None:
    """What the Dockerfile does (the wheel, then a venv with only runtime dependencies),
    without a container engine."""
    uv = REPO / ".venv" / "bin" / "uv"
    require(uv.is_file(), f"{uv} missing (make installs it)")
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [str(uv), "build", "--wheel", "--out-dir", str(wheels), str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = wheels.glob("binforge-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([str(uv), "venv", "--python", sys.executable, str(venv)], check=True)
    install = subprocess.run(
        [str(uv), "pip", "install", "--python", str(venv / "bin" / "python"), str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    listed = subprocess.run(
        [str(uv), "pip", "list", "--python", str(venv / "bin" / "python")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "pytest" not in listed and "ruff" not in listed  # runtime dependencies only
    started = time.monotonic()
    served = subprocess.run(
        [str(venv / "bin" / "binforge"), "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,  # not the repository: the installed package must be complete
    )
    assert served.returncode == 0, served.stderr
    assert "--config" in served.stdout and "--mode" in served.stdout
    assert time.monotonic() - started < 60


def test_image_build_context_holds_every_python_package_the_wheel_includes() -> None:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    dockerfile = (REPO / "Dockerfile").read_text()
    ignore = (REPO / ".dockerignore").read_text().splitlines()
    for package in packages:
        assert f"!{package}/" in ignore, package
        assert f"COPY {package} ./{package}" in dockerfile, package


def test_dockerfile_is_multi_stage_pinned_non_root_with_a_healthcheck() -> None:
    text = (REPO / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+) AS (\w+)", text, flags=re.M)
    assert [name for _, name in stages] == ["build", "runtime"]
    base = re.search(r"^ARG PYTHON_IMAGE=python:(\S+)$", text, flags=re.M)
    assert base and re.match(r"3\.11\.\d+-slim-", base.group(1)), "pin an exact slim Python"
    assert re.search(r"^USER 65532:65532$", text, flags=re.M)
    assert re.search(r"^HEALTHCHECK .*", text, flags=re.M) and "/healthz" in text
    assert "[dev]" not in text
    pod = one(render(), "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 65532
