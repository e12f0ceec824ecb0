# kserve-bridge model server: runs Cortex-style predictors as a KServe custom runtime.
# One image per framework set and accelerator, all from this file (scripts/build_images.py builds them all):
#   docker build -t ghcr.io/kserve-bridge/modelserver:0.1.0-sklearn .
#   docker build --build-arg EXTRAS=sklearn,torch --build-arg ACCEL=gpu -t ghcr.io/kserve-bridge/modelserver:0.1.0-torch-gpu .
# EXTRAS picks the framework backends (pyproject extras: sklearn, torch, onnx, onnx-gpu, tensorflow, tensorflow-gpu);
# ACCEL=gpu takes torch from PyTorch's CUDA wheel index (cpu: its CPU index). CUDA comes as pip wheels, so every
# image starts from the same slim Python base. The ClusterServingRuntimes (manifests/base) name these images.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ARG EXTRAS=sklearn
ARG ACCEL=cpu
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /src
COPY docker/install.sh docker/install.sh
COPY pyproject.toml README.md ./
COPY kserve_bridge kserve_bridge
COPY modelserver modelserver
# Bytecode is compiled here, once, not at every start: a pod's root filesystem is read-only, so Python could
# never cache it (PYTHONDONTWRITEBYTECODE below) and compiled every module it imported on each cold start
# (docs/benchmarks.md, "Cold start"). unchecked-hash: the same bytes every build, and no source stat at import.
RUN sh docker/install.sh "$EXTRAS" "$ACCEL" \
    && find /opt/venv -name __pycache__ -prune -exec rm -rf {} + \
    && python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/venv/lib

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="kserve-bridge model server" \
      org.opencontainers.image.source="https://github.com/kserve-bridge/kserve-bridge" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --gid 1000 bridge && useradd --uid 1000 --gid 1000 --create-home --shell /usr/sbin/nologin bridge \
    && python -m compileall -q -j 0 --invalidation-mode unchecked-hash -x '/(test|tests|idle_test)/' \
        "$(python -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')"
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
