"""``binforge simulate``: compare policies on a scenario over seeds; table, JSON, CSV, plots."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from binforge._compare import check_outputs, emit, progress_printer, resolve_policies
from binforge.errors import UserError
from cluster_traces.scenarios import TRACE_DIR_ENV, ScenarioError, load_scenario
from heuristics.contract import HeuristicError

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``simulate``."""
    parser = subparsers.add_parser(
        "simulate",
        help="compare scheduling policies on a scenario",
        description=(
            "Simulate each policy on SCENARIO for every seed; print mean ± std of the "
            "headline metrics and the compute recovered against --baseline."
        ),
    )
    parser.add_argument(
        "--scenario", required=True, help="e.g. orlib:binpack1, alibaba-gpu-v2023:default"
    )
    parser.add_argument(
        "--policy",
        required=True,
        help="NAME[,NAME...]: registered heuristics, winners or paths to .py files",
    )
    parser.add_argument("--seeds", type=int, default=1, help="run seeds 0..N-1 (default 1)")
    parser.add_argument(
        "--scenario-seed",
        type=int,
        default=0,
        help="seed of the scenario itself (a campaign config's scenario_seed): which node "
        "subset a loaded replay keeps, which instances a generated set draws (default 0)",
    )
    parser.add_argument(
        "--baseline",
        help="policy to state recovered compute against (default best-fit; kube-default "
        "for replay)",
    )
    parser.add_argument(
        "--protocol", choices=("saturate", "replay", "elastic"), help="override the default"
    )
    parser.add_argument("--json", metavar="PATH|-", help="write the results as JSON (- = stdout)")
    parser.add_argument("--out", type=Path, help="directory for results.json, .csv and PNG plots")
    parser.add_argument(
        "--trace-dir", type=Path, help=f"trace directory (default ${TRACE_DIR_ENV})"
    )
    parser.add_argument(
        "--on-error",
        choices=("raise", "count"),
        default="raise",
        help="heuristic errors: stop (raise) or count them and go on",
    )
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a simulator option (simulator.SimulationOptions), repeatable: e.g. "
        "pop_from_backoff=false and queue_order=arrival replay with the queue of campaign "
        "3's eighth attempt instead of kube-scheduler's (a campaign config's "
        "evaluator.simulation)",
    )
    parser.set_defaults(func=_simulate)


def _simulate(args: argparse.Namespace) -> int:
    from simulator.compare import compare
    from simulator.report import format_table, plot_curves, to_json, write_csv

    if args.seeds < 1:
        raise UserError(f"--seeds: expected a positive count, got {args.seeds}")
    if args.scenario_seed < 0:
        raise UserError(f"--scenario-seed: expected 0 or more, got {args.scenario_seed}")
    names = [n.strip() for n in args.policy.split(",") if n.strip()]
    if not names:
        raise UserError("--policy: expected at least one policy name")
    check_outputs(args.json, args.out)
    options = _options(args.option, args.on_error)
    try:
        scenario = load_scenario(
            args.scenario, args.trace_dir, protocol=args.protocol, seed=args.scenario_seed
        )
    except ScenarioError as exc:
        raise UserError(f"--scenario: {exc}") from exc
    protocol = "elastic" if scenario.instances else scenario.replay.protocol
    baseline_name = args.baseline or ("kube-default" if protocol == "replay" else "best-fit")
    policies = resolve_policies(names)
    (baseline,) = resolve_policies([baseline_name], "--baseline")
    quiet = args.json == "-"
    try:
        comparison = compare(
            scenario,
            policies,
            range(args.seeds),
            baseline,
            progress_printer("simulating", quiet=quiet),
            **options,
        )
    except HeuristicError as exc:
        raise UserError(f"simulate {args.scenario}: {exc}") from exc
    document = {**to_json(comparison), "scenario_seed": args.scenario_seed, "options": options}
    emit(document, lambda: format_table(comparison), args.json)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "results.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
        write_csv(comparison, args.out / "results.csv")
        written = plot_curves(comparison, args.out)
        if not quiet:
            print(f"wrote {args.out}/results.json, results.csv and {len(written)} plot(s)")
    return 0


def _options(settings: list[str], on_error: str) -> dict[str, object]:
    """The simulator options of ``--option NAME=VALUE`` settings and ``--on-error``."""
    from simulator import SimulationOptions

    options: dict[str, object] = {"on_heuristic_error": on_error}  # NAME: VALUE, as set
    for text in settings:
        try:
            name, value = SimulationOptions.parse_setting(text)
        except ValueError as exc:
            raise UserError(f"--option {exc}") from None
        if name == "on_heuristic_error":
            raise UserError(f"--option {text!r}: set on_heuristic_error with --on-error")
        options[name] = value
    try:
        SimulationOptions.from_keywords(options)
    except ValueError as exc:
        raise UserError(f"--option: {exc}") from None
    return options
