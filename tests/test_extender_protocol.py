"""The extender speaks kube-scheduler's extender v1 wire format exactly: replies match
golden JSON written from the upstream Go types (k8s.io/kube-scheduler/extender/v1,
types.go), for both nodeCacheCapable settings and all three modes.

Set BINFORGE_UPDATE_GOLDEN=1 to rewrite the golden files after a deliberate change.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import pytest
from extender_cluster import GOLDEN, HEURISTIC, args, dumps, extender, pending_pod
from hypothesis import given, settings
from hypothesis import strategies as st

from k8s_plugin.config import ExtenderConfig
from k8s_plugin.wire import (
    MAX_EXTENDER_PRIORITY,
    PriorityEncoder,
    decode_args,
    encode,
    host_priority_list,
)

# Field names of the upstream Go structs (no json tags, so these are the JSON keys).
EXTENDER_ARGS_FIELDS = {"Pod", "Nodes", "NodeNames"}
FILTER_RESULT_FIELDS = {"Nodes", "NodeNames", "FailedNodes", "FailedAndUnresolvableNodes", "Error"}
HOST_PRIORITY_FIELDS = {"Host", "Score"}

CANDIDATES = ["a", "b", "c", "d", "unknown-node"]
CASES = [(mode, nodes) for mode in ("filter", "score", "shadow") for nodes in ("names", "nodes")]


def _config(mode: str, nodes: str) -> ExtenderConfig:
    if nodes == "names":
        return ExtenderConfig(mode=mode, heuristic=HEURISTIC, baseline="first-fit")  # type: ignore[arg-type]
    return ExtenderConfig(
        mode=mode,  # type: ignore[arg-type]
        heuristic=HEURISTIC,
        baseline="first-fit",
        node_cache_capable=False,
        watch=False,
    )


def _request(nodes: str) -> dict[str, Any]:
    names = CANDIDATES if nodes == "names" else CANDIDATES[:4]
    return args(pending_pod(), names, full_nodes=nodes == "nodes")


def _golden(name: str, document: Any) -> Any:
    path = GOLDEN / name
    if os.environ.get("BINFORGE_UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return json.loads(path.read_text())


@pytest.mark.parametrize(("mode", "nodes"), CASES)
def test_replies_match_the_golden_files(mode: str, nodes: str) -> None:
    request = _golden(f"args_{nodes}.json", _request(nodes))
    assert set(request) == EXTENDER_ARGS_FIELDS
    ext = extender(_config(mode, nodes))
    filtered = ext.filter(dumps(request))
    prioritized = ext.prioritize(dumps(request))
    assert (filtered.status, prioritized.status) == (200, 200)
    assert filtered.document == _golden(f"{mode}_{nodes}_filter.json", filtered.document)
    assert prioritized.document == _golden(f"{mode}_{nodes}_prioritize.json", prioritized.document)


@pytest.mark.parametrize(("mode", "nodes"), CASES)
def test_golden_replies_have_exactly_the_upstream_fields(mode: str, nodes: str) -> None:
    request_names = {
        (n if isinstance(n, str) else n["metadata"]["name"])
        for n in (_request(nodes)["NodeNames"] or _request(nodes)["Nodes"]["items"])
    }
    filtered = json.loads((GOLDEN / f"{mode}_{nodes}_filter.json").read_text())
    assert set(filtered) == FILTER_RESULT_FIELDS
    # Never both null (kube-scheduler would reject every node), same form as the request.
    assert (filtered["Nodes"] is None) != (filtered["NodeNames"] is None)
    assert (filtered["NodeNames"] is None) == (nodes == "nodes")
    passing = filtered["NodeNames"] or [n["metadata"]["name"] for n in filtered["Nodes"]["items"]]
    assert set(passing) <= request_names
    assert set(filtered["FailedNodes"]) <= request_names
    assert isinstance(filtered["Error"], str)
    prioritized = json.loads((GOLDEN / f"{mode}_{nodes}_prioritize.json").read_text())
    assert [p["Host"] for p in prioritized] == [
        n
        for n in (
            _request(nodes)["NodeNames"]
            or [i["metadata"]["name"] for i in _request(nodes)["Nodes"]["items"]]
        )
    ]
    for entry in prioritized:
        assert set(entry) == HOST_PRIORITY_FIELDS
        assert type(entry["Score"]) is int
        assert 0 <= entry["Score"] <= MAX_EXTENDER_PRIORITY


def test_filter_mode_passes_exactly_the_heuristics_node() -> None:
    reply = json.loads((GOLDEN / "filter_names_filter.json").read_text())
    assert len(reply["NodeNames"]) == 1
    assert reply["FailedNodes"]["unknown-node"].startswith("binforge: unknown node")


def test_shadow_mode_changes_nothing() -> None:
    filtered = json.loads((GOLDEN / "shadow_names_filter.json").read_text())
    assert filtered["NodeNames"] == CANDIDATES
    assert filtered["FailedNodes"] == {}
    prioritized = json.loads((GOLDEN / "shadow_names_prioritize.json").read_text())
    assert {p["Score"] for p in prioritized} == {0}


def test_top_level_keys_are_accepted_in_any_case() -> None:
    ext = extender(_config("score", "names"))
    request = {"pod": pending_pod(), "NODENAMES": ["a", "b"]}
    reply = ext.filter(dumps(request))
    assert reply.status == 200
    assert set(reply.document["NodeNames"]) <= {"a", "b"}


def test_score_mode_runs_the_heuristic_in_prioritize_only() -> None:
    # In score mode filter's answer is every feasible node: scoring there would be wasted.
    ext = extender(_config("score", "names"))
    calls: list[object] = []
    run = ext.runner.run

    def counting_run(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0])
        return run(*args, **kwargs)

    ext.runner.run = counting_run  # type: ignore[method-assign]
    request = dumps(_request("names"))
    filtered = ext.filter(request)
    assert filtered.status == 200
    assert set(filtered.document["NodeNames"]) == {"a", "b", "c", "d"} - set(
        filtered.document["FailedNodes"]
    )
    assert calls == []
    assert ext.prioritize(request).status == 200
    assert len(calls) == 2  # the baseline (for the counterfactual) and the heuristic


_NODE_NAME = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12
)


@settings(max_examples=200, deadline=None)
@given(
    names=st.lists(_NODE_NAME, min_size=1, max_size=30, unique=True),
    data=st.data(),
)
def test_priority_lists_encoded_from_the_table_read_like_the_generic_encoding(
    names: list[str], data: st.DataObject
) -> None:
    order = data.draw(st.permutations(range(len(names))))
    scores = data.draw(st.lists(st.integers(0, 10), min_size=len(names), max_size=len(names)))
    request = decode_args(dumps({"Pod": {}, "NodeNames": [names[i] for i in order]}), 100)
    encoder = PriorityEncoder()
    body = encoder.encode(names, np.array(order), np.array(scores))
    assert json.loads(body) == host_priority_list(request, scores)
    assert body == encode(host_priority_list(request, scores))


def test_the_priority_table_follows_a_new_node_list_and_rejects_what_it_cannot_encode() -> None:
    encoder = PriorityEncoder()
    first = np.array(["a", "b"])
    assert json.loads(encoder.encode(first, np.array([1, 0]), np.array([3, 10]))) == [
        {"Host": "b", "Score": 3},
        {"Host": "a", "Score": 10},
    ]
    second = np.array(["a", "c", "d"])  # b removed, c and d added: a new list object
    assert json.loads(encoder.encode(second, np.array([2]), np.array([0]))) == [
        {"Host": "d", "Score": 0}
    ]
    assert encoder.encode(second, np.array([], dtype=np.int64), np.array([])) == b"[]"
    with pytest.raises(ValueError, match="scores"):
        encoder.encode(second, np.array([0]), np.array([11]))
    with pytest.raises(ValueError, match="positions"):
        encoder.encode(second, np.array([3]), np.array([1]))
    with pytest.raises(ValueError, match="scores"):
        encoder.encode(second, np.array([0, 1]), np.array([1]))
