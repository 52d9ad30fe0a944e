"""Configuration of an evolution run: frozen dataclasses, every default in one place.

The defaults below are the only defaults: the YAML file, the CLI and the engine read
them from here. A YAML file overrides any subset::

    apiVersion: binforge.dev/v1alpha1
    kind: EvolutionConfig
    proposer: gemini
    gemini: {model: gemini-3.5-flash, temperature: 0.9}
    budget: {samples: 500, cost_usd: 2.0}

:func:`load_config` and :func:`config_from_mapping` report every problem at once, each
with its field path (``evaluator.train[1].seeds: expected a list of integers``), in one
:class:`ConfigError`. ``docs/evolve.md`` carries a commented example.
"""

from __future__ import annotations

import contextlib
import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from heuristics.evolve.objectives import is_objective, lower_is_better
from simulator.options import SimulationOptions

__all__ = [
    "API_VERSION",
    "KIND",
    "BudgetConfig",
    "ConfigError",
    "DatabaseConfig",
    "EnsembleMember",
    "EvaluatorConfig",
    "EvolutionConfig",
    "ExecutorConfig",
    "GPConfig",
    "GeminiConfig",
    "OpenAIConfig",
    "PromptConfig",
    "ScenarioRef",
    "config_from_mapping",
    "load_config",
    "validate_config",
]

API_VERSION = "binforge.dev/v1alpha1"
KIND = "EvolutionConfig"


class ConfigError(ValueError):
    """An invalid configuration; ``errors`` lists every problem with its field path."""

    def __init__(self, source: str, errors: list[str]) -> None:
        super().__init__(f"{source}: invalid configuration:\n  " + "\n  ".join(errors))
        self.errors = tuple(errors)


@dataclass(frozen=True)
class GeminiConfig:
    """The ``gemini`` proposer (google-genai SDK).

    Attributes:
        model: Gemini model name.
        api_version: API version the SDK calls (pinned: the SDK's default changed in 3.0).
        base_url: endpoint override (a local test server, a proxy); None for Google's.
        api_key_env: environment variable holding the API key.
        temperature: sampling temperature.
        max_output_tokens: output token limit per answer.
        timeout_s: timeout of one request, in seconds.
        retries: attempts after the first on 429 and 5xx answers, with exponential backoff.
        backoff_s: first backoff delay in seconds (doubles on each retry).
        price_input_usd_per_mtok, price_output_usd_per_mtok: prices per million tokens,
            for cost accounting (set them to your contract's prices).
    """

    model: str = "gemini-3.5-flash"
    api_version: str = "v1beta"
    base_url: str | None = None
    api_key_env: str = "GEMINI_API_KEY"
    temperature: float = 0.8
    max_output_tokens: int = 8192
    timeout_s: float = 120.0
    retries: int = 4
    backoff_s: float = 2.0
    price_input_usd_per_mtok: float = 0.30
    price_output_usd_per_mtok: float = 2.50


@dataclass(frozen=True)
class OpenAIConfig:
    """The ``openai`` proposer: any OpenAI-compatible chat-completions server.

    Attributes:
        base_url: server URL including ``/v1`` (vLLM, Ollama, a hosted API).
        model: model name the server knows.
        api_key_env: environment variable holding the API key (a placeholder is sent
            when it is unset, as local servers need none).
        temperature, max_output_tokens, timeout_s, retries, backoff_s: as for Gemini.
        price_input_usd_per_mtok, price_output_usd_per_mtok: prices per million tokens
            (0 for a local server).
    """

    base_url: str = "http://127.0.0.1:8000/v1"
    model: str = "qwen2.5-coder-7b-instruct"
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = 0.8
    max_output_tokens: int = 4096
    timeout_s: float = 120.0
    retries: int = 4
    backoff_s: float = 2.0
    price_input_usd_per_mtok: float = 0.0
    price_output_usd_per_mtok: float = 0.0


