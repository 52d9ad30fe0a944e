"""List-watch of nodes and pods into a :class:`~k8s_plugin.cache.ClusterCache`.

One thread per resource: list (raw JSON, no model deserialisation), then watch from the
list's resourceVersion. A watch that ends normally (server timeout) resumes from the last
version seen; an error (dropped connection, 5xx) restarts the watch after an exponential
backoff; a 410 Gone ("too old resource version") relists at once. Every restart is
reported to ``on_restart(resource, reason)`` so it can be counted.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from kubernetes import client
from kubernetes.client.rest import ApiException
from kubernetes.watch.watch import iter_resp_lines

from k8s_plugin.config import ExtenderConfig

__all__ = ["WatchSink", "Watcher", "api_client"]

log = logging.getLogger("binforge.extender.watch")

RestartHook = Callable[[str, str], None]


class WatchSink(Protocol):
    """What a :class:`Watcher` feeds: the :class:`ClusterCache`, a recorder, or a tee of both."""

    def replace(self, kind: str, items: Iterable[Mapping[str, Any]]) -> None: ...

    def apply_node(self, event: str, node: Mapping[str, Any]) -> None: ...

    def apply_pod(self, event: str, pod: Mapping[str, Any]) -> None: ...


class _Gone(Exception):
    """The watch's resourceVersion is too old: relist."""


def api_client(config: ExtenderConfig) -> client.ApiClient:
    """A Kubernetes API client from ``config.kubeconfig`` (in-cluster config when empty).

    Raises:
        ValueError: when no usable Kubernetes configuration is found.
    """
    from kubernetes import config as kube_config

    configuration = client.Configuration()
    try:
        if config.kubeconfig:
            kube_config.load_kube_config(
                config_file=config.kubeconfig, client_configuration=configuration
            )
        else:
            kube_config.load_incluster_config(client_configuration=configuration)
    except (kube_config.ConfigException, OSError) as exc:
        source = config.kubeconfig or "in-cluster service account"
        raise ValueError(f"load Kubernetes config from {source}: {exc}") from exc
    return client.ApiClient(configuration)


class Watcher:
    """Keeps ``cache`` in sync with the API server until :meth:`stop`."""

    def __init__(
        self,
        api: client.ApiClient,
        cache: WatchSink,
        config: ExtenderConfig,
        on_restart: RestartHook = lambda resource, reason: None,
    ) -> None:
        self._core = client.CoreV1Api(api)
        self._cache = cache
        self._config = config
        self._on_restart = on_restart
        self._stopped = threading.Event()
        self._responses: list[Any] = []
        self._versions: dict[str, str] = {}
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start one daemon thread per resource (nodes, pods)."""
        for resource in ("nodes", "pods"):
            thread = threading.Thread(
                target=self._run, args=(resource,), name=f"watch-{resource}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop watching and wait (up to ``timeout_s``) for the threads to end."""
        self._stopped.set()
        for response in list(self._responses):
            # Unblock a thread waiting in a read of an idle watch.
            with contextlib.suppress(Exception):
                response.connection.sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout_s)

    def _list_function(self, resource: str) -> Callable[..., Any]:
        if resource == "nodes":
            return self._core.list_node
        return self._core.list_pod_for_all_namespaces

    def _list(self, resource: str) -> str:
        response = self._list_function(resource)(_preload_content=False)
        try:
            document = json.loads(response.data)
        finally:
            response.release_conn()
        items = document.get("items") or []
        self._cache.replace(resource, items)
        version = str((document.get("metadata") or {}).get("resourceVersion") or "")
        log.info("listed %s: %d objects at resourceVersion %s", resource, len(items), version)
        return version

    def _watch(self, resource: str, version: str) -> None:
        """Apply watch events from ``version`` until the server ends the watch.

        The response is read line by line as raw JSON (the client's ``Watch`` helper would
        build a model object per event, which costs more than the event itself).
        """
        response = self._list_function(resource)(
            watch=True,
            resource_version=version,
            timeout_seconds=self._config.watch_timeout_s,
            allow_watch_bookmarks=True,
            _preload_content=False,
        )
        self._responses.append(response)
        apply = self._cache.apply_node if resource == "nodes" else self._cache.apply_pod
        try:
            for line in iter_resp_lines(response):
                if self._stopped.is_set():
                    break
                if not line.strip():
                    continue
                event = json.loads(line)
                kind = event.get("type")
                obj = event.get("object") or {}
                if kind == "ERROR":
                    if obj.get("code") == 410:
                        raise _Gone(str(obj.get("message", "")))
                    raise ApiException(status=obj.get("code"), reason=obj.get("message"))
                if kind in ("ADDED", "MODIFIED", "DELETED"):
                    apply(kind, obj)
                new_version = (obj.get("metadata") or {}).get("resourceVersion")
                if new_version:
                    self._versions[resource] = str(new_version)
        finally:
            self._responses.remove(response)
            response.release_conn()

    def _run(self, resource: str) -> None:
        backoff = self._config.watch_backoff_initial_s
        while not self._stopped.is_set():
            version = self._versions.get(resource, "")
            try:
                if not version:
                    self._versions[resource] = self._list(resource)
                self._watch(resource, self._versions[resource])
                backoff = self._config.watch_backoff_initial_s
            except _Gone as exc:
                log.info("watch %s: resourceVersion %s gone (%s): relist", resource, version, exc)
                self._on_restart(resource, "gone")
                self._versions[resource] = ""
            except Exception as exc:
                if self._stopped.is_set():
                    break
                log.warning("watch %s: %s: restart in %.1f s", resource, exc, backoff)
                self._on_restart(resource, "error")
                self._stopped.wait(backoff)
                backoff = min(backoff * 2, self._config.watch_backoff_max_s)
