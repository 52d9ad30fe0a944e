"""The Helm chart (charts/binforge): lint, schema, rendered manifests, RBAC, configs.

The chart is rendered by the real ``helm`` with every values file in
``charts/binforge/ci/``; manifests are validated against the Kubernetes schemas of the
release in e2e/VERSIONS (kubernetes-validate). Its KubeSchedulerConfiguration must equal
tests/e2e/scheduler_config.py's rendering, and its ExtenderConfig must load with
``binforge serve``'s own loader. Dashboards and alerts: test_chart_monitoring.py; the
image: test_chart_image.py; the real control plane: test_chart_e2e.py.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from chart_render import (
    CHART,
    CI_VALUES,
    HEURISTIC_FILE,
    MONITORING,
    NAMESPACE,
    RELEASE,
    REPO,
    Manifest,
    chart_values,
    config_map_document,
    crd_schemas,
    helm,
    merged_values,
    one,
    render,
)
from e2e.binaries import read_versions
from e2e.scheduler_config import ExtenderSettings, render_scheduler_config

from k8s_plugin.config import ExtenderConfig, load_config

# --------------------------------------------------------------- lint and validation


@pytest.mark.parametrize("values_file", [p.name for p in CI_VALUES])
def test_helm_lint_passes_strictly_with_each_ci_values_file(values_file: str) -> None:
    result = helm(
        "lint",
        "--strict",
        str(CHART),
        "--values",
        str(CHART / "ci" / values_file),
        "--kube-version",
        read_versions().kubernetes,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("values_file", [f"ci/{p.name}" for p in CI_VALUES])
def test_rendered_manifests_validate_against_the_kubernetes_release_schemas(
    values_file: str,
) -> None:
    kubernetes = read_versions().kubernetes
    minor = ".".join(kubernetes.removeprefix("v").split(".")[:2])
    crds = crd_schemas()
    manifests = render(values_file)
    assert manifests
    for manifest in manifests:
        key = (manifest["apiVersion"], manifest["kind"])
        where = f"{values_file}: {manifest['kind']}/{manifest['metadata']['name']}"
        if key in crds:
            jsonschema.validate(manifest, crds[key])
            continue
        try:
            used = kubernetes_validate.validate(manifest, kubernetes, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{where}: {error.message} at {list(error.path)}")
        assert used == minor, f"{where}: validated with {used} schemas, not {minor}"


def test_crds_for_the_dry_run_use_the_prometheus_operator_group_and_kinds() -> None:
    assert set(crd_schemas()) == {
        ("monitoring.coreos.com/v1", "ServiceMonitor"),
        ("monitoring.coreos.com/v1", "PrometheusRule"),
    }


def test_unknown_values_are_rejected_by_the_schema_at_every_level() -> None:
    for assignment in ("bogus=1", "extender.bogus=1", "extender.heuristic.file.bogus=1"):
        result = helm("template", RELEASE, str(CHART), "--set", assignment)
        assert result.returncode != 0, assignment
        assert "additional properties 'bogus' not allowed" in result.stderr, result.stderr


def test_invalid_values_are_rejected_with_the_field_named() -> None:
    cases = {
        "extender.mode=fast": "extender.mode",
        "scheduler.name=default-scheduler": "scheduler.name",
        "scheduler.leaseName=kube-scheduler": "scheduler.leaseName",
        "extender.httpTimeout=5": "extender.httpTimeout",
        "replicaCount=0": "replicaCount",
    }
    for assignment, field in cases.items():
        result = helm("template", RELEASE, str(CHART), "--set", assignment)
        assert result.returncode != 0, assignment
        assert field.replace(".", "/") in result.stderr or field in result.stderr, result.stderr


@pytest.mark.parametrize("key", ["mode", "recordDir"])
def test_extra_config_cannot_override_a_value_the_chart_sets(key: str) -> None:
    result = helm("template", RELEASE, str(CHART), "--set", f"extender.extraConfig.{key}=x")
    assert result.returncode != 0
    assert f"extender.extraConfig.{key}" in result.stderr


# ------------------------------------------------------------------ chart as product


def _schema_leaves(schema: dict[str, Any], prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    leaves = set()
    for name, sub in schema.get("properties", {}).items():
        path = (*prefix, name)
        leaves.add(path)
        leaves |= _schema_leaves(sub, path)
    return leaves


def test_every_value_in_values_yaml_has_a_comment_above_it() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    declared = _schema_leaves(schema)
    lines = (CHART / "values.yaml").read_text().splitlines()
    stack: list[tuple[int, str]] = []
    uncommented = []
    checked = 0
    for number, line in enumerate(lines):
        match = re.match(r"^( *)([A-Za-z][\w.-]*):", line)
        if not match:
            continue
        indent, key = len(match.group(1)), match.group(2)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key))
        path = tuple(k for _, k in stack)
        if path not in declared:
            continue  # inside a free-form value (resources, probes, securityContext)
        checked += 1
        previous = lines[number - 1].strip() if number else ""
        if not previous.startswith("#"):
            uncommented.append(".".join(path))
    assert checked == len(declared), "values.yaml and values.schema.json disagree"
    assert uncommented == []


def test_schema_forbids_additional_properties_on_every_declared_object() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)

    def objects(node: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
        if "properties" in node:
            yield path, node
            for name, sub in node["properties"].items():
                yield from objects(sub, f"{path}.{name}")

    found = list(objects(schema, "values"))
    assert len(found) > 10
    assert [p for p, node in found if node.get("additionalProperties") is not False] == []
    jsonschema.validate(chart_values(), schema)


def test_every_named_helper_is_used_by_a_template() -> None:
    helpers = (CHART / "templates" / "_helpers.tpl").read_text()
    names = re.findall(r'define "([^"]+)"', helpers)
    assert len(names) >= 8
    templates = [p.read_text() for p in (CHART / "templates").iterdir() if p.name != "_helpers.tpl"]
    for name in names:
        uses = sum(t.count(f'include "{name}"') for t in templates)
        uses += helpers.count(f'include "{name}"')
        assert uses > 0, f"helper {name} is defined but never used"


def test_chart_declares_app_and_kube_versions_and_defaults_to_the_e2e_kubernetes() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["appVersion"]
    assert chart["kubeVersion"].startswith(">=")
    versions = read_versions()
    assert chart_values()["scheduler"]["image"]["tag"] == versions.kubernetes
    deployment = one(render(), "Deployment")
    images = {c["name"]: c["image"] for c in deployment["spec"]["template"]["spec"]["containers"]}
    assert images == {
        "kube-scheduler": versions.kube_scheduler_image,
        "extender": f"ghcr.io/binforge/binforge:{chart['appVersion']}",
    }


def test_chart_refuses_kubernetes_releases_older_than_its_kube_version() -> None:
    result = helm("template", RELEASE, str(CHART), "--kube-version", "v1.28.0")
    assert result.returncode != 0
    assert "kubeVersion" in result.stderr or "incompatible with Kubernetes" in result.stderr


def test_packaged_chart_ships_templates_and_dashboards_but_not_test_values(
    tmp_path: Path,
) -> None:
    import tarfile

    result = helm("package", str(CHART), "--destination", str(tmp_path))
    assert result.returncode == 0, result.stderr
    (archive,) = tmp_path.glob("binforge-*.tgz")
    with tarfile.open(archive) as packaged:
        names = set(packaged.getnames())
    assert "binforge/values.schema.json" in names
    assert "binforge/templates/NOTES.txt" in names
    assert {"binforge/dashboards/compute.json", "binforge/dashboards/extender.json"} <= names
    assert not [n for n in names if n.startswith("binforge/ci/")]


def test_chart_app_version_is_the_python_package_version() -> None:
    import tomllib

    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert chart["appVersion"] == project["version"]


# ------------------------------------------------------------ scheduler and extender


def _expected_scheduler_config(values: dict[str, Any]) -> dict[str, Any]:
    """What tests/e2e/scheduler_config.py renders for the chart's settings ``values``."""
    extender = values["extender"]
    timeout = extender["httpTimeout"]
    timeout_s = float(timeout[:-2]) / 1000 if timeout.endswith("ms") else float(timeout[:-1])
    replicas = values.get("replicaCount", 1)
    lease = values["scheduler"].get("leaseName") or f"{RELEASE}-scheduler"
    return render_scheduler_config(
        scheduler_name=values["scheduler"]["name"],
        extender=ExtenderSettings(
            url_prefix=f"http://127.0.0.1:{extender['port']}",
            weight=extender["weight"],
            node_cache_capable=extender["nodeCacheCapable"],
            ignorable=extender["ignorable"],
            http_timeout_s=timeout_s,
        ),
        include_default_profile=False,
        leader_elect=replicas > 1,
        lease_name=lease,
        lease_namespace=NAMESPACE,
    )


