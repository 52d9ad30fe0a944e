"""A real Kubernetes control plane on loopback ports: etcd, kube-apiserver, kube-scheduler.

No kubelet and no controller manager run (as in envtest and kwok): nodes are plain API
objects and a pod is "placed" when kube-scheduler binds it (``spec.nodeName``). Every
process runs in its own process group and is stopped by :meth:`ControlPlane.stop`, by a
failed start, or at interpreter exit.

Typical use::

    plane = ControlPlane.start(binaries, workdir)
    try:
        plane.create_nodes(cluster)
        plane.start_scheduler(render_scheduler_config(kubeconfig=...))
        ...
    finally:
        plane.stop()
"""

from __future__ import annotations

import json
import ssl
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from cluster_traces.model import Cluster

from .binaries import Binaries
from .manifests import node_manifests
from .pki import ClientCredentials, Pki, generate_pki
from .processes import ManagedProcess, free_port, wait_until
from .scheduler_config import scheduler_config_yaml

__all__ = ["ControlPlane"]

_STARTUP_TIMEOUT_S = 180.0
_SERVICE_CIDR = "10.0.0.0/24"


def _get(url: str, context: ssl.SSLContext | None = None, timeout_s: float = 2.0) -> str:
    with urllib.request.urlopen(url, context=context, timeout=timeout_s) as response:
        return str(response.read().decode())


