"""The extender's configuration: a versioned file, then environment, then flags.

A config file is YAML (or JSON) with ``apiVersion: binforge.dev/v1alpha1`` and
``kind: ExtenderConfig``; every other key is a field of :class:`ExtenderConfig` in
camelCase. Environment variables ``BINFORGE_SERVE_<FIELD>`` (upper snake case) override
the file, and command-line flags override both. Defaults live in the dataclass only.
Validation reports every problem at once, each with its field path.
"""

from __future__ import annotations

import dataclasses
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from cluster_traces.strict_yaml import safe_load

__all__ = [
    "API_VERSION",
    "KIND",
    "ConfigError",
    "ExtenderConfig",
    "Mode",
    "build_config",
    "env_overrides",
    "load_config",
]

API_VERSION = "binforge.dev/v1alpha1"
KIND = "ExtenderConfig"

Mode = Literal["filter", "score", "shadow"]


class ConfigError(ValueError):
    """A config that cannot be used; the message lists every problem with its field path."""


@dataclass(frozen=True)
class ExtenderConfig:
    """How ``binforge serve`` runs.

    Attributes:
        mode: ``filter`` (keep only the heuristic's node), ``score`` (prioritize with the
            heuristic's scores mapped to 0..10) or ``shadow`` (change nothing, record).
        heuristic: the heuristic to serve: a registry name or a path to a ``.py`` file.
        baseline: the registry name used when the heuristic fails and for counterfactuals.
        heuristic_timeout_ms: per-call time budget of the heuristic; over it, the baseline.
        host, port: where to listen.
        url_prefix: path prefix of the verbs (kube-scheduler's ``urlPrefix`` path part).
        filter_verb, prioritize_verb: the verb names (kube-scheduler's ``filterVerb``...).
        node_cache_capable: whether kube-scheduler sends only node names (must match its
            extender config); with names the extender resolves nodes from its watch cache.
        watch: list-watch nodes and pods from the API server (off: nodes come from the
            requests, which needs ``node_cache_capable: false``).
        kubeconfig: kubeconfig path; empty means in-cluster config.
        watch_timeout_s: server-side timeout of one watch call.
        watch_backoff_initial_s, watch_backoff_max_s: restart backoff of a failed watch.
        assumed_pod_ttl_s: how long a decision is held against a node before the watch
            confirms the binding.
        gpu_resource: the whole-GPU resource name.
        gpu_share_annotation: pod annotation with the share of each GPU in thousandths
            (1..1000), for GPU-sharing pods; absent means whole GPUs.
        gpu_model_label: node label holding the GPU model.
        gpu_models_annotation: pod annotation listing allowed GPU models, ``|``-separated.
        node_pool_label: node label that groups nodes into pools for metrics.
        extended_resources: other countable resources to account for.
        reference_coverage: share of observed pods the learned reference shapes cover.
        max_request_bytes: larger request bodies are refused with 413. With
            ``node_cache_capable`` false kube-scheduler sends whole Node objects (about
            15 KB each with 50 images): the default fits 5,000 nodes of up to 25 KB.
        max_nodes_per_request: requests naming more nodes are refused with 400.
        log_level: ``debug``, ``info``, ``warning`` or ``error``.
        record_dir: when set, the watched nodes and pods are also recorded as a trace in
            this new directory (docs/recording.md); needs ``watch``. ``{start}`` (the
            UTC start time) and ``{hostname}`` (the pod's name in Kubernetes) are
            replaced at each start (:meth:`recording_directory`), so a restarted or
            replicated extender records into a new directory each time.
    """

    mode: Mode = "filter"
    heuristic: str = "fgd"
    baseline: str = "best-fit"
    heuristic_timeout_ms: float = 20.0
    host: str = "127.0.0.1"
    port: int = 8888
    url_prefix: str = "/"
    filter_verb: str = "filter"
    prioritize_verb: str = "prioritize"
    node_cache_capable: bool = True
    watch: bool = True
    kubeconfig: str = ""
    watch_timeout_s: int = 300
    watch_backoff_initial_s: float = 0.5
    watch_backoff_max_s: float = 30.0
    assumed_pod_ttl_s: float = 30.0
    gpu_resource: str = "nvidia.com/gpu"
    gpu_share_annotation: str = "binforge.dev/gpu-milli"
    gpu_model_label: str = "nvidia.com/gpu.product"
    gpu_models_annotation: str = "binforge.dev/gpu-models"
    node_pool_label: str = "binforge.dev/node-pool"
    extended_resources: tuple[str, ...] = ()
    reference_coverage: float = 0.95
    max_request_bytes: int = 128 * 2**20
    max_nodes_per_request: int = 20_000
    log_level: str = "info"
    record_dir: str = ""
    _source: str = field(default="defaults", compare=False, repr=False)

    def __post_init__(self) -> None:
        problems = _validate(self)
        if problems:
            raise ConfigError(f"invalid extender config ({self._source}): " + "; ".join(problems))

    def recording_directory(self, start: datetime, hostname: str) -> Path:
        """``record_dir`` with its placeholders filled for a start at ``start`` on
        ``hostname`` (``{start}`` as ``20261129T054712Z``, in UTC)."""
        stamp = start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        return Path(self.record_dir.format(start=stamp, hostname=hostname))

    def verb_path(self, verb: str) -> str:
        """The HTTP path of a verb: ``url_prefix`` without trailing slash + "/" + verb."""
        return self.url_prefix.rstrip("/") + "/" + verb