@dataclass(frozen=True)
class EnsembleMember:
    """One member of the ``ensemble`` proposer.

    Attributes:
        proposer: the member's proposer name (``gemini``, ``openai`` or ``gp``).
        weight: relative probability of asking this member (positive).
        model: model override for this member; None keeps the proposer's section.
    """

    proposer: str = "gemini"
    weight: float = 1.0
    model: str | None = None


def _default_members() -> tuple[EnsembleMember, ...]:
    return (
        EnsembleMember("gemini", 0.8, "gemini-3.5-flash"),
        EnsembleMember("gemini", 0.2, "gemini-3.1-pro-preview"),
    )


@dataclass(frozen=True)
class GPConfig:
    """The offline ``gp`` proposer (genetic programming over syntax trees).

    Attributes:
        crossover_rate: probability that a child is a crossover of two parents.
        mutations_max: most mutations applied to one child (at least one is).
        constant_sigma: relative standard deviation of constant perturbations.
        max_nodes: children larger than this many syntax nodes are shrunk or dropped.
        blend_rate: share of crossovers that are *blends*: the donor's whole ``score``
            kept as a function and added to the parent's, ``E + w * blend_k(...)``, with
            ``w`` log-uniform over 10^-6..10^2 (a tie-breaker up to a dominant term).
            0 (the default) keeps every crossover an expression graft.
        score_feature_share: share of feature insertions that go on the whole returned
            score (``score ± w * feature``: a secondary criterion or tie-breaker for
            the parent's ranking) rather than on a random inner expression.
        gate_share: share of feature insertions whose term is multiplied by a 0/1 gate
            (a GPU or CPU-only cluster, a pod with or without GPUs; ``gp.GATES``), so
            a program can break ties one way on GPU clusters and another on CPU-only
            ones. 0 (the default) draws exactly as before.
        keep_structure: leave alone the constants that shape arrays rather than score
            (``axis=``, slices, arguments of ``len``, ``int`` and array constructors):
            changing them only ever breaks a child. False keeps the first campaigns'
            behaviour, so their recorded runs replay exactly.
        shape_safe: keep feature insertions and grafts out of per-GPU and per-shape code:
            no site in an assignment computing or writing an array from
            ``nodes.gpu_free_milli``, any ``ctx.*``, names computed from them, ``[:, None]``
            or ``axis=``; no site that reads one; never a subscripted array; never a
            donor's loop variable (gaps: ``docs/evolve.md``). False keeps the earlier
            searches' behaviour.
    """

    crossover_rate: float = 0.3
    mutations_max: int = 3
    constant_sigma: float = 0.3
    max_nodes: int = 400
    blend_rate: float = 0.0
    score_feature_share: float = 0.0
    gate_share: float = 0.0
    keep_structure: bool = False
    shape_safe: bool = False


@dataclass(frozen=True)
class PromptConfig:
    """How LLM prompts are built.

    Attributes:
        parents: parents shown per prompt (2 or 3 as in FunSearch).
        diff_share: share of prompts asking for SEARCH/REPLACE diffs instead of rewrites.
    """

    parents: int = 2
    diff_share: float = 0.5


@dataclass(frozen=True)
class DatabaseConfig:
    """The program database (islands, sampling, archive).

    Attributes:
        islands: number of islands that evolve apart.
        temperature: softmax temperature over normalised scores when sampling parents.
        temperature_period: samples over which the temperature decays to a tenth, then restarts.
        length_penalty: favours short programs: score minus this times (nodes / 100).
        migration_period: samples between migrations of each island's best to a neighbour.
        reset_period: samples between resets of the weaker half of the islands from the best.
        archive_bins: bins per behaviour descriptor of the MAP-Elites archive.
        seed_islands: ``all`` puts every seed on every island; ``spread`` puts seed k on
            island k mod islands only (cycling through the seeds when there are more
            islands than seeds), so a seed that scores poorly on its own is still
            mutated on its island instead of losing every parent draw to a stronger one.
    """

    islands: int = 4
    temperature: float = 0.1
    temperature_period: int = 500
    length_penalty: float = 0.001
    migration_period: int = 40
    reset_period: int = 120
    archive_bins: int = 5
    seed_islands: Literal["all", "spread"] = "all"


