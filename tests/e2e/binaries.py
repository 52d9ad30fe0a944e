"""Where the end-to-end tier's binaries live and how they get there.

The versions are written once, in ``e2e/VERSIONS``; ``scripts/e2e-deps.sh`` builds etcd,
kube-apiserver and kube-scheduler into
``${BINFORGE_E2E_CACHE:-~/.cache/binforge/e2e}/kubernetes-<v>_etcd-<v>/bin`` and installs
Debian's prometheus. This module computes the same path and runs the script when a
binary is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "REPO_ROOT",
    "VERSIONS_FILE",
    "Binaries",
    "Versions",
    "build_binaries",
    "cache_bin_dir",
    "find_binaries",
    "read_versions",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
VERSIONS_FILE = REPO_ROOT / "e2e" / "VERSIONS"
_DEPS_SCRIPT = REPO_ROOT / "scripts" / "e2e-deps.sh"


@dataclass(frozen=True)
class Versions:
    """The pinned releases: ``kubernetes`` like "v1.36.5", ``etcd`` like "v3.6.16"."""

    kubernetes: str
    etcd: str

    @property
    def kube_scheduler_image(self) -> str:
        """The official image of the same release (the Helm chart's default)."""
        return f"registry.k8s.io/kube-scheduler:{self.kubernetes}"


def read_versions(path: Path = VERSIONS_FILE) -> Versions:
    """Parse ``KEY=value`` lines (``#`` comments allowed).

    Raises ValueError naming the file and line for a malformed line or a missing key.
    """
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key or not value:
            raise ValueError(f"{path}:{number}: expected KEY=value, got {raw!r}")
        values[key] = value
    missing = [k for k in ("KUBERNETES_VERSION", "ETCD_VERSION") if k not in values]
    if missing:
        raise ValueError(f"{path}: missing {', '.join(missing)}")
    return Versions(kubernetes=values["KUBERNETES_VERSION"], etcd=values["ETCD_VERSION"])


def cache_bin_dir(versions: Versions) -> Path:
    """The bin directory scripts/e2e-deps.sh fills for ``versions``."""
    cache = os.environ.get("BINFORGE_E2E_CACHE") or str(Path.home() / ".cache/binforge/e2e")
    return Path(cache) / f"kubernetes-{versions.kubernetes}_etcd-{versions.etcd}" / "bin"


@dataclass(frozen=True)
class Binaries:
    """Paths of the executables; None where one is missing."""

    etcd: Path | None
    kube_apiserver: Path | None
    kube_scheduler: Path | None
    prometheus: Path | None

    @property
    def missing(self) -> list[str]:
        """Names of the binaries not found, empty when all are present."""
        return [
            name
            for name, path in (
                ("etcd", self.etcd),
                ("kube-apiserver", self.kube_apiserver),
                ("kube-scheduler", self.kube_scheduler),
                ("prometheus", self.prometheus),
            )
            if path is None
        ]


def find_binaries(versions: Versions | None = None) -> Binaries:
    """Look the binaries up in the cache (control plane) and on PATH (prometheus)."""
    bin_dir = cache_bin_dir(versions or read_versions())

    def cached(name: str) -> Path | None:
        path = bin_dir / name
        return path if os.access(path, os.X_OK) else None

    prometheus = shutil.which("prometheus")
    return Binaries(
        etcd=cached("etcd"),
        kube_apiserver=cached("kube-apiserver"),
        kube_scheduler=cached("kube-scheduler"),
        prometheus=Path(prometheus) if prometheus else None,
    )


def build_binaries(timeout_s: float = 3600.0) -> subprocess.CompletedProcess[str]:
    """Run scripts/e2e-deps.sh (builds what is missing; reuses the cache otherwise).

    Returns the completed process; its output explains a failure.
    """
    return subprocess.run(
        [str(_DEPS_SCRIPT)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