def _unverified() -> ssl.SSLContext:
    """A TLS context for kube-scheduler's self-signed serving certificate."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _gates(gates: dict[str, bool]) -> str:
    return ",".join(f"{name}={str(on).lower()}" for name, on in sorted(gates.items()))


def _write_kubeconfig(path: Path, server: str, ca_file: Path, user: ClientCredentials) -> Path:
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "e2e", "cluster": {"server": server, "certificate-authority": str(ca_file)}}
        ],
        "users": [
            {
                "name": user.user,
                "user": {
                    "client-certificate": str(user.cert_file),
                    "client-key": str(user.key_file),
                },
            }
        ],
        "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": user.user}}],
        "current-context": "e2e",
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


class ControlPlane:
    """etcd and kube-apiserver, plus at most one kube-scheduler at a time.

    Attributes:
        server: the API server's URL (``https://127.0.0.1:<port>``).
        admin_kubeconfig: a kubeconfig for ``system:masters`` (the tests' identity).
        scheduler_kubeconfig: a kubeconfig for the ``system:kube-scheduler`` user.
        core: a CoreV1Api client authenticated as admin.
        scheduler: the running kube-scheduler, or None.
    """

    def __init__(self, binaries: Binaries, workdir: Path) -> None:
        missing = [m for m in binaries.missing if m != "prometheus"]
        if missing:
            raise FileNotFoundError(f"control plane: missing binaries {missing} (make e2e-deps)")
        self._binaries = binaries
        self.workdir = workdir
        self._processes: list[ManagedProcess] = []
        self.scheduler: ManagedProcess | None = None
        self.scheduler_metrics_url = ""
        self.etcd_url = ""
        self._scheduler_count = 0
        self._apiserver_count = 0
        self.pki: Pki = generate_pki(workdir / "pki")
        self.apiserver_port = free_port()
        self.server = f"https://127.0.0.1:{self.apiserver_port}"
        self.admin_kubeconfig = _write_kubeconfig(
            workdir / "admin.kubeconfig", self.server, self.pki.ca_file, self.pki.admin
        )
        self.scheduler_kubeconfig = _write_kubeconfig(
            workdir / "scheduler.kubeconfig", self.server, self.pki.ca_file, self.pki.scheduler
        )
        self._tls = ssl.create_default_context(cafile=str(self.pki.ca_file))
        self._tls.load_cert_chain(str(self.pki.admin.cert_file), str(self.pki.admin.key_file))
        self.api_client: k8s.ApiClient | None = None

    @classmethod
    def start(cls, binaries: Binaries, workdir: Path) -> ControlPlane:
        """Start etcd and kube-apiserver and wait until the API server is ready.

        Raises StartupError or TimeoutError (with the failing process's log) and stops
        whatever it had started.
        """
        plane = cls(binaries, workdir)
        try:
            plane._start_etcd()
            plane._start_apiserver()
        except BaseException:
            plane.stop()
            raise
        return plane

    @property
    def processes(self) -> list[ManagedProcess]:
        """Every process started so far, stopped ones included."""
        return list(self._processes)

    @property
    def core(self) -> k8s.CoreV1Api:
        assert self.api_client is not None, "control plane not started"
        return k8s.CoreV1Api(self.api_client)

    def _spawn(self, name: str, argv: list[str]) -> ManagedProcess:
        process = ManagedProcess(name, argv, self.workdir / "logs" / f"{name}.log")
        self._processes.append(process)
        return process

    def _start_etcd(self) -> None:
        assert self._binaries.etcd is not None
        client_url = f"http://127.0.0.1:{free_port()}"
        peer_url = f"http://127.0.0.1:{free_port()}"
        self.etcd_url = client_url
        etcd = self._spawn(
            "etcd",
            [
                str(self._binaries.etcd),
                "--name=e2e",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={client_url}",
                f"--advertise-client-urls={client_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=e2e={peer_url}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )
        wait_until(
            "etcd /health",
            lambda: True if json.loads(_get(f"{client_url}/health"))["health"] == "true" else None,
            _STARTUP_TIMEOUT_S,
            alive=etcd,
        )

    def restart_apiserver(self) -> None:
        """Stop kube-apiserver and start it again on the same port and etcd: every client's
        watch connection breaks, and the state (kept in etcd) stays. Raises as
        :meth:`start`."""
        for process in self._processes:
            if process.name.startswith("kube-apiserver") and process.running():
                process.stop()
        if self.api_client is not None:
            self.api_client.close()
            self.api_client = None
        self._apiserver_count += 1
        self._start_apiserver()

    def _start_apiserver(self) -> None:
        assert self._binaries.kube_apiserver is not None
        pki = self.pki
        apiserver = self._spawn(
            "kube-apiserver" + (f"-{self._apiserver_count}" if self._apiserver_count else ""),
            [
                str(self._binaries.kube_apiserver),
                f"--etcd-servers={self.etcd_url}",
                f"--cert-dir={self.workdir / 'apiserver-certs'}",
                f"--tls-cert-file={pki.serving_cert_file}",
                f"--tls-private-key-file={pki.serving_key_file}",
                f"--secure-port={self.apiserver_port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--service-cluster-ip-range={_SERVICE_CIDR}",
                "--allow-privileged=true",
                "--authorization-mode=RBAC",
                # TaintNodesByCondition would taint every new node not-ready, and no node
                # lifecycle controller runs here to lift the taint once the node is Ready.
                "--disable-admission-plugins=ServiceAccount,TaintNodesByCondition",
                f"--client-ca-file={pki.ca_file}",
                # Components that delegate authentication (kube-scheduler) read this CA from
                # kube-system/extension-apiserver-authentication and log errors without it.
                f"--requestheader-client-ca-file={pki.ca_file}",
                "--requestheader-allowed-names=front-proxy-client",
                "--requestheader-username-headers=X-Remote-User",
                "--requestheader-group-headers=X-Remote-Group",
                "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                f"--service-account-issuer={self.server}",
                f"--service-account-key-file={pki.service_account_public_key_file}",
                f"--service-account-signing-key-file={pki.service_account_key_file}",
            ],
        )
        wait_until(
            "kube-apiserver /readyz",
            lambda: True if _get(f"{self.server}/readyz", self._tls) == "ok" else None,
            _STARTUP_TIMEOUT_S,
            alive=apiserver,
        )
        self.api_client = k8s_config.new_client_from_config(config_file=str(self.admin_kubeconfig))
        # The bootstrap controller creates the default namespace shortly after /readyz.
        wait_until(
            "namespace default",
            lambda: self.core.read_namespace("default"),
            _STARTUP_TIMEOUT_S,
            alive=apiserver,
        )

    def server_version(self) -> str:
        """kube-apiserver's ``gitVersion`` from ``/version`` (like "v1.36.5")."""
        return str(json.loads(_get(f"{self.server}/version", self._tls))["gitVersion"])

    def etcd_version(self) -> str:
        """etcd's server version from its ``/version`` endpoint (like "3.6.16")."""
        return str(json.loads(_get(f"{self.etcd_url}/version"))["etcdserver"])

    def create_nodes(self, cluster: Cluster, *, max_pods: int = 1000) -> list[str]:
        """Create one Ready node per cluster node (see manifests.node_manifests).

        Returns the node names in cluster order.
        """
        names = []
        core: Any = self.core  # the client takes plain dicts; its stubs say V1Node
        for manifest in node_manifests(cluster, max_pods=max_pods):
            core.create_node(body=manifest)
            names.append(manifest["metadata"]["name"])
        return names

    def start_scheduler(
        self,
        config: dict[str, Any],
        timeout_s: float = _STARTUP_TIMEOUT_S,
        *,
        feature_gates: dict[str, bool] | None = None,
    ) -> ManagedProcess:
        """(Re)start kube-scheduler with ``config`` (a KubeSchedulerConfiguration dict)
        and ``feature_gates`` (``--feature-gates``; None: upstream's defaults).

        Waits until its /readyz answers ok, which kube-scheduler reports once its informers
        have synced. Raises StartupError (with the log) if it rejects the configuration.
        """
        self.stop_scheduler()
        self._scheduler_count += 1
        config_file = self.workdir / f"scheduler-config-{self._scheduler_count}.yaml"
        config_file.write_text(scheduler_config_yaml(config))
        port = free_port()
        scheduler = self._spawn(
            f"kube-scheduler-{self._scheduler_count}",
            [
                str(self._binaries.kube_scheduler),
                f"--config={config_file}",
                f"--authentication-kubeconfig={self.scheduler_kubeconfig}",
                f"--authorization-kubeconfig={self.scheduler_kubeconfig}",
                "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics",
                "--bind-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={self.workdir / 'scheduler-certs'}",
                *(
                    [f"--feature-gates={_gates(feature_gates)}"]
                    if feature_gates is not None
                    else []
                ),
            ],
        )
        self.scheduler = scheduler
        self.scheduler_metrics_url = f"https://127.0.0.1:{port}/metrics"
        insecure = _unverified()
        try:
            wait_until(
                "kube-scheduler /readyz",
                lambda: (
                    True if _get(f"https://127.0.0.1:{port}/readyz", insecure) == "ok" else None
                ),
                timeout_s,
                alive=scheduler,
            )
        except BaseException:
            self.stop_scheduler()
            raise
        return scheduler

    def stop_scheduler(self) -> None:
        """Stop the running kube-scheduler, if any."""
        if self.scheduler is not None:
            self.scheduler.stop()
            self.scheduler = None

    def delete_nodes(self, names: list[str]) -> None:
        """Delete the named nodes (missing ones are ignored), then wait until a running
        kube-scheduler's cache has dropped them too (``scheduler_cache_size``, refreshed
        every second), so that the next pod cannot be bound to a deleted node."""
        for name in names:
            try:
                self.core.delete_node(name)
            except k8s.ApiException as error:
                if error.status != 404:
                    raise
        if self.scheduler is None or not self.scheduler.running():
            return
        remaining = len(self.core.list_node().items)
        line = f'scheduler_cache_size{{type="nodes"}} {remaining}'
        wait_until(
            f"kube-scheduler's cache down to {remaining} nodes",
            lambda: True if line in self.scheduler_metrics().splitlines() else None,
            _STARTUP_TIMEOUT_S,
            alive=self.scheduler,
        )

    def scheduler_metrics(self) -> str:
        """kube-scheduler's /metrics, in Prometheus text format (its serving certificate
        is self-signed, so it is not verified)."""
        return _get(self.scheduler_metrics_url, _unverified(), timeout_s=10.0)

    def create_pod(self, manifest: dict[str, Any]) -> str:
        """Create a pod from a manifest (see manifests.pod_manifest); return its name."""
        core: Any = self.core
        metadata = manifest["metadata"]
        core.create_namespaced_pod(metadata.get("namespace", "default"), manifest)
        return str(metadata["name"])

    def read_pod(self, name: str, namespace: str = "default") -> Any:
        """The pod as a ``V1Pod`` (typed Any: its optional fields are asserted by tests)."""
        return self.core.read_namespaced_pod(name, namespace)

    def node_of(self, name: str, namespace: str = "default") -> str | None:
        """The node the pod is bound to (``spec.nodeName``), or None while it is unbound."""
        return self.read_pod(name, namespace).spec.node_name or None

    def delete_pod(self, name: str, namespace: str = "default") -> None:
        """Delete a pod at once (no kubelet would ever confirm a graceful deletion)."""
        try:
            self.core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
        except k8s.ApiException as error:
            if error.status != 404:
                raise

    def events_for(self, name: str, namespace: str = "default") -> list[Any]:
        """The events (``CoreV1Event``) whose involved object is named ``name``."""
        listed = self.core.list_namespaced_event(
            namespace, field_selector=f"involvedObject.name={name}"
        )
        return list(listed.items)

    def wait_for_binding(
        self, name: str, namespace: str = "default", timeout_s: float = 30.0
    ) -> str:
        """The node the pod is bound to, once ``spec.nodeName`` is set.

        Raises TimeoutError if it is still unbound after ``timeout_s``.
        """
        return wait_until(
            f"binding of pod {namespace}/{name}",
            lambda: self.node_of(name, namespace),
            timeout_s,
            alive=self.scheduler,
            interval_s=0.05,
        )

    def wait_for_bindings(
        self, names: list[str], namespace: str = "default", timeout_s: float = 60.0
    ) -> dict[str, str]:
        """Pod name -> node for every pod in ``names``, once all are bound.

        Polls one list call per interval (cheap for bursts of hundreds of pods). Raises
        TimeoutError naming how many (and which first few) are still unbound.
        """
        wanted = set(names)
        state: dict[str, str] = {}

        def all_bound() -> dict[str, str] | None:
            listed: Any = self.core.list_namespaced_pod(namespace)
            state.clear()
            state.update(
                {
                    pod.metadata.name: pod.spec.node_name
                    for pod in listed.items
                    if pod.metadata.name in wanted and pod.spec.node_name
                }
            )
            return dict(state) if len(state) == len(wanted) else None

        try:
            return wait_until(
                f"binding of {len(wanted)} pods", all_bound, timeout_s, alive=self.scheduler
            )
        except TimeoutError as error:
            unbound = sorted(wanted - state.keys())
            raise TimeoutError(
                f"{len(unbound)} pods unbound, first {unbound[:5]}: {error}"
            ) from error

    def stop(self) -> None:
        """Stop every process, newest first (scheduler, apiserver, etcd). Idempotent."""
        self.scheduler = None
        if self.api_client is not None:
            self.api_client.close()
            self.api_client = None
        for process in reversed(self._processes):
            process.stop()

    def __enter__(self) -> ControlPlane:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