@pytest.mark.parametrize("values_file", [f"ci/{p.name}" for p in CI_VALUES])
def test_chart_scheduler_config_is_the_one_the_e2e_kube_scheduler_runs(values_file: str) -> None:
    rendered = config_map_document(render(values_file), "scheduler-config.yaml")
    assert rendered == _expected_scheduler_config(merged_values(values_file))
    assert [p["schedulerName"] for p in rendered["profiles"]] != ["default-scheduler"]


@pytest.mark.parametrize("values_file", [f"ci/{p.name}" for p in CI_VALUES])
def test_chart_extender_config_loads_with_binforge_serves_loader(
    values_file: str, tmp_path: Path
) -> None:
    manifests = render(values_file)
    path = tmp_path / "extender.yaml"
    path.write_text(one(manifests, "ConfigMap", "-config")["data"]["extender.yaml"])
    config = load_config(path)
    values = merged_values(values_file)["extender"]
    scheduler = config_map_document(manifests, "scheduler-config.yaml")["extenders"][0]
    assert config.mode == values["mode"]
    assert config.baseline == values["baseline"]
    assert config.node_cache_capable is scheduler["nodeCacheCapable"]
    assert scheduler["urlPrefix"] == f"http://127.0.0.1:{config.port}"
    assert (config.filter_verb, config.prioritize_verb) == (
        scheduler["filterVerb"],
        scheduler["prioritizeVerb"],
    )
    assert config.watch and config.kubeconfig == ""
    for key, value in values["extraConfig"].items():
        assert getattr(config, re.sub(r"([A-Z])", r"_\1", key).lower()) == value


