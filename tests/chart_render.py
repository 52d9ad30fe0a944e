"""Rendering the Helm chart (charts/binforge) for its tests.

``helm`` is the real binary built from helm.sh/helm/v3 by scripts/build-helm.sh (cached
like the e2e control plane); when it is missing, ``require`` skips locally and fails under
CI=true. ``render`` runs ``helm template`` for the release ``binforge`` in the namespace
``binforge-system`` at the Kubernetes release of e2e/VERSIONS, once per values.
"""

from __future__ import annotations

import copy
import importlib.util
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from conftest import require
from e2e.binaries import read_versions

__all__ = [
    "CHART",
    "CI_VALUES",
    "CRDS",
    "HEURISTIC_FILE",
    "MONITORING",
    "NAMESPACE",
    "RELEASE",
    "REPO",
    "Manifest",
    "chart_values",
    "concrete",
    "config_map_document",
    "crd_schemas",
    "dashboards_module",
    "helm",
    "merged_values",
    "one",
    "promtool_path",
    "render",
]

REPO = Path(__file__).resolve().parents[1]
CHART = REPO / "charts" / "binforge"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
CRDS = sorted((REPO / "charts" / "test-crds").glob("*.yaml"))
RELEASE = "binforge"
NAMESPACE = "binforge-system"
MONITORING = "ci/ha-score-monitoring-values.yaml"
HEURISTIC_FILE = "ci/shadow-heuristic-file-values.yaml"

Manifest = dict[str, Any]


@cache
def _helm_path() -> Path:
    script = REPO / "scripts" / "build-helm.sh"
    printed = subprocess.run([str(script), "--print"], capture_output=True, text=True, check=True)
    return Path(printed.stdout.strip())


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    """Run helm with ``args`` in the repository root; the caller checks the exit status."""
    binary = _helm_path()
    require(
        binary.is_file(), f"helm not built at {binary} (run scripts/build-helm.sh or make e2e-deps)"
    )
    return subprocess.run(
        [str(binary), *args], capture_output=True, text=True, check=False, cwd=REPO, timeout=120
    )


@cache
def _render_text(values_file: str = "", *sets: str) -> str:
    args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE]
    args += ["--kube-version", read_versions().kubernetes]
    if values_file:
        args += ["--values", str(CHART / values_file)]
    for assignment in sets:
        args += ["--set", assignment]
    result = helm(*args)
    assert result.returncode == 0, f"helm {' '.join(args)}:\n{result.stderr}"
    return result.stdout


def render(values_file: str = "", *sets: str) -> list[Manifest]:
    """Every manifest ``helm template`` renders (deep copies: tests may change them)."""
    documents = yaml.safe_load_all(_render_text(values_file, *sets))
    return [copy.deepcopy(d) for d in documents if d]


def one(manifests: list[Manifest], kind: str, name_suffix: str = "") -> Manifest:
    """The only manifest of ``kind`` whose name ends with ``name_suffix`` (asserted)."""
    found = [
        m for m in manifests if m["kind"] == kind and m["metadata"]["name"].endswith(name_suffix)
    ]
    assert len(found) == 1, f"expected one {kind} *{name_suffix}, got {len(found)}"
    return found[0]


def config_map_document(manifests: list[Manifest], key: str) -> dict[str, Any]:
    """The YAML document under ``key`` of the chart's ``<fullname>-config`` ConfigMap."""
    document = yaml.safe_load(one(manifests, "ConfigMap", "-config")["data"][key])
    assert isinstance(document, dict)
    return document


def chart_values() -> dict[str, Any]:
    """The chart's default values (values.yaml)."""
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert isinstance(values, dict)
    return values


def promtool_path() -> str:
    """Debian's promtool; skips (or fails under CI=true) when it is not installed."""
    path = shutil.which("promtool")
    require(path is not None, "promtool not on PATH (Debian package prometheus; make e2e-deps)")
    assert path is not None
    return path


def dashboards_module() -> Any:
    """charts/dashboards.py, imported from its path (charts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("chart_dashboards", REPO / "charts/dashboards.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _strict(schema: Any) -> Any:
    """``schema`` with ``additionalProperties: false`` on every object listing properties."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """{(apiVersion, kind): strict schema} of the test CRDs in charts/test-crds/."""
    schemas = {}
    for path in CRDS:
        crd = yaml.safe_load(path.read_text())
        spec = crd["spec"]
        for version in spec["versions"]:
            key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
            schemas[key] = _strict(version["schema"]["openAPIV3Schema"])
    return schemas


def merged_values(values_file: str) -> dict[str, Any]:
    """values.yaml overridden by ``values_file`` (maps merged, as helm does)."""

    def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
        out = dict(base)
        for key, value in override.items():
            is_map = isinstance(value, dict) and isinstance(out.get(key), dict)
            out[key] = merge(out[key], value) if is_map else value
        return out

    override = yaml.safe_load((CHART / values_file).read_text()) or {}
    return merge(chart_values(), override)


def concrete(query: str) -> str:
    """A dashboard query with its template variables replaced by concrete values."""
    for variable, value in (
        ("$__rate_interval", "1m"),
        ("$job", ".*"),
        ("$resource", ".*"),
        ("$profile", "binforge"),
    ):
        query = query.replace(variable, value)
    return query
