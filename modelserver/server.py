"""Start `kserve.ModelServer` with one `PredictorModel` and the Cortex routes."""
from __future__ import annotations

import gc
import logging
import os
from pathlib import Path
from typing import Any

from kserve import ModelServer
from kserve import model_server as kserve_model_server

from kserve_bridge.contract import ServerSettings

from . import metrics
from .app import install
from .http_protocol import CappedHttpToolsProtocol
from .model import PredictorModel

log = logging.getLogger("modelserver")
TERMINATION_LOG_ENV = "KSERVE_BRIDGE_TERMINATION_LOG"


class BridgeModelServer(ModelServer):
    """KServe's ModelServer, bound to a chosen host (KServe always binds 0.0.0.0)."""

    def __init__(self, host: str, asgi_app: Any, **kwargs):
        super().__init__(**kwargs)
        self.host, self.asgi_app = host, asgi_app

    async def _serve(self) -> None:
        if self._rest_server is not None:
            self._rest_server.config.host = self.host
            # KServe adds only timing_asgi's TimingMiddleware here, which logs every request
            # (~40 us/request, docs/benchmarks.md); our BridgeMiddleware records latency metrics.
            self._rest_server._add_middlewares = lambda app: None
            # uvicorn serves BridgeMiddleware (limits, metrics, the predict lane) around KServe's app;
            # KServe still builds that app (routes, exception handlers) when its server starts.
            self._rest_server.config.app = self.asgi_app
            self._rest_server.config.http = CappedHttpToolsProtocol  # 431 above 64 KiB of headers
        await super()._serve()


def report_load_failure(model: PredictorModel) -> int:
    """Exit status 1, the reason in the log and in Kubernetes' termination message (docs/mapping.md,
    "A predictor that fails to load"): the pod restarts with back-off, as Cortex's "error" status did."""
    message = f"API {model.name} failed to load: {model.load_error}"
    log.error("%s", message)
    path = Path(os.environ.get(TERMINATION_LOG_ENV, "/dev/termination-log"))
    if path.is_file():  # the kubelet creates it in a pod; never created elsewhere
        try:
            path.write_text(message[-4096:])  # Kubernetes keeps at most 4096 bytes
        except OSError as exc:
            log.warning("cannot write %s: %s", path, exc)
    return 1


def serve(settings: ServerSettings, model_dir: Path, name: str, host: str, port: int,
          max_payload_bytes: int, payload_log: Any = None) -> int | None:
    """Load the predictor and serve until stopped; 1 when it fails to load."""
    log.setLevel(settings.log_level.upper())
    if settings.processes_per_replica > 1:
        log.info("processes_per_replica=%d runs as %d predict threads in one process",
                 settings.processes_per_replica, settings.processes_per_replica * settings.threads_per_process)
    model = PredictorModel(name, settings, model_dir)
    metrics.export_thresholds(name)
    if not model.load():
        return report_load_failure(model)
    asgi_app = install(kserve_model_server.app, model, endpoint=settings.endpoint,
                       deployment_id=settings.deployment_id, max_concurrency=settings.max_concurrency,
                       max_payload_bytes=max_payload_bytes)
    if payload_log is not None:  # modelserver/payload_log.py: records every POST, outside the limits
        from .payload_log import PayloadLogMiddleware
        asgi_app = PayloadLogMiddleware(asgi_app, payload_log)
    server = BridgeModelServer(host=host, asgi_app=asgi_app, http_port=port, enable_grpc=False, workers=1)
    server.register_model(model)
    # No log line per request unless debugging (access log + KServe's latency line: ~35 us/request).
    # uvicorn formats an access line's arguments whenever its logger has handlers, whatever the level.
    model.enable_latency_logging = settings.log_level == "debug"
    if settings.log_level != "debug":
        access = logging.getLogger("uvicorn.access")
        access.handlers, access.propagate = [], False
    # Objects made by startup stay out of every later collection (shorter GC pauses while serving).
    gc.freeze()
    gc.enable()
    server.start([])