def test_heuristic_from_a_config_map_is_mounted_and_served_by_path(tmp_path: Path) -> None:
    manifests = render(HEURISTIC_FILE)
    extender_yaml = tmp_path / "extender.yaml"
    extender_yaml.write_text(one(manifests, "ConfigMap", "-config")["data"]["extender.yaml"])
    assert load_config(extender_yaml).heuristic == "/etc/binforge/heuristic/winner.py"
    pod = one(manifests, "Deployment")["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == "heuristic")
    assert volume["configMap"] == {
        "name": "my-evolved-heuristic",
        "items": [{"key": "winner.py", "path": "winner.py"}],
    }
    extender = next(c for c in pod["containers"] if c["name"] == "extender")
    mount = next(m for m in extender["volumeMounts"] if m["name"] == "heuristic")
    assert mount == {"name": "heuristic", "mountPath": "/etc/binforge/heuristic", "readOnly": True}
    assert "subPath" not in mount  # a subPath mount would never see ConfigMap updates
    assert load_config(extender_yaml) != ExtenderConfig()


@pytest.mark.parametrize(
    ("values_file", "sets", "volume"),
    [
        ("", (), None),
        ("", ("extender.recording.enabled=true",), {"emptyDir": {"sizeLimit": "1Gi"}}),
        (HEURISTIC_FILE, (), {"persistentVolumeClaim": {"claimName": "binforge-recordings"}}),
    ],
)
def test_recording_writes_one_new_directory_per_start_onto_the_recordings_volume(
    values_file: str, sets: tuple[str, ...], volume: dict | None, tmp_path: Path
) -> None:
    manifests = render(values_file, *sets)
    extender_yaml = tmp_path / "extender.yaml"
    extender_yaml.write_text(one(manifests, "ConfigMap", "-config")["data"]["extender.yaml"])
    config = load_config(extender_yaml)
    pod = one(manifests, "Deployment")["spec"]["template"]["spec"]
    extender = next(c for c in pod["containers"] if c["name"] == "extender")
    mounts = [m for m in extender["volumeMounts"] if m["name"] == "recordings"]
    volumes = [v for v in pod["volumes"] if v["name"] == "recordings"]
    if volume is None:
        assert (config.record_dir, mounts, volumes) == ("", [], [])
        return
    assert config.record_dir == "/var/lib/binforge/recordings/{hostname}-{start}"
    assert mounts == [{"name": "recordings", "mountPath": "/var/lib/binforge/recordings"}]
    assert volumes == [{"name": "recordings", **volume}]
    start = config.recording_directory(datetime(2026, 11, 29, 5, 47, 12, tzinfo=UTC), "p-1")
    assert start == Path("/var/lib/binforge/recordings/p-1-20261129T054712Z")


def test_the_pod_runs_both_containers_hardened_with_probes_and_scheduling_values() -> None:
    pod = one(render(MONITORING), "Deployment")["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["kube-scheduler", "extender"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in pod["containers"]:
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["runAsNonRoot"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}
        assert container["livenessProbe"] and container["readinessProbe"]
        assert container["resources"]["requests"]
    scheduler = pod["containers"][0]
    assert "--config=/etc/binforge/scheduler/scheduler-config.yaml" in scheduler["command"]
    assert pod["priorityClassName"] == "system-cluster-critical"
    assert pod["nodeSelector"] == {"node-role.kubernetes.io/control-plane": ""}
    assert pod["tolerations"][0]["key"] == "node-role.kubernetes.io/control-plane"
    pdb = one(render(MONITORING), "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1


def test_a_changed_configuration_rolls_the_pod() -> None:
    def checksum(*sets: str) -> str:
        pod = one(render("", *sets), "Deployment")["spec"]["template"]
        return str(pod["metadata"]["annotations"]["checksum/config"])

    assert checksum() != checksum("extender.mode=score")
    assert checksum() == checksum()


# ----------------------------------------------------------------------------- RBAC


def _rbac(manifests: list[Manifest]) -> set[tuple[str, ...]]:
    """Every grant as (binding kind, binding namespace, role kind, role name)."""
    grants: set[tuple[str, ...]] = set()
    for m in manifests:
        if m["kind"] in ("ClusterRoleBinding", "RoleBinding"):
            subjects = {(s["kind"], s["name"], s["namespace"]) for s in m["subjects"]}
            assert subjects == {("ServiceAccount", RELEASE, NAMESPACE)}
            namespace = m["metadata"].get("namespace", "")
            grants.add((m["kind"], namespace, m["roleRef"]["kind"], m["roleRef"]["name"]))
    return grants


def test_rbac_is_exactly_what_a_second_scheduler_needs_without_leader_election() -> None:
    manifests = render()
    assert _rbac(manifests) == {
        ("ClusterRoleBinding", "", "ClusterRole", "system:kube-scheduler"),
        ("ClusterRoleBinding", "", "ClusterRole", "system:volume-scheduler"),
        ("RoleBinding", "kube-system", "Role", "extension-apiserver-authentication-reader"),
        ("ClusterRoleBinding", "", "ClusterRole", f"{RELEASE}-extender"),
    }
    assert one(manifests, "ClusterRole")["rules"] == [
        {"apiGroups": [""], "resources": ["pods", "nodes"], "verbs": ["list", "watch"]}
    ]
    assert not [m for m in manifests if m["kind"] == "Role"]
    config = config_map_document(manifests, "scheduler-config.yaml")
    assert config["leaderElection"] == {"leaderElect": False}


def test_replicas_above_one_elect_a_leader_on_the_charts_own_lease() -> None:
    manifests = render(MONITORING)
    role = one(manifests, "Role")
    assert role["metadata"]["namespace"] == NAMESPACE
    assert role["rules"] == [
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": ["binforge-score-leader"],
            "verbs": ["get", "update"],
        }
    ]
    assert ("RoleBinding", NAMESPACE, "Role", role["metadata"]["name"]) in _rbac(manifests)
    config = config_map_document(manifests, "scheduler-config.yaml")
    assert config["leaderElection"] == {
        "leaderElect": True,
        "resourceLock": "leases",
        "resourceName": "binforge-score-leader",
        "resourceNamespace": NAMESPACE,
    }


# ------------------------------------------------------------- monitoring objects


def test_service_names_its_metrics_port_http_metrics() -> None:
    service = one(render(), "Service")
    ports = {p["name"]: p["targetPort"] for p in service["spec"]["ports"]}
    assert ports["http-metrics"] == "http-metrics"
    assert not [m for m in render() if m["kind"] in ("ServiceMonitor", "PrometheusRule")]


def test_service_monitor_carries_extra_labels_and_scrapes_both_containers() -> None:
    monitor = one(render(MONITORING), "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    ports = [e["port"] for e in monitor["spec"]["endpoints"]]
    assert ports == ["http-metrics", "https-sched"]
    service = one(render(MONITORING), "Service")
    assert set(ports) <= {p["name"] for p in service["spec"]["ports"]}
    assert monitor["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]


def test_dashboards_ship_as_config_maps_labelled_for_the_grafana_sidecar() -> None:
    maps = [m for m in render() if "-dashboard-" in m["metadata"]["name"]]
    files = {p.name: p.read_text() for p in (CHART / "dashboards").glob("*.json")}
    assert len(maps) == len(files) >= 2
    for config_map in maps:
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        ((name, text),) = config_map["data"].items()
        assert json.loads(text) == json.loads(files[name])
    assert not [m for m in render(HEURISTIC_FILE) if "-dashboard-" in m["metadata"]["name"]]


def _notes(tmp_path: Path, *sets: str) -> str:
    """NOTES.txt as `helm install` prints it, rendered without a cluster: a copy of the
    chart gets a template that renders the notes (with the chart's helpers) into a
    ConfigMap (`helm install --dry-run=client` still asks a cluster for capabilities)."""
    chart = tmp_path / "chart"
    shutil.copytree(CHART, chart)
    shutil.copy(chart / "templates" / "NOTES.txt", chart / "notes.txt")
    (chart / "templates" / "notes-as-configmap.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\n"
        'data:\n  notes: {{ tpl (.Files.Get "notes.txt") . | quote }}\n'
    )
    args = ["template", RELEASE, str(chart), "--namespace", NAMESPACE, "--show-only"]
    args += ["templates/notes-as-configmap.yaml"]
    for assignment in sets:
        args += ["--set", assignment]
    result = helm(*args)
    assert result.returncode == 0, result.stderr
    return str(yaml.safe_load(result.stdout)["data"]["notes"])


def test_notes_tell_how_to_send_pods_to_the_new_scheduler_and_where_to_look(
    tmp_path: Path,
) -> None:
    notes = _notes(tmp_path)
    assert "schedulerName: binforge" in notes
    assert "rollout status deployment/binforge" in notes
    assert "port-forward service/binforge 8888:http-metrics" in notes
    assert "grafana_dashboard" in notes
    shadow = _notes(tmp_path / "shadow", "extender.mode=shadow", "scheduler.name=trial")
    assert "schedulerName: trial" in shadow
    assert "placements do not change" in shadow
