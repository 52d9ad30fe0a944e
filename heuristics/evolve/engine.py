"""The evolution loop: proposals and evaluations overlap, results land in the database.

Sample ``n`` is launched as soon as sample ``n - window`` is committed (``window`` =
workers + proposals in flight): its island is ``n % islands``, its parents are sampled
from the samples committed so far, its proposer seed derives from the run seed and ``n``.
Evaluations finish in any order and are written at once (a killed run loses none);
samples are *committed* in order, and only committed samples steer later choices, so a
``gp`` run with a fixed seed makes the same choices every time.

Budgets (samples, cost, time) stop new launches; the samples in flight are finished.
``resume`` continues a run directory: unfinished samples are marked ``lost``, finished
ones are kept, numbering continues.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from heuristics.evolve import proposer as proposers
from heuristics.evolve.config import DatabaseConfig, EvolutionConfig
from heuristics.evolve.database import Program, ProgramDatabase, ast_hash
from heuristics.evolve.evaluator import Evaluation, Evaluator
from heuristics.evolve.executor import Executor, make_executor
from heuristics.evolve.proposer import Parent, Proposal, ProposalRequest, Proposer
from heuristics.evolve.run_dir import DATABASE_FILE, RunLock
from heuristics.evolve.seeds import SEED_SOURCES, seed_source
from heuristics.safety import UnsafeCodeError, check_source
from heuristics.sandbox import SandboxLimits

__all__ = ["DATABASE_FILE", "Engine", "RunSummary", "sandbox_limits"]


@dataclass(frozen=True)
class RunSummary:
    """What a run did.

    Attributes:
        run_dir: the run directory.
        proposer: the proposer used.
        samples: samples recorded in the database (all sessions of the run).
        evaluations: candidates that reached the sandbox.
        best: the best program, None when nothing was scored.
        wall_s: seconds this session ran.
        eval_s: sandbox seconds spent by this session's evaluations (summed over workers).
        cost_usd: total spend of the run on model calls.
        stopped_by: the budget that ended the session.
    """

    run_dir: Path
    proposer: str
    samples: int
    evaluations: int
    best: Program | None
    wall_s: float
    eval_s: float
    cost_usd: float
    stopped_by: str


class Engine:
    """Runs one evolution in ``run_dir`` (created if needed).

    It holds the run directory's :class:`~heuristics.evolve.run_dir.RunLock` until
    :meth:`close`.

    Raises:
        FileExistsError: when ``run_dir`` already holds a run and ``resume`` is False.
        FileNotFoundError: when ``resume`` is True and there is no run to resume.
        RunInUseError: when another process holds the run directory.
    """

    def __init__(
        self,
        config: EvolutionConfig,
        run_dir: str | Path,
        *,
        resume: bool = False,
        proposer: Proposer | None = None,
        executor: Executor | None = None,
        progress: TextIO | None = sys.stderr,
    ) -> None:
        self.config = config
        self.run_dir = Path(run_dir)
        path = self.run_dir / DATABASE_FILE
        if resume and not path.exists():
            raise FileNotFoundError(f"resume run: no {DATABASE_FILE} in {self.run_dir}")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._lock = RunLock(self.run_dir)
        try:  # checked under the lock, so two new runs cannot both start here
            if not resume and path.exists():
                raise FileExistsError(
                    f"start run: {self.run_dir} already holds a run (use --resume)"
                )
            self.db = ProgramDatabase(path, config.database)
            self.resume = resume
            self.proposer = proposer or proposers.create(config.proposer, config)
            self.executor = executor or make_executor(config.executor, sandbox_limits(config))
        except BaseException:
            self._lock.release()
            raise
        self.evaluator = Evaluator(config.evaluator, self.executor)
        self._progress = progress
        self._window = config.executor.workers + config.executor.proposals_in_flight
        self._eval_s = 0.0
        self._evaluations = 0
        self._last_print = 0.0

    async def run(self) -> RunSummary:
        """Seed (first session only), then evolve until a budget is spent."""
        started = time.monotonic()
        if self.resume:
            lost = self.db.abandon_unfinished()
            self._say(f"resuming {self.run_dir}: {lost} unfinished sample(s) marked lost")
        else:
            self.db.set_meta("config", _jsonable(asdict(self.config)))
            self.db.set_meta("proposer", self.config.proposer)
        await self.evaluator.calibrate()
        if self.db.meta("seeded") is None:
            await self._seed()
            self.db.set_meta("seeded", True)
        if self.db.best() is None:
            raise RuntimeError(
                "evolve: no seed heuristic could be evaluated; first errors: "
                + "; ".join(e for p in self.db.programs("kind='seed'") for e in p.errors[:1])
            )
        stopped_by = await self._evolve(started)
        self._print_progress(started, final=True)
        totals = self.db.totals()
        return RunSummary(
            run_dir=self.run_dir,
            proposer=self.proposer.name,
            samples=int(totals["samples"]),
            evaluations=int(totals["evaluations"]),
            best=self.db.best(),
            wall_s=time.monotonic() - started,
            eval_s=self._eval_s,
            cost_usd=totals["cost_usd"],
            stopped_by=stopped_by,
        )

    def close(self) -> None:
        """Stop the executor, close the database, release the run directory."""
        try:
            self.executor.close()
            self.db.close()
        finally:
            self._lock.release()

    async def validate(self, names: tuple[str, ...]) -> dict[str, Any]:
        """Training and held-out results of the best program and of registered baselines."""
        table: dict[str, Any] = {}
        best = self.db.best()
        jobs: dict[str, Any] = {}
        if best is not None and best.source is not None:
            jobs[f"evolved #{best.id}"] = self.evaluator.validate(best.source)
        for name in names:
            jobs[name] = self._validate_baseline(name)
        results = await asyncio.gather(*jobs.values())
        table.update(zip(jobs, results, strict=True))
        self.db.set_meta("validation", table)
        return table

    async def _validate_baseline(self, name: str) -> dict[str, Any]:
        result = await self.evaluator.validate(None, heuristic=name)
        if "error" in result and name in SEED_SOURCES:
            result = await self.evaluator.validate(SEED_SOURCES[name])
            result["note"] = "built-in seed source (registry unavailable)"
        return result

    # -- seeding -----------------------------------------------------------------------

    async def _seed(self) -> None:
        names = self.config.seed_heuristics
        sources = {name: seed_source(name) for name in names}
        evaluations = await asyncio.gather(
            *(self.evaluator.evaluate(src, screen_bar=None) for src in sources.values())
        )
        homes = _seed_islands(len(sources), self.config.database)
        for (name, source), outcome, islands in zip(
            sources.items(), evaluations, homes, strict=True
        ):
            self._account(outcome)
            for island in islands:
                program_id = self.db.add(sample=None, island=island, status="proposed",
                                         kind="seed", source=source, proposer=f"seed:{name}")  # fmt: skip
                self._store(program_id, outcome)
            self._say(f"seed {name}: {outcome.status} score={_fmt(outcome.score)}")

    # -- the loop ----------------------------------------------------------------------

    async def _evolve(self, started: float) -> str:
        budget = self.config.budget
        next_sample = self.db.last_sample() + 1
        committed = next_sample - 1
        running: dict[int, asyncio.Task[None]] = {}
        stopped_by = ""

        def exhausted() -> str:
            totals = self.db.totals()
            if budget.samples is not None and next_sample >= budget.samples:
                return "samples"
            if budget.cost_usd is not None and totals["cost_usd"] >= budget.cost_usd:
                return "cost"
            if budget.time_s is not None and time.monotonic() - started >= budget.time_s:
                return "time"
            return ""

        def launch_ready() -> None:
            nonlocal next_sample, stopped_by
            while not stopped_by and next_sample <= committed + self._window:
                stopped_by = exhausted()
                if stopped_by:
                    return
                running[next_sample] = self._launch(next_sample, upto=committed)
                next_sample += 1

        launch_ready()
        while running:
            done = running.get(committed + 1)
            if done is None:  # the next sample to commit was never launched
                break
            await done
            del running[committed + 1]
            committed += 1
            self.db.evolve_islands(committed, random.Random(_mix(self.config.seed, committed, 1)))
            self._print_progress(started)
            launch_ready()
        return stopped_by or "done"

    def _launch(self, sample: int, upto: int) -> asyncio.Task[None]:
        island = sample % self.config.database.islands
        rng = random.Random(_mix(self.config.seed, sample, 0))
        count = max(2, self.config.prompt.parents)
        parents = self.db.sample_parents(island, count, sample, rng, upto=upto)
        program_id = self.db.add(sample=sample, island=island, status="pending", kind="pending",
                                 parent_ids=[p.id for p in parents])  # fmt: skip
        request = ProposalRequest(
            parents=tuple(
                Parent(p.source or "", p.score, _flat_metrics(p.metrics), p.errors) for p in parents
            ),
            island=island,
            seed=rng.getrandbits(63),
        )
        context = {
            "hashes": self.db.hashes(upto),
            "signatures": self.db.signatures(upto),
            "probe_signatures": self.db.probe_signatures(upto),
            "screen_bar": (
                self.db.leader_screen_score(upto)
                if self.config.evaluator.screen_bar == "leader"
                else self.db.best_screen_score(upto)
            ),
        }
        return asyncio.create_task(self._sample(program_id, request, context))

    async def _sample(
        self, program_id: int, request: ProposalRequest, context: Mapping[str, Any]
    ) -> None:
        try:
            proposal = await self.proposer.propose(request)
        except Exception as exc:  # a proposer's bug must not end the run
            proposal = Proposal(None, "", "rewrite", error=f"proposer raised {exc!r}",
                                proposer=self.proposer.name)  # fmt: skip
        self.db.propose(program_id, source=proposal.source, kind=proposal.kind,
                        proposer=proposal.proposer or self.proposer.name, model=proposal.model,
                        prompt=proposal.prompt, raw_text=proposal.raw_text,
                        input_tokens=proposal.input_tokens, output_tokens=proposal.output_tokens,
                        cost_usd=proposal.cost_usd, error=proposal.error)  # fmt: skip
        source = proposal.source
        if source is None:
            return
        try:
            check_source(source, "<candidate>")
            digest = ast_hash(source)
        except (UnsafeCodeError, SyntaxError) as exc:
            self.db.record(program_id, status="invalid", errors=[f"safety: {exc}"])
            return
        if digest in context["hashes"]:
            self.db.record(program_id, status="duplicate", errors=["same program as a known one"])
            return
        outcome = await self.evaluator.evaluate(
            source,
            screen_bar=context["screen_bar"],
            known_signatures=context["signatures"],
            known_probe_signatures=context["probe_signatures"],
        )
        self._account(outcome)
        self._store(program_id, outcome)

    def _store(self, program_id: int, outcome: Evaluation) -> None:
        self.db.record(program_id, status=outcome.status, score=outcome.score,
                       screen_score=outcome.screen_score, metrics=outcome.metrics,
                       errors=outcome.errors, signature=outcome.signature,
                       eval_s=outcome.eval_s, probe_signature=outcome.probe_signature)  # fmt: skip

    def _account(self, outcome: Evaluation) -> None:
        self._eval_s += outcome.eval_s
        self._evaluations += 1

    # -- output ------------------------------------------------------------------------

    def _say(self, line: str) -> None:
        if self._progress is not None:
            print(line, file=self._progress, flush=True)

    def _print_progress(self, started: float, final: bool = False) -> None:
        if self._progress is None:
            return
        now = time.monotonic()
        tty = getattr(self._progress, "isatty", lambda: False)()
        if not final and now - self._last_print < (0.2 if tty else 5.0):
            return
        self._last_print = now
        totals = self.db.totals()
        best = self.db.best()
        minutes = max(now - started, 1e-9) / 60
        limit = self.config.budget.samples
        line = (
            f"[{self.proposer.name}] samples {int(totals['samples'])}"
            f"{'/' + str(limit) if limit else ''} | evals/min {self._evaluations / minutes:.1f}"
            f" | best {_fmt(best.score if best else None)} | cost ${totals['cost_usd']:.4f}"
            f" | {now - started:.0f}s"
        )
        end = "\n" if final or not tty else ""
        print(("\r" if tty else "") + line, end=end, file=self._progress, flush=True)


def sandbox_limits(config: EvolutionConfig) -> SandboxLimits:
    """The sandbox limits of a run: its evaluator's CPU and memory limits, and every
    scenario it evaluates on preloaded before the workers confine themselves."""
    evaluator = config.evaluator
    return SandboxLimits(
        cpu_s=evaluator.cpu_limit_s,
        memory_mib=evaluator.memory_limit_mib,
        preload=(
            # the screen's entry also records the probe's decisions (trusted policies)
            {
                **asdict(evaluator.screen),
                "label": evaluator.screen.label,
                "probe_decisions": evaluator.probe_decisions,
                "simulation": asdict(evaluator.simulation),
            },
            *(
                {**asdict(ref), "label": ref.label}
                for ref in (*evaluator.train, *evaluator.validation)
            ),
        ),
        data_dir=evaluator.data_dir,
    )


def _seed_islands(seeds: int, database: DatabaseConfig) -> list[list[int]]:
    """The islands each of ``seeds`` seeds starts on (``DatabaseConfig.seed_islands``)."""
    every = database.seed_islands == "all"
    islands = range(database.islands)
    return [[i for i in islands if every or i % seeds == k % len(islands)] for k in range(seeds)]


def _flat_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    flat: dict[str, float] = {}
    for stage, per_scenario in metrics.items():
        for label, values in per_scenario.items():
            for key, value in values.items():
                flat[f"{stage}.{label}.{key}"] = float(value)
    return flat


def _mix(*parts: int) -> int:
    value = 0x9E3779B97F4A7C15
    for part in parts:
        value = (value ^ (part & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
    return value


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _jsonable(value: Any) -> Any:
    with contextlib.suppress(TypeError):
        return json.loads(json.dumps(value))
    return str(value)
