"""Serve one `PredictorModel`: our uvicorn server (modelserver/internals.py) running the app of
modelserver/app.py (KServe's routes and ours behind BridgeMiddleware)."""
from __future__ import annotations

import asyncio
import gc
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kserve_bridge.contract import ServerSettings

from . import metrics, tracing
from .app import install
from .endpoint import CortexEndpoint
from .internals import HttpServer, http_config
from .model import PredictorModel
from .readiness import Readiness
from .termination import report_failure

if TYPE_CHECKING:
    from .worker import Worker

log = logging.getLogger("modelserver")


def use_uvloop() -> None:
    """Make `asyncio.run` use uvloop, when installed: timers, transports and the predict threads'
    wake-ups in C (iris c8: about a quarter less CPU per request, docs/benchmarks.md)."""
    try:
        import uvloop
    except ImportError:  # an optional speed-up (uvicorn[standard] brings it on Linux)
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def serve(settings: ServerSettings, model_dir: Path, name: str, host: str, port: int,
          max_payload_bytes: int, payload_log: dict | None = None, worker: Worker | None = None,
          drain_delay_s: float = 0.0, grpc_port: int | None = None) -> int | None:
    """Load the predictor and serve until stopped; 1 when it fails to load.
    `payload_log`: `PayloadLog`'s arguments (--log_requests), for this process's own logger.
    `worker`: this process is one of a replica's processes (modelserver/worker.py).
    `drain_delay_s`: after SIGTERM, how long to keep accepting while readiness fails.
    `grpc_port`: also serve the Open Inference Protocol over gRPC there (modelserver/grpc_server.py)."""
    log.setLevel(settings.log_level.upper())
    requests = worker.in_flight(name, settings.max_concurrency) if worker is not None else None
    model = PredictorModel(name, settings, model_dir, requests=requests)
    metrics.export_thresholds(name)
    tracer = tracing.configure(name, settings.deployment_id)  # None (nothing imported) unless OTEL_* say so
    loaded = model.load()
    if worker is not None and (not loaded or grpc_port is None):
        worker.loaded(loaded)  # with gRPC: once its port is bound too (below), so ready means both listen
    if not loaded:
        # a worker's exit before the replica was ready stops the replica (modelserver/supervisor.py)
        return report_failure(f"API {model.name} failed to load: {model.load_error}")
    readiness = Readiness(model, worker.state if worker is not None else None)
    metrics.export_processes(metrics.Processes(name, worker.state.counts if worker is not None
                                               else lambda: (1, int(model.ready), 0)))
    asgi_app: Any = install(model, CortexEndpoint(model, settings.endpoint), readiness,
                            deployment_id=settings.deployment_id, max_payload_bytes=max_payload_bytes)
    records: Any = None  # PayloadLog, imported only when asked for
    if payload_log is not None:  # modelserver/payload_log.py: records every POST, outside the limits
        from .payload_log import PayloadLog, PayloadLogMiddleware
        records = PayloadLog(**payload_log).start()
        asgi_app = PayloadLogMiddleware(asgi_app, records)
    # No log line per request unless debugging (access log + KServe's latency line: ~35 us/request).
    debug = settings.log_level == "debug"
    model.enable_latency_logging = debug
    server = HttpServer(http_config(asgi_app, host, port, access_log=debug), drain_delay_s=drain_delay_s,
                        on_drain=readiness.drain, accept=worker.acceptor if worker is not None else None)
    running: Any = server.serve()
    if grpc_port is not None:  # on the same loop; drains once HTTP has
        from .grpc_server import GrpcServer
        from .grpc_service import InferenceService
        grpc = GrpcServer(InferenceService(model, readiness, records), host, grpc_port, max_payload_bytes,
                          reuse_port=worker is not None)
        running = grpc.beside(running, on_started=(lambda: worker.loaded(True)) if worker is not None else None)
    use_uvloop()
    # Objects made by startup stay out of every later collection (shorter GC pauses while serving).
    gc.freeze()
    gc.enable()
    try:
        asyncio.run(running)
    finally:
        if records is not None:
            records.close()  # deliver what is queued within DRAIN_S; count the rest as lost
        model.close(timeout=5)  # run queued post_predicts, end the batchers and predict threads
        if tracer is not None:
            tracer.exporter.shutdown()
    return None
