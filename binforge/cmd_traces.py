"""``binforge traces list | info | fetch | record``: the known trace sets, their contents,
downloads, and recordings of live clusters (docs/recording.md)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from binforge.errors import UserError
from cluster_traces.catalog import CATALOG, trace_set
from cluster_traces.fetch import FetchError, fetch_set
from cluster_traces.scenarios import TRACE_DIR_ENV, load_trace, resolve_trace_dir
from cluster_traces.summary import describe

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``traces`` and its subcommands."""
    parser = subparsers.add_parser("traces", help="list, inspect and fetch the public traces")
    commands = parser.add_subparsers(dest="traces_command", required=True, metavar="ACTION")

    listing = commands.add_parser("list", help=f"every known set, present under ${TRACE_DIR_ENV}?")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=_list)

    info = commands.add_parser("info", help="counts, totals, arrival span and top pod shapes")
    info.add_argument("name", help="NAME[:VARIANT], e.g. alibaba-gpu-v2023:default")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.add_argument("--trace-dir", type=Path, help=f"trace directory (default ${TRACE_DIR_ENV})")
    info.set_defaults(func=_info)

    fetch = commands.add_parser("fetch", help="download a set's files and verify them")
    fetch.add_argument("name", help="set name, e.g. alibaba-gpu-v2023")
    fetch.add_argument("--dest", type=Path, help=f"trace directory (default ${TRACE_DIR_ENV})")
    fetch.add_argument("--base-url", help="fetch BASE/<folder>/<file> instead of upstream URLs")
    fetch.add_argument("--timeout", type=float, default=30.0, help="seconds per download")
    fetch.set_defaults(func=_fetch)

    record = commands.add_parser(
        "record", help="record a live cluster's nodes and pods as a trace (list/watch only)"
    )
    record.add_argument("--out", type=Path, required=True, help="new recording directory")
    record.add_argument("--kubeconfig", default="", help="kubeconfig (default: in-cluster)")
    record.add_argument("--namespace", default="", help="record only this namespace's pods")
    record.add_argument("--duration", type=float, help="seconds to record (default: until ^C)")
    record.add_argument("--cluster", default="", help="cluster name written to meta.json")
    record.add_argument(
        "--config", help="ExtenderConfig file for resource names, GPU annotations and labels"
    )
    record.set_defaults(func=_record)


def _list(args: argparse.Namespace) -> int:
    root = resolve_trace_dir()
    rows = [
        {
            "name": entry.name,
            "present": entry.present(root),
            "variants": list(entry.variants),
            "description": entry.description,
            "licence": entry.licence,
            "citation": entry.citation,
        }
        for entry in CATALOG
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"trace directory: {root if root else f'(unset: ${TRACE_DIR_ENV})'}")
    for row in rows:
        mark = "present" if row["present"] else "missing"
        print(f"{row['name']:<24} {mark:<8} {row['description']}")
        print(f"{'':<24} licence: {row['licence']}")
        print(f"{'':<24} cite: {row['citation']}")
    return 0


def _info(args: argparse.Namespace) -> int:
    summary = describe(load_trace(args.name, args.trace_dir))  # ScenarioError: exit 2
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_tree(summary)
    return 0


def _fetch(args: argparse.Namespace) -> int:
    try:
        entry = trace_set(args.name)
    except KeyError as exc:
        raise UserError(str(exc.args[0])) from exc
    if args.timeout <= 0:
        raise UserError(f"--timeout: expected seconds > 0, got {args.timeout:g}")
    dest = args.dest or resolve_trace_dir()
    if dest is None:
        raise UserError(f"no destination: pass --dest DIR or set {TRACE_DIR_ENV}")
    if dest.exists() and not dest.is_dir():
        given = "--dest" if args.dest else f"${TRACE_DIR_ENV}"
        raise UserError(f"{given} {dest}: is a file; expected a directory")
    try:
        result = fetch_set(entry, dest, base_url=args.base_url, timeout_s=args.timeout)
    except (FetchError, ValueError) as exc:
        raise UserError(str(exc)) from exc
    for path in result.written:
        print(f"verified {path}")
    for name in result.manual:
        print(f"not downloadable, copy by hand from {entry.source}: {entry.folder}/{name}")
    return 0


def _print_tree(value: Any, indent: str = "") -> None:
    for key, item in value.items():
        if isinstance(item, dict):
            print(f"{indent}{key}:")
            _print_tree(item, indent + "  ")
        elif isinstance(item, list) and item and isinstance(item[0], dict):
            print(f"{indent}{key}:")
            for entry in item:
                print(f"{indent}  - " + ", ".join(f"{k}={v}" for k, v in entry.items()))
        else:
            print(f"{indent}{key}: {item}")


def _record(args: argparse.Namespace) -> int:
    import signal
    import threading

    from k8s_plugin.config import ConfigError, ExtenderConfig, build_config, load_config
    from k8s_plugin.recorder import record

    if args.duration is not None and not args.duration > 0:
        raise UserError(f"--duration: expected a positive number of seconds, got {args.duration}")
    try:
        base = load_config(args.config) if args.config else ExtenderConfig()
        config = build_config({"kubeconfig": args.kubeconfig or base.kubeconfig}, "flags", base)
    except ConfigError as exc:
        raise UserError(str(exc)) from exc
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stats = record(
            config,
            args.out,
            namespace=args.namespace,
            cluster=args.cluster,
            duration_s=args.duration,
            stop=stop,
        )
    except (FileExistsError, ValueError) as exc:
        raise UserError(f"record to {args.out}: {exc}") from exc
    print(
        f"recorded {args.out}: {stats.created} pods created, {stats.bound} bound, "
        f"{stats.deleted} ended, {stats.node_lines} node lines, "
        f"{stats.watch_restarts} watch restarts, {stats.duplicates_dropped} duplicates dropped, "
        f"{stats.rejected_objects} unreadable objects"
    )
    return 0
