"""The evaluation cascade: probe, screen, then train; validation only for reporting.

With ``probe_decisions`` set, a candidate is first asked for its choices on recorded
screen decisions (:mod:`heuristics.evolve.probe`, in the sandbox like everything else);
when they match a known program's (its *probe signature* is known) it is a duplicate and
the screen is skipped. Otherwise it runs in the sandbox (through an :class:`~heuristics.evolve.executor.Executor`)
on the cheap screening scenario first. It goes on to the training scenarios only when
its screen fitness is within ``screen_tolerance`` of the screen bar (the best screen
fitness so far, or the training leader's with ``screen_bar: leader``) and
its behaviour signature (its placements on the screen) is new. Its fitness is the mean
objective over the training scenarios. The held-out validation scenarios are never used
for selection: :meth:`Evaluator.validate` scores finished winners and baselines for the
report.

Fitness is always "higher is better": a minimised objective (``excess_percent``,
``stranded_gpu_share_mean``) enters negated.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from heuristics.evolve.config import EvaluatorConfig, ScenarioRef
from heuristics.evolve.executor import Executor
from heuristics.evolve.objectives import lower_is_better, objective_value

__all__ = ["AUTO_OBJECTIVES", "Evaluation", "Evaluator", "signed_objective"]

AUTO_OBJECTIVES: Mapping[str, tuple[str, str]] = {
    "saturate": ("gpu_alloc_at_130", "maximize"),
    "elastic": ("excess_percent", "minimize"),
    "replay": ("stranded_gpu_share_mean", "minimize"),
}
"""Objective and direction per protocol when the config says ``auto``."""


@dataclass(frozen=True)
class Evaluation:
    """The outcome of the cascade for one candidate.

    Attributes:
        status: ``failed`` (an error anywhere), ``duplicate`` (known behaviour),
            ``screened`` (stopped after the screen) or ``evaluated``.
        score: training fitness (higher is better) when evaluated.
        screen_score: screening fitness when the screen ran.
        metrics: stage -> scenario label -> metric -> value.
        errors: what went wrong.
        signature: behaviour signature of the screen placements.
        probe_signature: signature of the choices on the probe's recorded decisions.
        eval_s: wall-clock seconds spent in the sandbox.
    """

    status: str
    score: float | None = None
    screen_score: float | None = None
    metrics: Mapping[str, Mapping[str, Mapping[str, float]]] = field(default_factory=dict)
    errors: tuple[str, ...] = ()
    signature: int | None = None
    eval_s: float = 0.0
    probe_signature: int | None = None


def signed_objective(
    metrics: Mapping[str, float], protocol: str, objective: str, direction: str
) -> float:
    """The metric (or derived objective, ``heuristics.evolve.objectives``) the config
    optimises, negated when it is minimised.

    Raises:
        KeyError: when the simulator did not report the objective for this protocol.
    """
    name = objective
    if name == "auto":
        name, auto_direction = AUTO_OBJECTIVES[protocol]
        direction = auto_direction if direction == "auto" else direction
    if direction == "auto":
        direction = "minimize" if lower_is_better(name) else "maximize"
    value = objective_value(metrics, name)
    return -value if direction == "minimize" else value


class Evaluator:
    """Runs the cascade of :class:`EvaluatorConfig` on an executor."""

    def __init__(self, config: EvaluatorConfig, executor: Executor) -> None:
        self.config = config
        self.executor = executor
        self._reference: dict[str, float] = {}
        self._guard_reference: dict[str, dict[str, float]] = {}  # label -> guard -> best
        # reference name -> scenario label -> metrics, filled by calibrate()
        self.reference_metrics: dict[str, Mapping[str, Mapping[str, float]]] = {}

    async def calibrate(self) -> None:
        """Score ``config.reference`` on the screen, training and validation scenarios,
        against which every later fitness is relative (nothing to do without one). With
        several references, each scenario's is the best of them there.

        Raises:
            RuntimeError: a reference failed in the sandbox, or scored 0 on a scenario
                (a relative objective would be undefined there).
        """
        refs = {ref.label: ref for ref in (self.config.screen, *self.config.train,
                                           *self.config.validation)}  # fmt: skip
        timeout = self.config.train_timeout_s * max(1, len(refs))
        for name in self.config.references:
            reply = await self._run(None, name, refs.values(), timeout)
            if "_error" in reply:
                raise RuntimeError(f"evaluator.reference {name!r}: {reply['_error']}")
            self.reference_metrics[name] = reply["metrics"]
            for label in refs:
                value = self._signed(reply, label)
                if not math.isfinite(value) or value == 0:
                    raise RuntimeError(
                        f"evaluator.reference {name!r} scores {value} on {label}: expected "
                        "a finite non-zero objective to be relative to"
                    )
                self._reference[label] = max(value, self._reference.get(label, -math.inf))
                bests = self._guard_reference.setdefault(label, {})
                for guard in self.config.guards:
                    try:
                        level = objective_value(reply["metrics"][label], guard)
                    except KeyError as exc:
                        raise RuntimeError(
                            f"evaluator.guards: reference {name!r} on {label}: {exc.args[0]}"
                        ) from None
                    bests[guard] = min(level, bests.get(guard, math.inf))

    async def evaluate(
        self,
        source: str,
        *,
        screen_bar: float | None,
        known_signatures: Iterable[int] = (),
        known_probe_signatures: Iterable[int] = (),
    ) -> Evaluation:
        """Probe, screen and train ``source`` as far as it gets. Never raises for its faults.

        ``screen_bar`` is the screen fitness a candidate must come within
        ``screen_tolerance`` of (the engine's choice, ``evaluator.screen_bar``); None: no bar.
        """
        probe, error, spent = await self._probe(source)
        if error is not None:
            return Evaluation("failed", errors=(f"probe: {error}",), eval_s=spent)
        if probe is not None and probe in set(known_probe_signatures):
            return Evaluation("duplicate", errors=("same probe decisions as a known program",),
                              eval_s=spent, probe_signature=probe)  # fmt: skip
        evaluation = await self._cascade(source, screen_bar, known_signatures)
        return replace(evaluation, eval_s=evaluation.eval_s + spent, probe_signature=probe)

    async def _probe(self, source: str) -> tuple[int | None, str | None, float]:
        """(probe signature, sandbox error, seconds); no signature when the probe is off or
        the candidate raised on a recorded decision (the screen then reports it)."""
        if not self.config.probe_decisions:
            return None, None, 0.0
        task = {
            "kind": "decisions",
            "scenario": {**asdict(self.config.screen), "label": self.config.screen.label},
            "decisions": self.config.probe_decisions,
            "simulation": asdict(self.config.simulation),
            "data_dir": self.config.data_dir,
        }
        result = await self.executor.run(source, task, self.config.screen_timeout_s)
        if not result.ok or result.value is None:
            return None, result.error or "no result", result.wall_s
        signature = result.value.get("signature")
        return (int(signature) if signature is not None else None), None, result.wall_s

    async def _cascade(
        self, source: str, screen_bar: float | None, known_signatures: Iterable[int]
    ) -> Evaluation:
        screen = await self._run(source, None, [self.config.screen], self.config.screen_timeout_s)
        spent = screen.get("_wall_s", 0.0)
        if "_error" in screen:
            return Evaluation("failed", errors=(f"screen: {screen['_error']}",), eval_s=spent)
        signature = int(screen["signature"])
        try:
            screen_score = self._fitness(screen, [self.config.screen])
        except (KeyError, ValueError) as exc:
            return Evaluation("failed", errors=(f"screen: objective: {exc}",), eval_s=spent)
        metrics: dict[str, Any] = {"screen": screen["metrics"]}
        if signature in set(known_signatures):
            return Evaluation("duplicate", None, screen_score, metrics, ("same placements as a known program",), signature, spent)  # fmt: skip
        if (
            screen_bar is not None
            and screen_score < screen_bar - self.config.screen_tolerance * abs(screen_bar)
        ):
            return Evaluation("screened", None, screen_score, metrics, (), signature, spent)  # fmt: skip
        train = await self._run(source, None, self.config.train, self.config.train_timeout_s)
        spent += train.get("_wall_s", 0.0)
        if "_error" in train:
            return Evaluation("failed", None, screen_score, metrics, (f"train: {train['_error']}",), signature, spent)  # fmt: skip
        metrics["train"] = train["metrics"]
        try:
            score = self._fitness(train, self.config.train)
        except (KeyError, ValueError) as exc:
            return Evaluation("failed", None, screen_score, metrics, (f"train: objective: {exc}",), signature, spent)  # fmt: skip
        return Evaluation("evaluated", score, screen_score, metrics, (), signature, spent)

    async def validate(
        self,
        source: str | None,
        *,
        heuristic: str | None = None,
        stages: tuple[str, ...] = ("train", "validation"),
    ) -> dict[str, Any]:
        """Training and validation metrics and fitness of a winner or a registered baseline
        (``stages``: which of the two to run).

        Returns ``{"train": {...}, "validation": {...}, "train_score", "validation_score"}``
        or ``{"error": ...}``.
        """
        out: dict[str, Any] = {}
        for stage, refs in (("train", self.config.train), ("validation", self.config.validation)):
            if not refs or stage not in stages:
                continue
            timeout = self.config.train_timeout_s * max(1, len(refs))
            reply = await self._run(source, heuristic, refs, timeout)
            if "_error" in reply:
                return {"error": f"{stage}: {reply['_error']}"}
            out[stage] = reply["metrics"]
            out[f"{stage}_score"] = self._fitness(reply, refs)
            out[f"{stage}_scores"] = {
                ref.label: signed_objective(
                    reply["metrics"][ref.label], reply["protocols"][ref.label],
                    self.config.objective, self.config.direction,
                )
                for ref in refs
            }  # fmt: skip
        return out

    def task(self, refs: Iterable[ScenarioRef]) -> dict[str, Any]:
        """The sandbox task that simulates on ``refs``."""
        return {
            "kind": "simulate",
            "scenarios": [{**asdict(ref), "label": ref.label} for ref in refs],
            "simulation": asdict(self.config.simulation),
            "data_dir": self.config.data_dir,
        }

    async def _run(
        self,
        source: str | None,
        heuristic: str | None,
        refs: Iterable[ScenarioRef],
        timeout_s: float,
    ) -> dict[str, Any]:
        result = await self.executor.run(source, self.task(refs), timeout_s, heuristic=heuristic)
        if not result.ok or result.value is None:
            return {"_error": result.error or "no result", "_wall_s": result.wall_s}
        return {**result.value, "_wall_s": result.wall_s}

    def _signed(self, reply: Mapping[str, Any], label: str) -> float:
        return signed_objective(
            reply["metrics"][label], reply["protocols"][label],
            self.config.objective, self.config.direction,
        )  # fmt: skip

    def _relative(self, value: float, label: str) -> float:
        """``value`` as is without a reference; else over the reference's magnitude (the
        reference itself scores +-1), at most ``gain_cap`` above it, minus the penalty
        times any shortfall behind it."""
        reference = self._reference.get(label)
        if reference is None:
            return value
        scale = abs(reference)
        relative = value / scale
        if self.config.gain_cap is not None:
            relative = min(relative, reference / scale + self.config.gain_cap)
        shortfall = max(0.0, (reference - value) / scale)
        return relative - self.config.regression_penalty * shortfall

    def _guarded(self, metrics: Mapping[str, float], label: str) -> float:
        """``guard_penalty`` times each guard metric's excess over the best reference's
        level on ``label``, relative to ``max(level, 1)``; 0 within every guard."""
        levels = self._guard_reference.get(label, {})
        excess = 0.0
        for guard, level in levels.items():
            excess += max(0.0, objective_value(metrics, guard) - level) / max(level, 1.0)
        return self.config.guard_penalty * excess

    def _fitness(self, reply: Mapping[str, Any], refs: Iterable[ScenarioRef]) -> float:
        values = [
            self._relative(self._signed(reply, ref.label), ref.label)
            - self._guarded(reply["metrics"][ref.label], ref.label)
            for ref in refs
        ]
        fitness = sum(values) / len(values)
        if not math.isfinite(fitness):
            raise ValueError(f"fitness is not finite: {fitness}")
        return fitness
