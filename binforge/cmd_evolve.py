"""``binforge evolve``: discover a heuristic by evolution (wiring only; see heuristics.evolve)."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from binforge.errors import UserError

__all__ = ["parse_duration", "register"]

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?$")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "evolve",
        help="evolve a scheduling heuristic (offline GP by default, or an LLM)",
        description="Evolve a scheduling heuristic. With no arguments: the offline gp "
        "proposer on generated Weibull bin-packing instances for about two and a half "
        "minutes, then a table of the best heuristic against the baselines.",
    )
    parser.add_argument("--config", type=Path, help="EvolutionConfig YAML file")
    parser.add_argument("--scenario", action="append", default=[], metavar="NAME",
                        help="training scenario (repeatable; the first is also the screen)")  # fmt: skip
    parser.add_argument("--validate", action="append", default=[], metavar="NAME",
                        help="held-out validation scenario (repeatable)")  # fmt: skip
    parser.add_argument("--proposer", choices=("gp", "gemini", "openai", "ensemble"))
    parser.add_argument("--budget-samples", type=int, metavar="N")
    parser.add_argument("--budget-cost", type=float, metavar="USD")
    parser.add_argument("--budget-time", type=parse_duration, metavar="DURATION",
                        help="wall-clock budget, e.g. 90s, 3m, 1h30m")  # fmt: skip
    parser.add_argument("--executor", choices=("local", "ray"))
    parser.add_argument("--workers", type=int, metavar="N", help="concurrent evaluations")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--run-dir", type=Path, metavar="DIR")
    parser.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.set_defaults(func=_run)


def parse_duration(text: str) -> float:
    """Seconds in ``90``, ``90s``, ``3m``, ``1h30m``.

    Raises:
        argparse.ArgumentTypeError: for anything else.
    """
    match = _DURATION.match(text.strip())
    if not text.strip() or not match or not any(match.groups()):
        raise argparse.ArgumentTypeError(f"expected a duration like 90s, 3m or 1h30m, got {text!r}")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _simulation_hint() -> str:
    from heuristics.evolve.run_dir import SIMULATION_BEFORE_THE_OPTION

    then = ", ".join(f"{name}={value}" for name, value in SIMULATION_BEFORE_THE_OPTION.items())
    return (
        "\n(evaluator.simulation: a run recorded before an option existed ran with the"
        f" simulator's behaviour of then ({then}) for each option the record lacks; resume"
        " it without --config, or set evaluator.simulation in the config to what the run"
        " recorded)"
    )


def _run(args: argparse.Namespace) -> int:
    from heuristics.evolve.config import ConfigError
    from heuristics.evolve.engine import Engine
    from heuristics.evolve.run_dir import RunDirError, config_changes, recorded_config

    if args.resume and args.run_dir is None:
        raise UserError("--resume needs --run-dir DIR (the run to continue)")
    run_dir = args.run_dir or Path("runs") / time.strftime("evolve-%Y%m%d-%H%M%S")
    _check_run_dir(run_dir)
    try:
        recorded = recorded_config(run_dir) if args.resume else None
        config = _config(args, recorded)
    except (ConfigError, RunDirError) as exc:
        raise UserError(str(exc)) from None
    changes = config_changes(recorded, config) if recorded is not None else []
    simulation = any(change.startswith("evaluator.simulation.") for change in changes)
    if changes:
        raise UserError(
            f"--resume: the run in {run_dir} was recorded with another configuration, and a"
            " resumed run must score like the run it continues; changed:\n  "
            + "\n  ".join(changes)
            + "\n(only budget and executor settings may change on --resume;"
            " start a new --run-dir for the others)" + (_simulation_hint() if simulation else "")
        )
    out = sys.stderr
    print(f"binforge evolve: proposer {_describe(config)}", file=out)
    action = "resuming the run in" if args.resume else "run directory"
    print(f"binforge evolve: {action} {run_dir}", file=out)
    try:
        engine = Engine(config, run_dir, resume=args.resume, progress=None if args.quiet else out)
    except RunDirError as exc:
        raise UserError(str(exc)) from None
    except (FileExistsError, FileNotFoundError, KeyError, RuntimeError) as exc:
        raise UserError(str(exc).strip("'\"")) from None
    try:
        summary = asyncio.run(engine.run())
        print(
            f"binforge evolve: {summary.samples} samples, {summary.evaluations} evaluations "
            f"in {summary.wall_s:.0f} s (stopped by {summary.stopped_by})",
            file=out,
        )
        print("binforge evolve: scoring the best program and the baselines ...", file=out)
        table = asyncio.run(engine.validate(config.baselines))
    except RuntimeError as exc:
        raise UserError(str(exc)) from None
    finally:
        engine.close()
    print(format_table(table, config.evaluator.objective))
    if summary.best is not None and summary.best.source is not None:
        print(f"\nbest program (#{summary.best.id}, score {summary.best.score:.6g}):\n")
        print(summary.best.source)
    return 0


def format_table(table: dict[str, Any], objective: str) -> str:
    """The results table: one row per heuristic, one column per train/validation scenario."""
    columns: list[tuple[str, str]] = []
    for result in table.values():
        for stage in ("train", "validation"):
            for label in result.get(f"{stage}_scores", {}):
                if (stage, label) not in columns:
                    columns.append((stage, label))
    heads = [f"{stage}:{label}" for stage, label in columns]
    cell = max([len(h) for h in heads] + [10])
    width = max([len(n) for n in table] + [9])
    lines = [
        f"objective: {objective} (higher is better; minimised metrics shown negated)",
        f"{'heuristic':<{width}}  " + "  ".join(f"{h:>{cell}}" for h in heads),
    ]
    for name, result in table.items():
        if "error" in result:
            lines.append(f"{name:<{width}}  error: {result['error'][:100]}")
            continue
        cells = [result.get(f"{stage}_scores", {}).get(label) for stage, label in columns]
        lines.append(
            f"{name:<{width}}  "
            + "  ".join(f"{'-' if c is None else format(c, '.4f'):>{cell}}" for c in cells)
        )
    return "\n".join(lines)


def _check_run_dir(run_dir: Path) -> None:
    for path in (run_dir, *run_dir.parents):  # the nearest that exists must be a directory
        if path.exists():
            if not path.is_dir():
                raise UserError(f"--run-dir {run_dir}: not a directory")
            return


def _config(args: argparse.Namespace, recorded: Any) -> Any:
    """The run's configuration: ``--config``, else the ``recorded`` one of a resumed run,
    else the defaults; then the command line's options."""
    from heuristics.evolve.config import (
        BudgetConfig,
        EvolutionConfig,
        ScenarioRef,
        load_config,
        validate_config,
    )

    if args.config is not None:
        if args.config.is_dir():
            raise UserError(f"--config {args.config}: is a directory; expected a YAML file")
        if not args.config.is_file():
            raise UserError(f"--config {args.config}: no such file")
        config = load_config(args.config)
    else:
        config = recorded or EvolutionConfig()
    evaluator = config.evaluator
    if args.scenario:
        train = tuple(ScenarioRef(name) for name in args.scenario)
        evaluator = replace(evaluator, screen=train[0], train=train)
    if args.validate:
        evaluator = replace(evaluator, validation=tuple(ScenarioRef(n) for n in args.validate))
    budget = config.budget
    budget = BudgetConfig(
        samples=args.budget_samples if args.budget_samples is not None else budget.samples,
        cost_usd=args.budget_cost if args.budget_cost is not None else budget.cost_usd,
        time_s=args.budget_time if args.budget_time is not None else budget.time_s,
    )
    executor = config.executor
    if args.executor:
        executor = replace(executor, kind=args.executor)
    if args.workers is not None:
        if args.workers < 1:
            raise UserError(f"--workers: expected 1 or more, got {args.workers}")
        executor = replace(executor, workers=args.workers)
    config = replace(
        config,
        evaluator=evaluator,
        budget=budget,
        executor=executor,
        proposer=args.proposer or config.proposer,
        seed=config.seed if args.seed is None else args.seed,
    )
    # a resumed run's seeds have run (a winner file may have been renamed since)
    return validate_config(config, source="command line", names=True, seeds=not args.resume)


def _describe(config: Any) -> str:
    name = config.proposer
    if name == "gp":
        return "gp (offline genetic programming over syntax trees; no model is called)"
    if name == "gemini":
        return f"gemini (model {config.gemini.model}, API {config.gemini.api_version})"
    if name == "openai":
        return f"openai (model {config.openai.model} at {config.openai.base_url})"
    members = ", ".join(
        f"{m.proposer}:{m.model or 'default'} x{m.weight:g}" for m in config.ensemble
    )
    return f"ensemble ({members})"