@dataclass(frozen=True)
class ScenarioRef:
    """A scenario to evaluate on.

    Attributes:
        name: a scenario name known to ``cluster_traces.scenarios.load_scenario``.
        seeds: simulator seeds; the metrics are averaged over them.
        protocol: protocol override (``saturate``, ``replay``, ``elastic``); None keeps
            the scenario's default.
        scenario_seed: seed of the scenario itself (generated instances, derivations).
        nodes_fraction: keep this seeded share of the cluster's nodes (a cheaper
            screening cluster); 1 keeps them all.
    """

    name: str = "weibull:500"
    seeds: tuple[int, ...] = (0,)
    protocol: Literal["saturate", "replay", "elastic"] | None = None
    scenario_seed: int = 0
    nodes_fraction: float = 1.0

    @property
    def label(self) -> str:
        """A short unique name: ``NAME[/PROTOCOL][#SCENARIO_SEED][~FRACTION]``."""
        label = self.name
        if self.protocol:
            label += f"/{self.protocol}"
        if self.scenario_seed:
            label += f"#{self.scenario_seed}"
        if self.nodes_fraction != 1.0:
            label += f"~{self.nodes_fraction:g}"
        return label


@dataclass(frozen=True)
class EvaluatorConfig:
    """The evaluation cascade and the fitness.

    Attributes:
        screen: the cheap screening scenario every candidate runs first.
        train: scenarios a candidate that passes the screen runs on; its fitness is
            their mean objective.
        validation: held-out scenarios, never used for selection, reported for winners.
        objective: simulator metric to optimise; ``auto`` picks it from the protocol
            (saturate: ``gpu_alloc_at_130``, elastic: ``excess_percent``, replay:
            ``stranded_gpu_share_mean``).
        direction: ``maximize`` or ``minimize``; ``auto`` follows the objective.
        screen_tolerance: a candidate passes the screen when its screen fitness is at
            least the screen bar minus this share of its magnitude.
        screen_bar: ``best``, the best screen fitness so far; or ``leader``, the screen
            fitness of the best program by training fitness, so that a program that is
            lucky on a small, noisy screen does not raise the bar above the children of
            the best lineage.
        probe_decisions: recorded screen decisions a candidate is asked about before
            the screen (:mod:`heuristics.evolve.probe`); a candidate that chooses like a
            known program on all of them is a duplicate without a screen run. 0 turns
            the probe off.
        reference: a registered heuristic (e.g. ``kube-default``), or a list of them;
            when set, each scenario's objective counts relative to the reference's on
            that scenario (the reference scores -1 when the objective is minimised, +1
            when maximised) and ``regression_penalty`` times the shortfall is subtracted
            on every scenario where the candidate does worse than it. With a list, the
            reference on each scenario is whichever of them does best there. None:
            absolute objectives.
        regression_penalty: see ``reference``; 0 turns the penalty off.
        gain_cap: with a reference, the most a scenario counts above it (the reference
            scores +-1, so 0.05 caps each scenario's gain at 5 % of the reference's
            magnitude); a search must then gain on many scenarios, not buy losses on some
            with a large gain on one. None: uncapped.
        guards: metrics where lower is better (e.g. ``pods_failed``,
            ``pods_pending_mean``) that must not get worse than the reference's: on every
            scenario where a candidate's guard metric exceeds the best reference's,
            ``guard_penalty`` times the excess over ``max(reference's value, 1)`` is
            subtracted. Needs ``reference``. Empty: no guards.
        guard_penalty: see ``guards``.
        simulation: how every scenario is simulated (:class:`simulator.SimulationOptions`:
            for example ``{pop_from_backoff: false}``, a replay queue without
            kube-scheduler's popping from backoff, as campaign 3's first attempts ran); the
            same options for the screen, training, validation, the probe, ``binforge
            select`` and ``make results``.
        screen_timeout_s, train_timeout_s: wall-clock limits per evaluation stage.
        cpu_limit_s: CPU-time limit of a sandbox worker per evaluation stage.
        memory_limit_mib: address-space limit of a sandbox worker.
        data_dir: directory of the public traces; None uses ``BINFORGE_TRACE_DIR``.
    """

    screen: ScenarioRef = field(default_factory=ScenarioRef)
    train: tuple[ScenarioRef, ...] = (ScenarioRef("weibull:2k", (0,), scenario_seed=1),)
    validation: tuple[ScenarioRef, ...] = (ScenarioRef("weibull:5k", (0,), scenario_seed=2),)
    objective: str = "auto"
    direction: Literal["auto", "maximize", "minimize"] = "auto"
    screen_tolerance: float = 0.05
    screen_bar: Literal["best", "leader"] = "best"
    probe_decisions: int = 0
    reference: str | tuple[str, ...] | None = None
    regression_penalty: float = 0.0
    gain_cap: float | None = None
    guards: tuple[str, ...] = ()
    guard_penalty: float = 1.0
    simulation: SimulationOptions = field(default_factory=SimulationOptions)
    screen_timeout_s: float = 20.0
    train_timeout_s: float = 60.0
    cpu_limit_s: int = 120
    memory_limit_mib: int = 4096
    data_dir: str | None = None

    @property
    def references(self) -> tuple[str, ...]:
        """``reference`` as a tuple (empty without one)."""
        if self.reference is None:
            return ()
        return (self.reference,) if isinstance(self.reference, str) else self.reference


