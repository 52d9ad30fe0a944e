"""``binforge serve``: run the kube-scheduler extender (see docs/extender.md)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from typing import Any

from binforge.errors import UserError

__all__ = ["register"]

# Flags that override config fields: (flag, field, type, help).
_FLAGS: tuple[tuple[str, str, Any, str], ...] = (
    ("--mode", "mode", str, "filter, score or shadow"),
    ("--heuristic", "heuristic", str, "registry name or path of the heuristic to serve"),
    ("--baseline", "baseline", str, "registry name of the fallback heuristic"),
    ("--host", "host", str, "address to listen on"),
    ("--port", "port", int, "port to listen on"),
    ("--kubeconfig", "kubeconfig", str, "kubeconfig file (default: in-cluster config)"),
    ("--log-level", "log_level", str, "debug, info, warning or error"),
    (
        "--record-dir",
        "record_dir",
        str,
        "also record the cluster as a trace in this new directory ({start} and {hostname} "
        "are filled at each start)",
    ),
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve a heuristic as a kube-scheduler extender",
        description="Serve a heuristic as a kube-scheduler extender. Settings come from "
        "--config, then BINFORGE_SERVE_<FIELD> environment variables, then these flags.",
    )
    parser.add_argument("--config", metavar="FILE", help="ExtenderConfig YAML file")
    for flag, name, kind, text in _FLAGS:
        parser.add_argument(flag, dest=name, type=kind, default=None, help=text)
    parser.add_argument(
        "--no-watch",
        dest="watch",
        action="store_const",
        const=False,
        default=None,
        help="take nodes from requests instead of watching the API server",
    )
    parser.set_defaults(func=run)


def _config(args: argparse.Namespace) -> Any:
    from k8s_plugin.config import (
        ConfigError,
        ExtenderConfig,
        build_config,
        env_overrides,
        load_config,
    )

    try:
        config = load_config(args.config) if args.config else ExtenderConfig()
        config = build_config(env_overrides(os.environ), "environment", base=config)
        flags = {name: getattr(args, name) for _, name, _, _ in _FLAGS}
        flags["watch"] = args.watch
        if args.watch is False:
            flags["node_cache_capable"] = False
        flags = {k: v for k, v in flags.items() if v is not None}
        return build_config(flags, "flags", base=config)
    except ConfigError as exc:
        raise UserError(str(exc)) from exc


def run(args: argparse.Namespace) -> int:
    from k8s_plugin.server import JsonFormatter, serve

    config = _config(args)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=config.log_level.upper(), handlers=[handler], force=True)
    try:
        asyncio.run(serve(config))
    except (LookupError, FileNotFoundError, FileExistsError, ValueError) as exc:
        raise UserError(f"start extender: {exc}") from exc
    return 0
