"""Start `kserve.ModelServer` with one `PredictorModel` and the Cortex routes."""
from __future__ import annotations

import asyncio
import gc
import logging
import os
from functools import partial
from pathlib import Path
from socket import socket
from typing import TYPE_CHECKING, Any

from kserve import ModelServer
from kserve import model_server as kserve_model_server

from kserve_bridge.contract import ServerSettings

from . import metrics
from .accept import OneAtATime
from .app import install
from .http_protocol import CappedHttpToolsProtocol
from .model import PredictorModel

if TYPE_CHECKING:
    from .worker import Worker

log = logging.getLogger("modelserver")
TERMINATION_LOG_ENV = "KSERVE_BRIDGE_TERMINATION_LOG"


class BridgeModelServer(ModelServer):
    """KServe's ModelServer, bound to a chosen host (KServe always binds 0.0.0.0)."""

    def __init__(self, host: str, asgi_app: Any, worker: Worker | None = None, **kwargs):
        super().__init__(**kwargs)
        self.host, self.asgi_app, self.worker = host, asgi_app, worker

    def setup_event_loop(self) -> None:
        """Choose the loop `asyncio.run` makes in `start()` (KServe's own version configures a loop
        that asyncio.run never uses). uvloop, when installed: timers, transports and the predict
        threads' wake-ups in C (iris c8: about a quarter less CPU per request, docs/benchmarks.md)."""
        try:
            import uvloop
        except ImportError:  # an optional speed-up (uvicorn[standard] brings it on Linux)
            return
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

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
            if self.worker is not None:  # one of a replica's processes: the supervisor's socket
                self.servers[0].close()  # RESTServer.start(), which would bind its own
                self.servers[0] = self._serve_as_worker(self.worker)
        await super()._serve()

    def stop(self, sig: int) -> None:
        """SIGTERM/SIGINT. KServe's own `stop` ends only its multi-process and gRPC servers, so a signal
        that lands after KServe's handlers are installed and before uvicorn installs its own would
        be lost and the server would never drain; tell uvicorn directly."""
        if self._rest_server is not None:
            self._rest_server._server.should_exit = True
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # not serving yet: uvicorn sees should_exit once it starts
            return
        super().stop(sig)

    async def _serve_as_worker(self, worker: Worker) -> None:
        """uvicorn, with no listener of its own, serves what `OneAtATime` accepts from the
        supervisor's socket (modelserver/accept.py: one per wakeup, the least busy worker first)."""
        self._rest_server.create_application()
        uvicorn_server = self._rest_server._server
        startup = uvicorn_server.startup

        async def start_accepting(sockets: list[socket] | None = None) -> None:
            await startup(sockets=[])
            if not uvicorn_server.started:
                return
            config = uvicorn_server.config
            protocol = partial(config.http_protocol_class, config=config, server_state=uvicorn_server.server_state,
                               app_state=uvicorn_server.lifespan.state)
            acceptor = OneAtATime(worker.sock, protocol, asyncio.get_running_loop(), worker.state, worker.slot)
            uvicorn_server.servers.append(acceptor)  # uvicorn's shutdown closes it: no new connections
            acceptor.start()
            log.info("serving on the replica's socket %s:%s", *worker.sock.getsockname()[:2])
        uvicorn_server.startup = start_accepting
        await uvicorn_server.serve()


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
          max_payload_bytes: int, payload_log: dict | None = None, worker: Worker | None = None) -> int | None:
    """Load the predictor and serve until stopped; 1 when it fails to load.
    `payload_log`: `PayloadLog`'s arguments (--log_requests), for this process's own logger.
    `worker`: this process is one of a replica's processes (modelserver/worker.py)."""
    log.setLevel(settings.log_level.upper())
    model = PredictorModel(name, settings, model_dir)
    metrics.export_thresholds(name)
    loaded = model.load()
    if worker is not None:
        worker.loaded(loaded)
    if not loaded:
        return report_load_failure(model)  # a worker's exit before the replica was ready stops the replica
    if worker is not None:
        worker.add_routes(kserve_model_server.app, model)
    asgi_app: Any = install(kserve_model_server.app, model, endpoint=settings.endpoint,
                       deployment_id=settings.deployment_id, max_concurrency=settings.max_concurrency,
                       max_payload_bytes=max_payload_bytes)
    if worker is not None:
        asgi_app = worker.wrap(asgi_app)
    records: Any = None  # PayloadLog, imported only when asked for
    if payload_log is not None:  # modelserver/payload_log.py: records every POST, outside the limits
        from .payload_log import PayloadLog, PayloadLogMiddleware
        records = PayloadLog(**payload_log).start()
        asgi_app = PayloadLogMiddleware(asgi_app, records)
    server = BridgeModelServer(host=host, asgi_app=asgi_app, http_port=port, enable_grpc=False, workers=1,
                               worker=worker)
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
    try:
        server.start([])
    finally:
        if records is not None:
            records.close(timeout=10)  # deliver what is queued
        model.close(timeout=5)  # run queued post_predicts, end the batchers and predict threads
    return None