@dataclass(frozen=True)
class BudgetConfig:
    """When a run stops: the first budget spent ends it (None = unlimited).

    Attributes:
        samples: proposals to request.
        cost_usd: spend on model calls, in US dollars.
        time_s: wall-clock time, in seconds.
    """

    samples: int | None = 1000
    cost_usd: float | None = 5.0
    time_s: float | None = 150.0


@dataclass(frozen=True)
class ExecutorConfig:
    """Where evaluations run.

    Attributes:
        kind: ``local`` (sandbox worker processes on this machine) or ``ray``.
        workers: concurrent evaluations (sandbox workers or Ray tasks).
        ray_address: Ray cluster address; None starts or joins a local instance.
        proposals_in_flight: proposals requested ahead of free evaluation slots.
    """

    kind: Literal["local", "ray"] = "local"
    workers: int = 2
    ray_address: str | None = None
    proposals_in_flight: int = 2


@dataclass(frozen=True)
class EvolutionConfig:
    """A whole evolution run.

    Attributes:
        proposer: ``gp`` (offline, the default), ``gemini``, ``openai`` or ``ensemble``.
        seed: seed of the run (proposers, sampling); with ``gp`` a run is reproducible.
        seed_heuristics: registered heuristics whose sources seed the population.
        run_dir: directory of the run's database and outputs; None picks ``runs/<time>``.
        baselines: registered heuristics the winner is compared with at the end.
    """

    proposer: str = "gp"
    seed: int = 0
    seed_heuristics: tuple[str, ...] = ("best-fit", "best-fit-cpu", "first-fit", "tetris")
    run_dir: str | None = None
    baselines: tuple[str, ...] = ("best-fit", "first-fit", "worst-fit", "tetris", "fgd")
    gemini: GeminiConfig = field(default_factory=GeminiConfig)
    openai: OpenAIConfig = field(default_factory=OpenAIConfig)
    ensemble: tuple[EnsembleMember, ...] = field(default_factory=_default_members)
    gp: GPConfig = field(default_factory=GPConfig)
    prompt: PromptConfig = field(default_factory=PromptConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    evaluator: EvaluatorConfig = field(default_factory=EvaluatorConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)


def load_config(path: str | Path) -> EvolutionConfig:
    """Read a YAML configuration file.

    Raises:
        ConfigError: the file is unreadable, not YAML, has a key twice in one mapping, or
            has invalid fields (all listed).
    """
    import yaml

    from cluster_traces.strict_yaml import safe_load

    try:
        data = safe_load(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        line = exc.object.count(b"\n", 0, exc.start) + 1
        bad = exc.object[exc.start : exc.end]
        raise ConfigError(str(path), [f"line {line}: got {bad!r}, expected UTF-8 text"]) from None
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(str(path), [f"read configuration: {exc}"]) from None
    return config_from_mapping(data if data is not None else {}, source=str(path), names=True)


def config_from_mapping(
    data: object, source: str = "<config>", *, names: bool = False
) -> EvolutionConfig:
    """Build an :class:`EvolutionConfig` from parsed YAML (``apiVersion`` and ``kind`` required).

    With ``names``, also check that every heuristic and scenario it names exists, as a new
    run needs (a resumed run checks its names with :func:`validate_config` and
    ``seeds=False``: its seeds have run, and a renamed winner must not lock the run away).

    Raises:
        ConfigError: with every error and its field path.
    """
    errors: list[str] = []
    if not isinstance(data, Mapping):
        raise ConfigError(source, [f"expected a mapping, got {type(data).__name__}"])
    body = dict(data)
    if body.pop("apiVersion", None) != API_VERSION:
        errors.append(f"apiVersion: expected {API_VERSION!r}, got {data.get('apiVersion')!r}")
    if body.pop("kind", None) != KIND:
        errors.append(f"kind: expected {KIND!r}, got {data.get('kind')!r}")
    config = _build(EvolutionConfig, body, "", errors)
    # a field of the wrong type is already reported; its range cannot be checked
    with contextlib.suppress(TypeError):
        errors.extend(_validate(config))
        if names and not errors:
            errors.extend(_name_errors(config))
    if errors:
        raise ConfigError(source, errors)
    assert isinstance(config, EvolutionConfig)
    return config


def validate_config(
    config: EvolutionConfig, source: str = "<config>", *, names: bool = False, seeds: bool = True
) -> EvolutionConfig:
    """Check a configuration built in code (for example with ``dataclasses.replace``);
    ``names`` as in :func:`config_from_mapping`. ``seeds=False`` leaves the seed heuristics'
    names unchecked (a resumed run: its seeds have run, and a seed may be a winner file
    renamed since) while scenario, baseline and reference names are still checked.

    Raises:
        ConfigError: with every error and its field path.
    """
    errors = _validate(config)
    if names and not errors:
        errors.extend(_name_errors(config, seeds=seeds))
    if errors:
        raise ConfigError(source, errors)
    return config


def _build(cls: type, data: object, path: str, errors: list[str]) -> Any:
    if not isinstance(data, Mapping):
        errors.append(f"{path or '<root>'}: expected a mapping, got {type(data).__name__}")
        return cls()
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            errors.append(
                f"{_join(path, str(key))}: unknown field (known: {', '.join(sorted(fields))})"
            )
    before = len(errors)
    values = {
        key: _coerce(hints[key], value, _join(path, key), errors)
        for key, value in data.items()
        if key in fields
    }
    if len(errors) > before:  # a wrong-typed value would only garble cls's own checks;
        return cls()  # this section's range checks wait until its types are right
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        errors.append(f"{path or '<root>'}: {exc}")
        return cls()


def _coerce(hint: Any, value: object, path: str, errors: list[str]) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if len(inner) > 1:  # a scalar or a list of them: the value's form picks the hint
            listed = isinstance(value, list | tuple)
            inner = [a for a in inner if (typing.get_origin(a) is tuple) == listed]
        return _coerce(inner[0], value, path, errors)
    if origin is Literal:
        if value not in args:
            errors.append(f"{path}: expected one of {', '.join(map(repr, args))}, got {value!r}")
        return value
    if origin is tuple:
        if isinstance(value, str) or not isinstance(value, list | tuple):
            errors.append(f"{path}: expected a list, got {value!r}")
            return ()
        return tuple(_coerce(args[0], v, f"{path}[{i}]", errors) for i, v in enumerate(value))
    if dataclasses.is_dataclass(hint):
        return _build(typing.cast(type, hint), value, path, errors)
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hint in (int, str, bool) and type(value) is hint:
        return value
    errors.append(f"{path}: expected {getattr(hint, '__name__', hint)}, got {value!r}")
    return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _validate(config: EvolutionConfig) -> list[str]:
    errors: list[str] = []

    def need(ok: bool, path: str, message: str) -> None:
        if not ok:
            errors.append(f"{path}: {message}")

    need(config.proposer in ("gp", "gemini", "openai", "ensemble"), "proposer",
         f"expected gp, gemini, openai or ensemble, got {config.proposer!r}")  # fmt: skip
    for name in ("gemini", "openai"):
        section = getattr(config, name)
        need(section.temperature >= 0, f"{name}.temperature", "expected >= 0")
        need(section.max_output_tokens > 0, f"{name}.max_output_tokens", "expected > 0")
        need(section.timeout_s > 0, f"{name}.timeout_s", "expected > 0")
        need(section.retries >= 0, f"{name}.retries", "expected >= 0")
        need(
            section.price_input_usd_per_mtok >= 0,
            f"{name}.price_input_usd_per_mtok",
            "expected >= 0",
        )
        need(
            section.price_output_usd_per_mtok >= 0,
            f"{name}.price_output_usd_per_mtok",
            "expected >= 0",
        )
    need(bool(config.ensemble), "ensemble", "expected at least one member")
    for i, member in enumerate(config.ensemble):
        need(member.weight > 0, f"ensemble[{i}].weight", "expected > 0")
        need(member.proposer in ("gp", "gemini", "openai"), f"ensemble[{i}].proposer",
             f"expected gp, gemini or openai, got {member.proposer!r}")  # fmt: skip
    need(0 <= config.gp.crossover_rate <= 1, "gp.crossover_rate", "expected 0..1")
    need(config.gp.mutations_max >= 1, "gp.mutations_max", "expected >= 1")
    need(config.gp.max_nodes >= 20, "gp.max_nodes", "expected >= 20")
    need(0.0 <= config.gp.blend_rate <= 1.0, "gp.blend_rate", "expected a value in [0, 1]")
    need(0.0 <= config.gp.score_feature_share <= 1.0, "gp.score_feature_share",
         "expected a value in [0, 1]")  # fmt: skip
    need(0.0 <= config.gp.gate_share <= 1.0, "gp.gate_share", "expected a value in [0, 1]")
    evaluator = config.evaluator
    need(evaluator.regression_penalty >= 0, "evaluator.regression_penalty", "expected >= 0")
    need(evaluator.gain_cap is None or evaluator.gain_cap >= 0, "evaluator.gain_cap",
         "expected >= 0 or null")  # fmt: skip
    need(evaluator.guard_penalty >= 0, "evaluator.guard_penalty", "expected >= 0")
    for i, guard in enumerate(evaluator.guards):
        need(is_objective(guard) and lower_is_better(guard), f"evaluator.guards[{i}]",
             f"expected a simulator metric where lower is better (such as pods_failed or "
             f"pods_pending_mean), got {guard!r}")  # fmt: skip
    for option, used in (("regression_penalty", bool(evaluator.regression_penalty)),
                         ("gain_cap", evaluator.gain_cap is not None),
                         ("guards", bool(evaluator.guards))):  # fmt: skip
        need(not used or bool(evaluator.references), f"evaluator.{option}",
             "needs evaluator.reference (a registered heuristic)")  # fmt: skip
    need(evaluator.reference != (), "evaluator.reference",
         "expected a registered heuristic or a non-empty list of them")  # fmt: skip
    need(config.prompt.parents >= 1, "prompt.parents", "expected >= 1")
    need(0 <= config.prompt.diff_share <= 1, "prompt.diff_share", "expected 0..1")
    db = config.database
    need(db.islands >= 1, "database.islands", "expected >= 1")
    need(db.temperature > 0, "database.temperature", "expected > 0")
    for name in ("temperature_period", "migration_period", "reset_period", "archive_bins"):
        need(getattr(db, name) >= 1, f"database.{name}", "expected >= 1")
    ev = config.evaluator
    for path, ref in [("evaluator.screen", ev.screen)] + [
        (f"evaluator.{part}[{i}]", r)
        for part in ("train", "validation")
        for i, r in enumerate(getattr(ev, part))
    ]:
        need(bool(ref.name), f"{path}.name", "expected a scenario name")
        need(bool(ref.seeds), f"{path}.seeds", "expected at least one seed")
        need(0 < ref.nodes_fraction <= 1, f"{path}.nodes_fraction", "expected 0 < f <= 1")
    need(bool(ev.train), "evaluator.train", "expected at least one scenario")
    need(ev.screen_tolerance >= 0, "evaluator.screen_tolerance", "expected >= 0")
    need(ev.probe_decisions >= 0, "evaluator.probe_decisions",
         f"expected >= 0 (0 turns the probe off), got {ev.probe_decisions}")  # fmt: skip
    for name in ("screen_timeout_s", "train_timeout_s", "cpu_limit_s", "memory_limit_mib"):
        need(getattr(ev, name) > 0, f"evaluator.{name}", "expected > 0")
    b = config.budget
    need(b.samples is None or b.samples >= 1, "budget.samples", "expected >= 1")
    need(b.cost_usd is None or b.cost_usd >= 0, "budget.cost_usd", "expected >= 0")
    need(b.time_s is None or b.time_s > 0, "budget.time_s", "expected > 0")
    need(config.executor.workers >= 1, "executor.workers", "expected >= 1")
    need(config.executor.proposals_in_flight >= 1, "executor.proposals_in_flight", "expected >= 1")
    return errors


def _name_errors(config: EvolutionConfig, *, seeds: bool = True) -> list[str]:
    """Scenario and heuristic names that name nothing, caught before a run spends its
    budget: scenarios by their spelling (no trace file is read), heuristic files only
    located (never loaded: a baseline file runs in the sandbox only)."""
    from cluster_traces.scenarios import ScenarioError, check_scenario_name
    from heuristics.evolve.seeds import SEED_SOURCES, seed_source
    from heuristics.registry import UnknownHeuristicError, locate

    errors = []
    ev = config.evaluator
    refs = [("evaluator.screen", ev.screen)]
    refs += [(f"evaluator.{part}[{i}]", r)
             for part in ("train", "validation") for i, r in enumerate(getattr(ev, part))]  # fmt: skip
    for path, ref in refs:
        try:
            check_scenario_name(ref.name)
        except ScenarioError as exc:
            errors.append(f"{path}.name: {exc}")
    for i, name in enumerate(config.seed_heuristics if seeds else ()):
        try:
            seed_source(name)
        except KeyError as exc:
            errors.append(f"seed_heuristics[{i}]: {exc.args[0]}")
    references = ev.references
    named = [(f"baselines[{i}]", n, True) for i, n in enumerate(config.baselines)]
    named += [("evaluator.reference" + (f"[{i}]" if len(references) > 1 else ""), n, False)
              for i, n in enumerate(references)]  # fmt: skip
    for path, name, seed_stands_in in named:  # a baseline's seed source stands in for it
        if seed_stands_in and name in SEED_SOURCES:
            continue
        try:
            locate(name)
        except UnknownHeuristicError as exc:
            errors.append(f"{path}: {exc}")
    return errors