_FIELDS = {f.name: f for f in dataclasses.fields(ExtenderConfig) if not f.name.startswith("_")}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


_BY_CAMEL = {_camel(name): name for name in _FIELDS}


def _validate(config: ExtenderConfig) -> list[str]:
    problems = []
    if config.mode not in get_args(Mode):
        problems.append(f"mode: expected one of {list(get_args(Mode))}, got {config.mode!r}")
    for name in ("heuristic", "baseline", "filter_verb", "prioritize_verb", "gpu_resource"):
        if not getattr(config, name):
            problems.append(f"{_camel(name)}: expected a non-empty string")
    for name in ("filter_verb", "prioritize_verb"):
        if "/" in getattr(config, name):
            problems.append(f"{_camel(name)}: expected a verb without '/'")
    if config.filter_verb == config.prioritize_verb:
        problems.append("prioritizeVerb: expected a verb different from filterVerb")
    if not config.url_prefix.startswith("/"):
        problems.append(f"urlPrefix: expected a path starting with '/', got {config.url_prefix!r}")
    if not 0 < config.port < 65536:
        problems.append(f"port: expected 1..65535, got {config.port}")
    positive = (
        "heuristic_timeout_ms",
        "watch_timeout_s",
        "watch_backoff_initial_s",
        "watch_backoff_max_s",
        "assumed_pod_ttl_s",
        "max_request_bytes",
        "max_nodes_per_request",
    )
    for name in positive:
        if not getattr(config, name) > 0:
            problems.append(
                f"{_camel(name)}: expected a positive number, got {getattr(config, name)}"
            )
    if config.watch_backoff_max_s < config.watch_backoff_initial_s:
        problems.append("watchBackoffMaxS: expected at least watchBackoffInitialS")
    if not 0 < config.reference_coverage <= 1:
        problems.append(f"referenceCoverage: expected (0, 1], got {config.reference_coverage}")
    if config.log_level not in ("debug", "info", "warning", "error"):
        problems.append(
            f"logLevel: expected debug, info, warning or error, got {config.log_level!r}"
        )
    if config.record_dir and not config.watch:
        problems.append("recordDir: needs watch: true (the recording follows the watch)")
    problems.extend(_record_dir_problems(config.record_dir))
    if not config.watch and config.node_cache_capable:
        problems.append("nodeCacheCapable: needs watch: true (node names need a node cache)")
    return problems


_RECORD_DIR_FIELDS = ("start", "hostname")
"""The placeholders ``record_dir`` may hold (:meth:`ExtenderConfig.recording_directory`)."""


