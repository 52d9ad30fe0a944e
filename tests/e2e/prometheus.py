"""A real Prometheus server (Debian's package) on a loopback port, scraping given targets.

The scrape configuration is generated per run; queries go through the HTTP API
(``/api/v1/query``), exactly as Grafana and the tests of the dashboards will use it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .processes import ManagedProcess, free_port, wait_until

__all__ = ["PrometheusError", "PrometheusServer", "ScrapeTarget", "render_prometheus_config"]


class PrometheusError(RuntimeError):
    """The query API answered with an error; the message carries the query and the error."""


@dataclass(frozen=True)
class ScrapeTarget:
    """One scrape job: ``job`` name, ``host:port`` targets and the scheme and path."""

    job: str
    targets: tuple[str, ...]
    scheme: str = "http"
    metrics_path: str = "/metrics"
    insecure_skip_verify: bool = False
    labels: dict[str, str] = field(default_factory=dict)


def render_prometheus_config(targets: list[ScrapeTarget], interval_s: int = 1) -> dict[str, Any]:
    """A prometheus.yml document scraping ``targets`` every ``interval_s`` seconds."""
    jobs = []
    for target in targets:
        job: dict[str, Any] = {
            "job_name": target.job,
            "scheme": target.scheme,
            "metrics_path": target.metrics_path,
            "static_configs": [{"targets": list(target.targets), "labels": dict(target.labels)}],
        }
        if target.insecure_skip_verify:
            job["tls_config"] = {"insecure_skip_verify": True}
        jobs.append(job)
    return {
        "global": {"scrape_interval": f"{interval_s}s", "evaluation_interval": f"{interval_s}s"},
        "scrape_configs": jobs,
    }


class PrometheusServer:
    """A running Prometheus; :meth:`query` evaluates PromQL now, :meth:`stop` ends it."""

    def __init__(self, binary: Path, workdir: Path, targets: list[ScrapeTarget]) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        config_file = workdir / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(render_prometheus_config(targets), sort_keys=False))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = ManagedProcess(
            "prometheus",
            [
                str(binary),
                f"--config.file={config_file}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            workdir / "prometheus.log",
        )
        try:
            wait_until(
                "prometheus /-/ready",
                lambda: True if self._get("/-/ready") else None,
                60.0,
                alive=self.process,
            )
        except BaseException:
            self.stop()
            raise

    def _get(self, path: str) -> str:
        with urllib.request.urlopen(self.url + path, timeout=5.0) as response:
            return str(response.read().decode())

    def query(self, expression: str) -> list[dict[str, Any]]:
        """The instant-vector result of ``expression`` (``[{"metric": {...}, "value": [t, "v"]}]``).

        Raises PrometheusError when Prometheus reports an error for the query.
        """
        try:
            body = self._get("/api/v1/query?" + urllib.parse.urlencode({"query": expression}))
        except urllib.error.HTTPError as error:
            raise PrometheusError(
                f"query {expression!r}: HTTP {error.code}: {error.read()!r}"
            ) from error
        reply = json.loads(body)
        if reply.get("status") != "success":
            raise PrometheusError(f"query {expression!r}: {reply.get('error', reply)}")
        return list(reply["data"]["result"])

    def wait_for_series(self, expression: str, timeout_s: float = 30.0) -> list[dict[str, Any]]:
        """Poll until ``expression`` returns at least one series; return the series."""
        return wait_until(
            f"prometheus series {expression}",
            lambda: self.query(expression) or None,
            timeout_s,
            alive=self.process,
            interval_s=0.5,
        )

    def stop(self) -> None:
        """Stop the server (idempotent)."""
        self.process.stop()
