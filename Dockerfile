# kserve-bridge model server: runs Cortex-style predictors as a KServe custom runtime.
#   docker build -t ghcr.io/kserve-bridge/modelserver:0.1.0 .                      # sklearn backend
#   docker build --build-arg EXTRAS=sklearn,onnx,torch -t ghcr.io/kserve-bridge/modelserver:0.1.0-full .
# EXTRAS picks the framework backends (pyproject extras: sklearn, torch, onnx, tensorflow, all); torch
# comes from PyTorch's CPU wheel index. The ClusterServingRuntime (manifests/) names this image.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ARG EXTRAS=sklearn
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /src
COPY docker/install.sh docker/install.sh
COPY pyproject.toml README.md ./
COPY kserve_bridge kserve_bridge
COPY modelserver modelserver
RUN sh docker/install.sh "$EXTRAS" \
    && find /opt/venv -name __pycache__ -prune -exec rm -rf {} +

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="kserve-bridge model server" \
      org.opencontainers.image.source="https://github.com/kserve-bridge/kserve-bridge" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --gid 1000 bridge && useradd --uid 1000 --gid 1000 --create-home --shell /usr/sbin/nologin bridge
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /home/bridge
USER 1000:1000
EXPOSE 8080
# Kubernetes ignores HEALTHCHECK (KServe sets its own probes); this one serves plain `docker run`.
HEALTHCHECK --interval=30s --timeout=3s --start-period=60s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
ENTRYPOINT ["python", "-m", "modelserver"]
CMD ["--model_dir", "/mnt/models", "--http_port", "8080"]
