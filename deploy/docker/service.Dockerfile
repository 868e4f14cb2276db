# syntax=docker/dockerfile:1
# One image per Newsflow service, all from this file, built from the repository root:
#
#   docker build -f deploy/docker/service.Dockerfile --build-arg SERVICE=ingest -t newsflow/ingest:dev .
#
# SERVICE is one of ingest, index, comments, gateway. The image runs `newsflow-$SERVICE <role>`:
# the role is the command (default `api`), e.g. `docker run newsflow/index:dev worker`.
# Every image also carries the kit's `newsflow-topics` (used by the one-shot topics job).

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: a virtual environment with the service, its libraries and its locked dependencies ---
FROM ${PYTHON_IMAGE} AS build
ARG SERVICE
# uv from PyPI, pinned to the version that wrote uv.lock.
ARG UV_VERSION=0.13.9
RUN test -n "${SERVICE}" || { echo "--build-arg SERVICE=<ingest|index|comments|gateway> is required" >&2; exit 1; }
RUN pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src

# 1. Third-party dependencies only (no workspace member): this layer changes only with uv.lock.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --no-install-workspace --package "newsflow-${SERVICE}"

# 2. The shared libraries and this one service, installed non-editable so the runtime image needs
#    the virtual environment only (other services' sources never enter the image).
COPY pyproject.toml uv.lock ./
COPY libs libs
COPY services/${SERVICE} services/${SERVICE}
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package "newsflow-${SERVICE}"

# --- runtime: the interpreter, the virtual environment and an unprivileged user ---
FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
LABEL org.opencontainers.image.title="newsflow-${SERVICE}" \
      org.opencontainers.image.description="Newsflow ${SERVICE} service (one role per container)" \
      org.opencontainers.image.source="https://github.com/newsflow/newsflow"
# A fixed numeric uid/gid so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
RUN groupadd --system --gid 10001 newsflow \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin newsflow
COPY --from=build /app/.venv /app/.venv
# A stable entrypoint name for every service; fails the build when the console script is missing.
RUN ln -s "/app/.venv/bin/newsflow-${SERVICE}" /usr/local/bin/newsflow-service \
 && /usr/local/bin/newsflow-service --help >/dev/null
# Read-only root file system friendly: bytecode is compiled at build time, HOME and temp go to /tmp
# (a tmpfs/emptyDir in compose and Kubernetes). NEWSFLOW_HOST: listen on the container's interfaces.
ENV PATH=/app/.venv/bin:${PATH} \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    NEWSFLOW_HOST=0.0.0.0
WORKDIR /app
USER 10001:10001
# No HEALTHCHECK here: the image serves API and worker roles alike. Compose and Kubernetes probe the
# API roles' /healthz and /readyz (python's urllib: the slim image has no curl).
ENTRYPOINT ["newsflow-service"]
CMD ["api"]
