# syntax=docker/dockerfile:1
# The binforge image: `binforge serve` (the kube-scheduler extender) and the rest of the CLI.
# Build and push: see docs/deploy.md. tests/test_chart.py builds the same install (the
# wheel into a fresh virtual environment) and runs `binforge serve --help` from it.

# Pinned base: Debian bookworm's slim Python, the release pyproject.toml requires.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Only what the wheel is built from (see .dockerignore).
COPY pyproject.toml README.md ./
COPY binforge ./binforge
COPY cluster_traces ./cluster_traces
COPY simulator ./simulator
COPY heuristics ./heuristics
COPY k8s_plugin ./k8s_plugin
# binforge and every runtime dependency as wheels; no dev extras, no compilers in the
# final image.
RUN pip wheel --wheel-dir /wheels .

FROM ${PYTHON_IMAGE} AS runtime
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/binforge PATH=/opt/binforge/bin:$PATH
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m venv /opt/binforge \
    && /opt/binforge/bin/pip install --no-index --find-links=/wheels binforge \
    && /opt/binforge/bin/pip uninstall -y pip \
    && groupadd --system --gid 65532 binforge \
    && useradd --system --uid 65532 --gid 65532 --no-create-home --shell /usr/sbin/nologin binforge
# The same non-root uid the Helm chart's podSecurityContext sets.
USER 65532:65532
WORKDIR /tmp
EXPOSE 8888
# /healthz answers 200 while the server runs (readiness, /readyz, needs a synced cache).
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8888/healthz', timeout=2)"]
ENTRYPOINT ["binforge"]
CMD ["serve", "--host", "0.0.0.0"]
