"""Fuzzing the real extender app over HTTP on 127.0.0.1 with hypothesis: whatever the
body, the reply is a 4xx with an error body or a well-formed extender reply; never a 5xx,
never a crash. Each test prints how many inputs it tried (run with -s to see)."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from extender_cluster import extender
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from k8s_plugin.config import ExtenderConfig
from k8s_plugin.server import build_app

EXAMPLES = 300
FILTER_FIELDS = {"Nodes", "NodeNames", "FailedNodes", "FailedAndUnresolvableNodes", "Error"}


@contextlib.contextmanager
def _serving(mode: str) -> Iterator[int]:
    """The real app on 127.0.0.1 in a background event loop; yields the port."""
    config = ExtenderConfig(
        mode=mode, heuristic="fgd", baseline="best-fit", max_request_bytes=65536
    )  # type: ignore[arg-type]
    registry = CollectorRegistry()
    app = build_app(extender(config, registry), registry)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def _post(port: int, path: str, body: bytes) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def _names(document: Any) -> list[str] | None:
    """The node names an ExtenderArgs-like document carries, when it is decodable."""
    if not isinstance(document, dict):
        return None
    lowered = {k.lower(): v for k, v in document.items()}
    names = lowered.get("nodenames")
    if isinstance(names, list) and all(isinstance(n, str) for n in names):
        return names
    return None


def _check(status: int, reply: Any, verb: str, request: Any) -> None:
    assert status < 500, reply
    if status != 200:
        assert 400 <= status < 500
        assert isinstance(reply.get("Error"), str) and reply["Error"]
        return
    names = _names(request)
    if verb == "filter":
        assert set(reply) == FILTER_FIELDS
        assert (reply["Nodes"] is None) != (reply["NodeNames"] is None)
        if names is not None and reply["NodeNames"] is not None:
            assert set(reply["NodeNames"]) <= set(names)
            assert set(reply["FailedNodes"]) <= set(names)
    else:
        assert isinstance(reply, list)
        for entry in reply:
            assert set(entry) == {"Host", "Score"}
            assert type(entry["Score"]) is int and 0 <= entry["Score"] <= 10
        if names is not None:
            assert [entry["Host"] for entry in reply] == names


_quantity = st.one_of(
    st.sampled_from(
        ["500m", "2", "1Gi", "512Mi", "1G", "1e9", "0", "1e400", "-1", "abc", "1E3", ".5", "9" * 70]
    ),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(),
    st.text(max_size=12),
)
_resources = st.dictionaries(
    st.sampled_from(["cpu", "memory", "nvidia.com/gpu", "example.com/x", "CPU"]),
    _quantity,
    max_size=4,
)
_container = st.fixed_dictionaries(
    {"name": st.text(max_size=5)},
    optional={
        "resources": st.one_of(
            st.fixed_dictionaries({}, optional={"requests": _resources}), st.integers()
        ),
        "restartPolicy": st.sampled_from(["Always", "Never", 3]),
    },
)
_pod = st.fixed_dictionaries(
    {
        "metadata": st.fixed_dictionaries(
            {"name": st.text(max_size=8)},
            optional={
                "annotations": st.dictionaries(
                    st.sampled_from(["binforge.dev/gpu-milli", "binforge.dev/gpu-models", "x"]),
                    st.one_of(st.text(max_size=6), st.integers()),
                    max_size=2,
                )
            },
        ),
        "spec": st.fixed_dictionaries(
            {"containers": st.lists(_container, max_size=3)},
            optional={
                "initContainers": st.lists(_container, max_size=2),
                "overhead": _resources,
                "priority": st.one_of(st.integers(), st.text(max_size=3)),
            },
        ),
    }
)
_node_names = st.lists(st.sampled_from(["a", "b", "c", "d", "zz", "", "a "]), max_size=6)
_args = st.builds(
    lambda pod, names, pod_key, names_key: {pod_key: pod, names_key: names},
    _pod,
    _node_names,
    st.sampled_from(["Pod", "pod", "POD"]),
    st.sampled_from(["NodeNames", "nodenames", "Nodes"]),
)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)

_SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["filter", "score", "shadow"])
def test_structured_extender_args_never_cause_a_5xx(mode: str) -> None:
    tried = 0
    with _serving(mode) as port:

        @_SETTINGS
        @given(request=_args, verb=st.sampled_from(["filter", "prioritize"]))
        def run(request: dict[str, Any], verb: str) -> None:
            nonlocal tried
            tried += 1
            status, reply = _post(port, f"/{verb}", json.dumps(request).encode())
            _check(status, reply, verb, request)

        run()
    print(f"fuzz extender args ({mode}): {tried} inputs")
    assert tried >= EXAMPLES // 2


@pytest.mark.slow
def test_arbitrary_json_and_bytes_never_cause_a_5xx() -> None:
    tried = 0
    with _serving("filter") as port:

        @_SETTINGS
        @given(body=st.one_of(_json.map(lambda d: json.dumps(d).encode()), st.binary(max_size=200)))
        def run(body: bytes) -> None:
            nonlocal tried
            tried += 1
            for verb in ("filter", "prioritize"):
                status, reply = _post(port, f"/{verb}", body)
                try:
                    request = json.loads(body)
                except ValueError:
                    request = None
                _check(status, reply, verb, request)

        run()
    print(f"fuzz arbitrary bodies: {tried} inputs (x2 verbs)")
    assert tried >= EXAMPLES // 2
