"""The KubeSchedulerConfiguration that runs binforge next to the default scheduler.

:func:`render_scheduler_config` is the single definition of that configuration: the
end-to-end kube-scheduler runs exactly what it returns, and the Helm chart's ConfigMap
must render the same document (its test compares the two). Field names follow
``kubescheduler.config.k8s.io/v1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

__all__ = [
    "API_VERSION",
    "BINFORGE_SCHEDULER_NAME",
    "DEFAULT_SCHEDULER_NAME",
    "ExtenderSettings",
    "SchedulerConfigError",
    "render_scheduler_config",
    "scheduler_config_yaml",
]

API_VERSION = "kubescheduler.config.k8s.io/v1"
DEFAULT_SCHEDULER_NAME = "default-scheduler"
BINFORGE_SCHEDULER_NAME = "binforge"
_MAX_EXTENDER_WEIGHT = 2**31 - 1


class SchedulerConfigError(ValueError):
    """Invalid settings; the message lists every problem with its field path."""


@dataclass(frozen=True)
class ExtenderSettings:
    """How kube-scheduler reaches the binforge extender.

    Attributes:
        url_prefix: base URL; kube-scheduler POSTs to ``<url_prefix>/<verb>``.
        filter_verb: path of the filter call; None to skip filtering.
        prioritize_verb: path of the prioritize call; None to skip scoring.
        weight: multiplier of the extender's 0..10 scores (must be > 0 with prioritize).
        node_cache_capable: send node names only (the extender keeps its own node cache).
        ignorable: when True, filter errors and timeouts are skipped, not fatal for the pod.
        http_timeout_s: per-call timeout in seconds (kube-scheduler's default is 5 s).
    """

    url_prefix: str
    filter_verb: str | None = "filter"
    prioritize_verb: str | None = "prioritize"
    weight: int = 1
    node_cache_capable: bool = True
    ignorable: bool = False
    http_timeout_s: float = 5.0

    def __post_init__(self) -> None:
        problems = []
        if not self.url_prefix.startswith(("http://", "https://")):
            problems.append(
                f"url_prefix: expected an http:// or https:// URL, got {self.url_prefix!r}"
            )
        for name in ("filter_verb", "prioritize_verb"):
            verb = getattr(self, name)
            if verb is not None and (not verb or "/" in verb.strip("/")):
                problems.append(f"{name}: expected a non-empty path segment or None, got {verb!r}")
        if self.filter_verb is None and self.prioritize_verb is None:
            problems.append("filter_verb, prioritize_verb: at least one must be set")
        if self.prioritize_verb is not None and not 0 < self.weight <= _MAX_EXTENDER_WEIGHT:
            problems.append(
                f"weight: expected 1..{_MAX_EXTENDER_WEIGHT} with prioritize, got {self.weight}"
            )
        if not self.http_timeout_s > 0:
            problems.append(
                f"http_timeout_s: expected a positive number, got {self.http_timeout_s}"
            )
        if problems:
            raise SchedulerConfigError("ExtenderSettings: " + "; ".join(problems))

    def to_config(self) -> dict[str, Any]:
        """The ``extenders[]`` entry, with keys in kube-scheduler's spelling."""
        entry: dict[str, Any] = {"urlPrefix": self.url_prefix}
        if self.filter_verb is not None:
            entry["filterVerb"] = self.filter_verb
        if self.prioritize_verb is not None:
            entry["prioritizeVerb"] = self.prioritize_verb
            entry["weight"] = self.weight
        entry["nodeCacheCapable"] = self.node_cache_capable
        entry["ignorable"] = self.ignorable
        entry["httpTimeout"] = _duration(self.http_timeout_s)
        return entry


def _duration(seconds: float) -> str:
    """A Go duration string: whole seconds as "5s", fractions as milliseconds "250ms"."""
    if float(seconds).is_integer():
        return f"{int(seconds)}s"
    return f"{round(seconds * 1000)}ms"


def render_scheduler_config(
    *,
    scheduler_name: str = BINFORGE_SCHEDULER_NAME,
    extender: ExtenderSettings | None = None,
    kubeconfig: str | None = None,
    include_default_profile: bool = True,
    leader_elect: bool = False,
    lease_name: str = "binforge-scheduler",
    lease_namespace: str = "kube-system",
    percentage_of_nodes_to_score: int = 100,
) -> dict[str, Any]:
    """The KubeSchedulerConfiguration document as a dict (dump it as YAML or JSON).

    Profiles: ``scheduler_name`` (binforge's) and, when ``include_default_profile``, the
    ``default-scheduler`` profile, both with the in-tree plugins at their defaults.
    Extenders apply to every profile of one kube-scheduler process. ``kubeconfig`` is
    left out in-cluster (the Helm chart) and set by the tests. With ``leader_elect`` the
    lease is ``lease_namespace/lease_name``, never the default scheduler's own lease.

    Raises SchedulerConfigError for an empty scheduler name, a duplicate profile name, or a
    percentage outside 0..100.
    """
    problems = []
    if not scheduler_name:
        problems.append("scheduler_name: expected a non-empty name")
    if include_default_profile and scheduler_name == DEFAULT_SCHEDULER_NAME:
        problems.append(f"scheduler_name: {DEFAULT_SCHEDULER_NAME!r} is the default profile's name")
    if not 0 <= percentage_of_nodes_to_score <= 100:
        problems.append(
            f"percentage_of_nodes_to_score: expected 0..100, got {percentage_of_nodes_to_score}"
        )
    if problems:
        raise SchedulerConfigError("scheduler config: " + "; ".join(problems))
    profiles = [{"schedulerName": scheduler_name}]
    if include_default_profile:
        profiles.append({"schedulerName": DEFAULT_SCHEDULER_NAME})
    config: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "KubeSchedulerConfiguration",
        "leaderElection": _leader_election(leader_elect, lease_name, lease_namespace),
        "percentageOfNodesToScore": percentage_of_nodes_to_score,
        "profiles": profiles,
    }
    if kubeconfig is not None:
        config["clientConnection"] = {"kubeconfig": kubeconfig}
    if extender is not None:
        config["extenders"] = [extender.to_config()]
    return config


def _leader_election(enabled: bool, lease_name: str, lease_namespace: str) -> dict[str, Any]:
    if not enabled:
        return {"leaderElect": False}
    return {
        "leaderElect": True,
        "resourceLock": "leases",
        "resourceName": lease_name,
        "resourceNamespace": lease_namespace,
    }


def scheduler_config_yaml(config: dict[str, Any]) -> str:
    """``config`` as YAML, keys in the order given (stable for golden comparisons)."""
    return yaml.safe_dump(config, sort_keys=False)
