"""Generate binforge's Grafana dashboards (charts/binforge/dashboards/*.json).

The JSON files are kept in the repository (the chart ships them as ConfigMaps); this
module is their source. ``python charts/dashboards.py`` rewrites them and
``python charts/dashboards.py --check`` fails when they differ from what it would write
(tests/test_chart_monitoring.py runs it). Queries use the datasource chosen in the ``datasource``
variable (never a fixed uid) and the template variables ``job``, ``resource`` and
``profile``; :func:`panel_queries` lists every query with its panel's title.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["DASHBOARDS_DIR", "dashboards", "main", "panel_queries", "render"]

DASHBOARDS_DIR = Path(__file__).resolve().parent / "binforge" / "dashboards"

_DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
_JOB = 'job=~"$job"'

Panel = dict[str, Any]


def _target(expr: str, legend: str, ref: str, *, instant: bool = False) -> dict[str, Any]:
    target: dict[str, Any] = {
        "datasource": _DATASOURCE,
        "expr": expr,
        "legendFormat": legend,
        "refId": ref,
    }
    if instant:
        target.update({"instant": True, "range": False, "format": "table"})
    return target


def _timeseries(
    title: str,
    description: str,
    targets: list[tuple[str, str]],
    *,
    unit: str = "short",
    width: int = 12,
    stack: bool = False,
    repeat: str | None = None,
) -> Panel:
    panel: Panel = {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": _DATASOURCE,
        "gridPos": {"h": 8, "w": width, "x": 0, "y": 0},
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "custom": {
                    "drawStyle": "line",
                    "fillOpacity": 10,
                    "stacking": {"mode": "normal" if stack else "none", "group": "A"},
                },
            },
            "overrides": [],
        },
        "options": {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["last"]}},
        "targets": [
            _target(expr, legend, chr(ord("A") + i)) for i, (expr, legend) in enumerate(targets)
        ],
    }
    if repeat:
        panel.update({"repeat": repeat, "repeatDirection": "h", "maxPerRow": 3})
    return panel


def _label_variable(name: str, label: str, metric: str) -> dict[str, Any]:
    """A multi-select variable over the values of label ``name`` of ``metric``."""
    values = f"label_values({metric}, {name})"
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": _DATASOURCE,
        "query": {"query": values, "refId": name},
        "definition": values,
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "current": {},
        "refresh": 2,
        "sort": 1,
        "hide": 0,
    }


def _variables(*, with_resource: bool, with_profile: bool) -> list[dict[str, Any]]:
    variables: list[dict[str, Any]] = [
        {
            "name": "datasource",
            "label": "Data source",
            "type": "datasource",
            "query": "prometheus",
            "current": {},
            "hide": 0,
            "refresh": 1,
        },
        _label_variable("job", "Extender job", "binforge_cache_objects"),
    ]
    if with_resource:
        variables.append(_label_variable("resource", "Resource", "binforge_stranded_capacity"))
    if with_profile:
        variables.append(
            {
                "name": "profile",
                "label": "Scheduler profile",
                "type": "textbox",
                "query": "binforge",
                "current": {"text": "binforge", "value": "binforge"},
                "hide": 0,
            }
        )
    return variables


def _layout(panels: list[Panel]) -> list[Panel]:
    """Place panels left to right in rows of 24 grid units; ids in order."""
    x = y = 0
    row_height = 0
    for number, panel in enumerate(panels, start=1):
        grid = panel["gridPos"]
        if x + grid["w"] > 24:
            x, y = 0, y + row_height
            row_height = 0
        grid["x"], grid["y"] = x, y
        x += grid["w"]
        row_height = max(row_height, grid["h"])
        panel["id"] = number
    return panels


def _dashboard(
    uid: str, title: str, description: str, panels: list[Panel], **variables: bool
) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["binforge", "scheduling"],
        "timezone": "browser",
        "editable": True,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "graphTooltip": 1,
        "annotations": {"list": []},
        "links": [],
        "templating": {"list": _variables(**variables)},
        "panels": _layout(panels),
    }


def _per_resource(counter: str, selector: str, *, rate: bool = False) -> str:
    """``counter`` summed by resource, or 0 for each resource the extender reports.

    Prometheus clients export a labelled counter only after its first increment; the
    fallback keeps cumulative and net panels defined (at 0) until then.
    """
    series = f"{counter}{{{selector}}}"
    if rate:
        series = f"rate({series}[$__rate_interval])"
    zero = f"0 * max by (resource) (binforge_stranded_capacity{{{selector}}})"
    return f"(sum by (resource) ({series}) or {zero})"


def _compute_dashboard() -> dict[str, Any]:
    resource = f'{_JOB}, resource=~"$resource"'
    identity: Panel = {
        "type": "table",
        "title": "Serving heuristic",
        "description": "Identity and provenance of the heuristic each extender serves "
        "(binforge_heuristic_info): name, source file, SHA-256 and baseline.",
        "datasource": _DATASOURCE,
        "gridPos": {"h": 5, "w": 24, "x": 0, "y": 0},
        "fieldConfig": {"defaults": {}, "overrides": []},
        "options": {"showHeader": True},
        "transformations": [
            {
                "id": "organize",
                "options": {"excludeByName": {"Time": True, "Value": True, "__name__": True}},
            }
        ],
        "targets": [_target(f"binforge_heuristic_info{{{_JOB}}}", "{{name}}", "A", instant=True)],
    }
    panels = [
        identity,
        _timeseries(
            "Stranded capacity share by resource",
            "Share (0..1) of the cluster's capacity that is free but cannot host the "
            "reference workload (binforge_stranded_capacity_share).",
            [
                (
                    f"max by (resource) (binforge_stranded_capacity_share{{{resource}}})",
                    "{{resource}}",
                )
            ],
            unit="percentunit",
            width=24,
        ),
        _timeseries(
            "Stranded $resource",
            "Stranded capacity of one resource over time, in its unit (gpu: GPUs, cpu: "
            "cores, memory: bytes), overall and per node pool.",
            [
                (f"max by (resource) (binforge_stranded_capacity{{{resource}}})", "cluster"),
                (
                    f"max by (resource, pool) (binforge_stranded_capacity_by_pool{{{resource}}})",
                    "pool {{pool}}",
                ),
            ],
            width=8,
            repeat="resource",
        ),
        _timeseries(
            "Recovered $resource, cumulative",
            "Stranded capacity avoided by the heuristic's choices versus the baseline's, "
            "summed over decisions: recovered, lost, and net = recovered - lost.",
            [
                (_per_resource("binforge_counterfactual_recovered_total", resource), "recovered"),
                (_per_resource("binforge_counterfactual_lost_total", resource), "lost"),
                (
                    _per_resource("binforge_counterfactual_recovered_total", resource)
                    + " - "
                    + _per_resource("binforge_counterfactual_lost_total", resource),
                    "net",
                ),
            ],
            width=8,
            repeat="resource",
        ),
        _timeseries(
            "Recovered $resource, rate",
            "Net capacity recovered per second against the baseline (recovered - lost).",
            [
                (
                    _per_resource("binforge_counterfactual_recovered_total", resource, rate=True)
                    + " - "
                    + _per_resource("binforge_counterfactual_lost_total", resource, rate=True),
                    "net per second",
                )
            ],
            width=8,
            repeat="resource",
        ),
    ]
    return _dashboard(
        "binforge-compute",
        "binforge: stranded and recovered compute",
        "Capacity stranded by fragmentation and the compute binforge's heuristic "
        "recovered against the baseline.",
        panels,
        with_resource=True,
        with_profile=False,
    )


def _extender_dashboard() -> dict[str, Any]:
    rate_interval = "[$__rate_interval]"
    panels = [
        _timeseries(
            "Decisions per second by mode and outcome",
            "binforge_decisions_total: chosen, fallback, no_fit, error, not_ready.",
            [
                (
                    f"sum by (mode, outcome) (rate(binforge_decisions_total{{{_JOB}}}{rate_interval}))",
                    "{{mode}} {{outcome}}",
                )
            ],
            unit="ops",
            stack=True,
        ),
        _timeseries(
            "Fallbacks by reason",
            "Calls answered by the baseline instead of the heuristic (0 when none).",
            [
                (
                    f"sum by (reason) (rate(binforge_heuristic_fallbacks_total{{{_JOB}}}{rate_interval}))"
                    " or on() vector(0)",
                    "{{reason}}",
                )
            ],
            unit="ops",
        ),
        _timeseries(
            "Extender latency p50 and p99 by verb",
            "Time to answer a filter or prioritize call (binforge_request_duration_seconds).",
            [
                (
                    "histogram_quantile(0.5, sum by (verb, le) "
                    f"(rate(binforge_request_duration_seconds_bucket{{{_JOB}}}{rate_interval})))",
                    "p50 {{verb}}",
                ),
                (
                    "histogram_quantile(0.99, sum by (verb, le) "
                    f"(rate(binforge_request_duration_seconds_bucket{{{_JOB}}}{rate_interval})))",
                    "p99 {{verb}}",
                ),
            ],
            unit="s",
        ),
        _timeseries(
            "Extender requests by verb and code",
            "Requests per second by HTTP status; kube-scheduler ignores failed prioritize "
            "replies silently, so they show here.",
            [
                (
                    f"sum by (verb, code) (rate(binforge_requests_total{{{_JOB}}}{rate_interval}))",
                    "{{verb}} {{code}}",
                )
            ],
            unit="reqps",
        ),
        _timeseries(
            "kube-scheduler attempts by result",
            "scheduler_schedule_attempts_total of the binforge profile: scheduled, "
            "unschedulable, error.",
            [
                (
                    'sum by (result) (rate(scheduler_schedule_attempts_total{profile=~"$profile"}'
                    f"{rate_interval}))",
                    "{{result}}",
                )
            ],
            unit="ops",
        ),
        _timeseries(
            "kube-scheduler pending pods by queue",
            "scheduler_pending_pods of the scheduler pods running the binforge profile.",
            [("sum by (queue) (scheduler_pending_pods)", "{{queue}}")],
        ),
        _timeseries(
            "Extender cache",
            "Objects in the extender's watch cache (nodes, pods, assumed, shapes).",
            [(f"sum by (kind) (binforge_cache_objects{{{_JOB}}})", "{{kind}}")],
        ),
        _timeseries(
            "Watch restarts",
            "Restarts of the node and pod watches in the last hour (0 when none).",
            [
                (
                    f"sum by (resource, reason) (increase(binforge_watch_restarts_total{{{_JOB}}}[1h]))"
                    " or on() vector(0)",
                    "{{resource}} {{reason}}",
                )
            ],
        ),
    ]
    return _dashboard(
        "binforge-extender",
        "binforge: extender and scheduler",
        "What the binforge extender decides, how fast it answers, and how the "
        "kube-scheduler profile that calls it is doing.",
        panels,
        with_resource=False,
        with_profile=True,
    )


def dashboards() -> dict[str, dict[str, Any]]:
    """Every dashboard by file name (``<name>.json``)."""
    return {"compute.json": _compute_dashboard(), "extender.json": _extender_dashboard()}


def render(dashboard: dict[str, Any]) -> str:
    """The file text of ``dashboard``: stable, indented JSON ending with a newline."""
    return json.dumps(dashboard, indent=2, sort_keys=True) + "\n"


def panel_queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, PromQL expression) for every target of every panel."""
    return [(p["title"], t["expr"]) for p in dashboard["panels"] for t in p.get("targets", [])]


def main(argv: list[str] | None = None) -> int:
    """Write the dashboards, or with ``--check`` report (exit 1) those that differ."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    stale = []
    for name, dashboard in dashboards().items():
        path = DASHBOARDS_DIR / name
        text = render(dashboard)
        if args.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(str(path))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        print(
            "stale dashboards (run python charts/dashboards.py): " + ", ".join(stale),
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
