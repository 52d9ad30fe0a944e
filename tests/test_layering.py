"""Package layering is one-way, checked on every import statement (lazy ones included).

* ``cluster_traces`` (the trace model) imports none of the other packages.
* ``heuristics`` (contract, feasibility, fragmentation, baselines, registry, safety)
  imports neither ``simulator``, ``k8s_plugin`` nor ``prometheus_client``.
* The evolution tier inside ``heuristics`` (``heuristics.evolve``, ``heuristics.sandbox``,
  ``heuristics.sandbox_worker``) evaluates candidates with the simulator, so it sits above
  ``simulator``: it may import ``simulator`` but never ``k8s_plugin`` or
  ``prometheus_client``, and nothing in ``simulator`` or ``k8s_plugin`` imports it except
  through the one untrusted-code boundary (``heuristics.safety``).
* ``simulator`` imports neither ``k8s_plugin`` nor ``prometheus_client``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

EVOLUTION_TIER = ("heuristics.evolve", "heuristics.sandbox", "heuristics.sandbox_worker")

FORBIDDEN = {
    "cluster_traces": (
        "heuristics",
        "simulator",
        "k8s_plugin",
        "binforge",
        "prometheus_client",
    ),
    "heuristics": ("simulator", "k8s_plugin", "prometheus_client", "binforge"),
    "evolution tier": ("k8s_plugin", "prometheus_client"),
    "simulator": ("k8s_plugin", "prometheus_client", "binforge", *EVOLUTION_TIER),
    "k8s_plugin": EVOLUTION_TIER,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer(module: str) -> str:
    if any(module == t or module.startswith(t + ".") for t in EVOLUTION_TIER):
        return "evolution tier"
    return module.split(".")[0]


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def _violations(package: str) -> list[str]:
    problems = []
    for path in sorted((ROOT / package).rglob("*.py")):
        module = _module_name(path)
        forbidden = FORBIDDEN.get(_layer(module), ())
        for line, imported in _imports(path):
            for banned in forbidden:
                if imported == banned or imported.startswith(banned + "."):
                    problems.append(f"{path.relative_to(ROOT)}:{line}: imports {imported}")
    return problems


@pytest.mark.parametrize("package", ["cluster_traces", "heuristics", "simulator", "k8s_plugin"])
def test_package_imports_only_from_layers_below(package: str) -> None:
    assert (ROOT / package).is_dir()
    assert _violations(package) == []


def test_the_checker_catches_a_forbidden_import(tmp_path: Path) -> None:
    source = "def f():\n    from simulator import simulate\n    import prometheus_client\n"
    path = tmp_path / "probe.py"
    path.write_text(source)
    imported = [name for _, name in _imports(path)]
    assert "simulator" in imported and "prometheus_client" in imported
    assert _layer("heuristics.feasibility") == "heuristics"
    assert _layer("heuristics.evolve.gp") == "evolution tier"
    assert "simulator" in FORBIDDEN[_layer("heuristics.registry")]
