"""e2e/VERSIONS is the one place the versions live; the script and the tests agree on it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from .binaries import REPO_ROOT, VERSIONS_FILE, cache_bin_dir, read_versions


def test_versions_file_pins_a_kubernetes_and_an_etcd_release() -> None:
    versions = read_versions()
    assert re.fullmatch(r"v1\.\d+\.\d+", versions.kubernetes)
    assert re.fullmatch(r"v3\.\d+\.\d+", versions.etcd)
    assert versions.kube_scheduler_image == f"registry.k8s.io/kube-scheduler:{versions.kubernetes}"


def test_go_modules_pin_the_versions_file_releases_and_matching_staging_modules() -> None:
    versions = read_versions()
    k8s_mod = (REPO_ROOT / "e2e/k8s/go.mod").read_text()
    assert f"k8s.io/kubernetes {versions.kubernetes}\n" in k8s_mod
    staging = "v0." + versions.kubernetes.removeprefix("v1.")
    replaced = re.findall(r"^\s+(k8s\.io/\S+) => (k8s\.io/\S+) (\S+)$", k8s_mod, re.MULTILINE)
    assert len(replaced) >= 30
    assert all(old == new and version == staging for old, new, version in replaced)
    etcd_mod = (REPO_ROOT / "e2e/etcd/go.mod").read_text()
    assert f"go.etcd.io/etcd/server/v3 {versions.etcd}" in etcd_mod


def test_deps_script_and_python_compute_the_same_cache_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BINFORGE_E2E_CACHE", str(tmp_path))
    printed = subprocess.run(
        [str(REPO_ROOT / "scripts/e2e-deps.sh"), "--print-bin-dir"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(printed) == cache_bin_dir(read_versions())
    assert Path(printed).is_relative_to(tmp_path)


def test_a_malformed_versions_line_is_reported_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "VERSIONS"
    bad.write_text("# comment\nKUBERNETES_VERSION=v1.2.3\nETCD_VERSION\n")
    with pytest.raises(ValueError, match=r"VERSIONS:3: expected KEY=value"):
        read_versions(bad)
    assert VERSIONS_FILE.is_file()
