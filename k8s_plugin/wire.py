"""The kube-scheduler extender v1 wire format: lenient decoding, strict encoding.

The upstream Go types (k8s.io/kube-scheduler/extender/v1) carry no json tags, so the
keys are the Go field names: ``ExtenderArgs {Pod, Nodes, NodeNames}``,
``ExtenderFilterResult {Nodes, NodeNames, FailedNodes, FailedAndUnresolvableNodes,
Error}`` and ``HostPriorityList [{Host, Score}]`` with integer scores 0..10. Go decodes
keys case-insensitively, so we accept any case for these top-level keys; we always send
the exact Go names, every field present, integer scores, and never a filter reply with
both ``Nodes`` and ``NodeNames`` null (kube-scheduler would reject every node).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from cluster_traces.model import IntArray

__all__ = [
    "MAX_EXTENDER_PRIORITY",
    "ExtenderArgs",
    "PriorityEncoder",
    "WireError",
    "decode_args",
    "encode",
    "filter_result",
    "host_priority_list",
    "resolve",
]

MAX_EXTENDER_PRIORITY = 10
"""Highest score an extender may return (upstream ``MaxExtenderPriority``)."""


class WireError(ValueError):
    """A request body that is not a valid ``ExtenderArgs``; the message names the field."""


@dataclass(frozen=True)
class ExtenderArgs:
    """A decoded request.

    Attributes:
        pod: the Pod object being scheduled (camelCase JSON, as sent).
        node_names: the candidate node names, in request order.
        nodes: the full Node objects when the request carried ``Nodes`` (else None).
        positions: when :func:`decode_args` was given a node index: each name's index
            in it, -1 for a name it does not hold (else None).
        unknown: with ``positions``, the names the index does not hold, in order.
    """

    pod: Mapping[str, Any]
    node_names: tuple[str, ...]
    nodes: tuple[Mapping[str, Any], ...] | None
    positions: IntArray | None = field(default=None, compare=False)
    unknown: tuple[str, ...] = field(default=(), compare=False)

    @functools.cached_property
    def name_set(self) -> frozenset[str]:
        """``node_names`` as a set, for membership checks."""
        return frozenset(self.node_names)


def _folded(document: Mapping[str, Any], path: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in document.items():
        lowered = key.lower()
        if lowered in out:
            raise WireError(f"{path}: duplicate key {key!r} (keys match case-insensitively)")
        out[lowered] = value
    return out


def decode_args(
    body: bytes, max_nodes: int, index: Mapping[str, int] | None = None
) -> ExtenderArgs:
    """Decode an ``ExtenderArgs`` JSON body. With ``index`` (node name to position, the
    node cache's), the names are also looked up there, in the same pass that proves them
    unique (every name of a large cluster is hashed once per request, not twice).

    Raises:
        WireError: on malformed JSON, wrong types, a missing pod, no node list, duplicate or
            empty node names, or more than ``max_nodes`` nodes.
    """
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise WireError(f"request body: expected JSON, got {str(exc)[:200]}") from exc
    if not isinstance(document, dict):
        raise WireError(
            f"request body: expected an ExtenderArgs object, got {type(document).__name__}"
        )
    fields = _folded(document, "ExtenderArgs")
    pod = fields.get("pod")
    if not isinstance(pod, dict):
        raise WireError(f"Pod: expected a Pod object, got {type(pod).__name__}")
    raw_nodes = fields.get("nodes")
    raw_names = fields.get("nodenames")
    nodes: tuple[Mapping[str, Any], ...] | None = None
    if raw_names is not None:
        if not isinstance(raw_names, list):
            raise WireError(
                f"NodeNames: expected a list of strings, got {type(raw_names).__name__}"
            )
        if len(raw_names) > max_nodes:
            raise WireError(f"NodeNames: {len(raw_names)} names, at most {max_nodes} accepted")
        # Checked in bulk (C loops): a request names every node of a large cluster.
        if not _all_strings(raw_names) or "" in raw_names:
            i = next(i for i, n in enumerate(raw_names) if not isinstance(n, str) or not n)
            raise WireError(f"NodeNames[{i}]: expected a non-empty string, got {raw_names[i]!r}")
        names = tuple(raw_names)
    elif raw_nodes is not None:
        nodes = _node_items(raw_nodes, max_nodes)
        names = tuple(node["metadata"]["name"] for node in nodes)
    else:
        raise WireError("ExtenderArgs: expected Nodes or NodeNames, both are null or missing")
    if index is None:
        args = ExtenderArgs(pod=pod, node_names=names, nodes=nodes)
        unique = len(args.name_set) == len(names)
    else:
        positions, unknown = resolve(names, index)
        args = ExtenderArgs(pod, names, nodes, positions, unknown)
        known = positions[positions >= 0] if unknown else positions
        unique = len(set(unknown)) == len(unknown) and (
            len(known) == 0 or int(np.bincount(known).max()) == 1
        )
    if not unique:
        raise WireError("NodeNames: expected unique node names, got duplicates")
    return args


def resolve(names: Sequence[str], index: Mapping[str, int]) -> tuple[IntArray, tuple[str, ...]]:
    """Each name's position in ``index`` (-1 when it holds none), and those names."""
    lookup = map(index.get, names, itertools.repeat(-1))
    positions = np.fromiter(lookup, dtype=np.int64, count=len(names))
    missing = positions < 0
    if not missing.any():
        return positions, ()
    return positions, tuple(itertools.compress(names, missing.tolist()))


def _all_strings(values: list[Any]) -> bool:
    try:
        "".join(values)  # one C loop, raising at the first value that is not a str
    except TypeError:
        return False
    return True


def _node_items(raw: Any, max_nodes: int) -> tuple[Mapping[str, Any], ...]:
    if not isinstance(raw, dict):
        raise WireError(f"Nodes: expected a NodeList object, got {type(raw).__name__}")
    items = raw.get("items")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise WireError(f"Nodes.items: expected a list, got {type(items).__name__}")
    if len(items) > max_nodes:
        raise WireError(f"Nodes.items: {len(items)} nodes, at most {max_nodes} accepted")
    for i, node in enumerate(items):
        metadata = node.get("metadata") if isinstance(node, dict) else None
        name = metadata.get("name") if isinstance(metadata, dict) else None
        if not isinstance(name, str) or not name:
            raise WireError(f"Nodes.items[{i}].metadata.name: expected a non-empty string")
    return tuple(items)


def filter_result(
    args: ExtenderArgs,
    passing: Sequence[str],
    failed: Mapping[str, str],
    error: str = "",
) -> dict[str, Any]:
    """An ``ExtenderFilterResult`` in the same form as the request (names or full nodes).

    ``passing`` must be a subset of the request's names, in request order.

    Raises:
        ValueError: when ``passing`` names a node that is not in the request (our bug).
    """
    keep = set(passing)
    if len(keep) <= 8:  # filter mode's usual answer, one node: no set of every name
        unknown = {name for name in keep if name not in args.node_names}
    else:
        unknown = keep - args.name_set
    if unknown:
        raise ValueError(f"filter result names nodes not in the request: {sorted(unknown)[:5]}")
    nodes: dict[str, Any] | None = None
    node_names: list[str] | None = None
    if args.nodes is not None:
        items = [node for node in args.nodes if node["metadata"]["name"] in keep]
        nodes = {"metadata": {}, "items": items}
    else:
        node_names = list(passing)
    return {
        "Nodes": nodes,
        "NodeNames": node_names,
        "FailedNodes": dict(failed),
        "FailedAndUnresolvableNodes": {},
        "Error": error,
    }


def host_priority_list(
    args: ExtenderArgs, scores: Sequence[int] | None = None
) -> list[dict[str, Any]]:
    """A ``HostPriorityList``: every requested node once, in request order, with the
    score at the same position of ``scores`` (all 0 when None), as JSON integers 0..10.

    Raises:
        ValueError: when the scores do not match the request or leave 0..10 (our bug).
    """
    if scores is None:
        scores = [0] * len(args.node_names)
    if len(scores) != len(args.node_names):
        raise ValueError(f"scores: expected {len(args.node_names)}, got {len(scores)}")
    values = list(scores)
    if set(map(type, values)) - {int}:
        values = [int(score) for score in values]
    if values and not 0 <= min(values) <= max(values) <= MAX_EXTENDER_PRIORITY:
        raise ValueError(f"scores: expected integers 0..10, got {min(values)}..{max(values)}")
    return [
        {"Host": name, "Score": score} for name, score in zip(args.node_names, values, strict=True)
    ]


class PriorityEncoder:
    """``HostPriorityList`` bytes for requests that name nodes of a known list.

    A prioritize reply names every requested node: at 5,000 nodes, building the list of
    dicts and encoding it took longer than deciding (docs/performance.md, "Extender").
    Every node's entry is encoded once per possible score (0..10); a reply is then one
    fancy index into that table and one join. Entries are kept by node name, so a new
    node list (a node added or removed) costs one pass of pointer copies.
    """

    def __init__(self) -> None:
        self._entries: dict[str, list[bytes]] = {}
        self._names: object = None
        self._table = np.empty((0, MAX_EXTENDER_PRIORITY + 1), dtype=object)

    def _rows(self, name: str) -> list[bytes]:
        rows = self._entries.get(name)
        if rows is None:
            head = b'{"Host":' + orjson.dumps(name) + b',"Score":'
            rows = [head + b"%d}" % score for score in range(MAX_EXTENDER_PRIORITY + 1)]
            self._entries[name] = rows
        return rows

    def _table_for(self, names: Sequence[str] | np.ndarray) -> np.ndarray:
        if names is not self._names:
            listed = [str(name) for name in names]
            table = np.empty((len(listed), MAX_EXTENDER_PRIORITY + 1), dtype=object)
            if listed:
                table[:] = [self._rows(name) for name in listed]
            for gone in self._entries.keys() - set(listed):
                del self._entries[gone]
            self._names, self._table = names, table
        return self._table

    def encode(
        self, names: Sequence[str] | np.ndarray, positions: IntArray, scores: IntArray
    ) -> bytes:
        """The list for the nodes ``names[positions]`` in that order, with ``scores``.

        ``names`` is the known node list (the same object while it is unchanged).

        Raises:
            ValueError: when a position is outside ``names`` or a score outside 0..10
                (our bug).
        """
        table = self._table_for(names)
        if len(positions) != len(scores):
            raise ValueError(f"scores: expected {len(positions)}, got {len(scores)}")
        if len(positions) == 0:
            return b"[]"
        if not 0 <= int(positions.min()) <= int(positions.max()) < len(table):
            raise ValueError(f"positions: expected 0..{len(table) - 1}")
        if not 0 <= int(scores.min()) <= int(scores.max()) <= MAX_EXTENDER_PRIORITY:
            raise ValueError(f"scores: expected integers 0..10, got {scores.min()}..{scores.max()}")
        return b"[" + b",".join(table[positions, scores].tolist()) + b"]"


def encode(document: Any) -> bytes:
    """Compact JSON bytes of a reply.

    orjson rather than the standard library: a reply names up to every node of the
    cluster, and encoding 5,000 entries took several milliseconds with ``json``
    (docs/performance.md, "Extender").
    """
    return orjson.dumps(document)