def _record_dir_problems(template: str) -> list[str]:
    known = ", ".join("{" + name + "}" for name in _RECORD_DIR_FIELDS)
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        return [f"recordDir: {exc} in {template!r} (placeholders: {known}; write {{{{ for a brace)"]
    return [
        f"recordDir: unknown placeholder {{{name}{'!' + conv if conv else ''}"
        f"{':' + spec if spec else ''}}} in {template!r}: expected {known}"
        for _, name, spec, conv in parts
        if name is not None and (name not in _RECORD_DIR_FIELDS or spec or conv)
    ]


def _coerce(path: str, name: str, value: Any, problems: list[str]) -> Any:
    """``value`` converted to the type of field ``name``, or a problem recorded."""
    default = _FIELDS[name].default
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                lowered = value.strip().lower()
                if lowered not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(value)
                return lowered in ("true", "1", "yes")
            if not isinstance(value, bool):
                raise TypeError(type(value).__name__)
            return value
        if isinstance(default, int):
            if isinstance(value, bool):
                raise TypeError("bool")
            return int(value)
        if isinstance(default, float):
            if isinstance(value, bool):
                raise TypeError("bool")
            return float(value)
        if isinstance(default, tuple):
            if isinstance(value, str):
                return tuple(v.strip() for v in value.split(",") if v.strip())
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise TypeError(type(value).__name__)
            return tuple(value)
        if not isinstance(value, str):
            raise TypeError(type(value).__name__)
        return value
    except (TypeError, ValueError) as exc:
        kind = type(default).__name__
        problems.append(f"{path}: expected {kind}, got {value!r} ({exc})")
        return default


def build_config(
    values: Mapping[str, Any], source: str = "config", base: ExtenderConfig | None = None
) -> ExtenderConfig:
    """A config from camelCase (or snake_case) keys over ``base`` (defaults when None).

    Raises:
        ConfigError: listing every unknown key, wrong type and invalid value.
    """
    problems: list[str] = []
    changes: dict[str, Any] = {}
    for key, value in values.items():
        name = _BY_CAMEL.get(key, key if key in _FIELDS else None)
        if name is None:
            problems.append(f"{key}: unknown field (known: {', '.join(sorted(_BY_CAMEL))})")
            continue
        changes[name] = _coerce(key, name, value, problems)
    if problems:
        raise ConfigError(f"invalid extender config ({source}): " + "; ".join(problems))
    return dataclasses.replace(base or ExtenderConfig(), **changes, _source=source)


def load_config(path: str | Path) -> ExtenderConfig:
    """The config in a versioned YAML/JSON file.

    Raises:
        ConfigError: when the file is missing, not YAML, has a key twice in one mapping,
            has the wrong apiVersion/kind, or holds invalid fields (all listed).
    """
    path = Path(path)
    try:
        document = safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"read extender config {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"parse extender config {path}: {exc}") from exc
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping with apiVersion and kind")
    problems = []
    if document.get("apiVersion") != API_VERSION:
        problems.append(f"apiVersion: expected {API_VERSION!r}, got {document.get('apiVersion')!r}")
    if document.get("kind") != KIND:
        problems.append(f"kind: expected {KIND!r}, got {document.get('kind')!r}")
    if problems:
        raise ConfigError(f"invalid extender config ({path}): " + "; ".join(problems))
    values = {k: v for k, v in document.items() if k not in ("apiVersion", "kind")}
    return build_config(values, source=str(path))


_ENV_NAME = re.compile(r"^BINFORGE_SERVE_([A-Z0-9_]+)$")


def env_overrides(environ: Mapping[str, str]) -> dict[str, str]:
    """The ``BINFORGE_SERVE_<FIELD>`` variables of ``environ`` as {field: raw value}."""
    out = {}
    for key, value in environ.items():
        match = _ENV_NAME.match(key)
        if match:
            out[match.group(1).lower()] = value
    return out
