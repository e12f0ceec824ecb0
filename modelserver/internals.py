"""Every use of KServe's and uvicorn's internals, each with why; nothing else in the server touches them.

We own the HTTP server (`HttpServer`, a `uvicorn.Server` with our own `uvicorn.Config`) and mount
KServe's FastAPI app behind our middleware (modelserver/server.py). What that relies on beyond
either project's documented API is listed in `RELIED_ON`, tested against the installed versions by
tests/modelserver/test_internals.py, and bounded in pyproject.toml (modelserver/versions.py, checked
at start before either is imported):

- KServe: `RESTServer.create_application()` builds its routes and exception handlers on the module
  app `kserve.model_server.app`; it also adds timing_asgi's `TimingMiddleware` (a log line per
  request, ~40 us, docs/benchmarks.md), which we take back out of `app.user_middleware`. Its own
  `/metrics` route stays, after ours (replica-wide with several processes), which runs first.
- uvicorn: `Server.handle_exit` (its signal handler) starts our drain instead of stopping at once;
  `Server.startup` is extended for replica workers, which accept through `OneAtATime`
  (modelserver/accept.py) rather than a listener of uvicorn's, so it needs `server_state`,
  `lifespan.state`, `config.http_protocol_class` and the `servers` list its shutdown closes.
- uvicorn's httptools protocol (`CappedHttpToolsProtocol`): its parser callbacks, `url`, `headers`,
  `transport`, `logger` and `STATUS_LINE`, to cap request heads (httptools has no cap).

Before kserve is imported, modelserver/deferred.py stands in for the modules its package imports
only for the SDK's cluster calls (the Kubernetes client, `requests`), so a cold start skips them.
"""
from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from functools import partial
from socket import socket
from typing import Any

import orjson
import uvicorn
from kserve import model_server
from kserve.model_repository import ModelRepository
from kserve.protocol.dataplane import DataPlane
from kserve.protocol.model_repository_extension import ModelRepositoryExtension
from kserve.protocol.rest.server import RESTServer
from timing_asgi import TimingMiddleware
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from .errors import HeadersTooLarge

log = logging.getLogger("modelserver")

# (object, attribute, why): what an upgrade must keep; tests/modelserver/test_internals.py checks each.
RELIED_ON: list[tuple[Any, str, str]] = [
    (RESTServer, "create_application", "builds KServe's routes and exception handlers on kserve.model_server:app"),
    (uvicorn.Server, "handle_exit", "uvicorn's signal handler: starts our drain (HttpServer)"),
    (uvicorn.Server, "startup", "extended for replica workers (HttpServer.startup)"),
    (uvicorn.Server, "shutdown", "closes what `servers` holds, OneAtATime included, then drains"),
    (uvicorn.Server, "capture_signals", "installs handle_exit for SIGINT/SIGTERM during serve()"),
    (uvicorn.Config, "load", "sets http_protocol_class, the protocol a worker's accepted connections get"),
    (HttpToolsProtocol, "on_message_begin", "CappedHttpToolsProtocol: a request head begins"),
    (HttpToolsProtocol, "on_headers_complete", "CappedHttpToolsProtocol: measures the complete head"),
    (HttpToolsProtocol, "send_400_response", "CappedHttpToolsProtocol: quiet after its own 431"),
]
KSERVE_APP = "kserve.model_server:app"
GRACE_S = 30  # uvicorn's drain of open connections after it stops accepting (KServe's grace_period)
KEEP_ALIVE_S = 65  # KServe's timeout_keep_alive


def kserve_app(repository: ModelRepository, add_ours: Callable[[Any], None]) -> Any:
    """KServe's FastAPI app serving `repository`'s models: `add_ours(app)` adds our routes first, then
    KServe adds its v1/v2 routes, exception handlers and /metrics, which ours (added first, covering
    the replica) shadows: Starlette runs the first route that matches. Without KServe's timing
    middleware: our middleware records latency."""
    app = model_server.app
    add_ours(app)
    rest = RESTServer(KSERVE_APP, DataPlane(model_registry=repository),
                      ModelRepositoryExtension(model_registry=repository), http_port=0)
    rest.create_application()
    app.user_middleware = [m for m in app.user_middleware if m.cls is not TimingMiddleware]
    return app


def http_config(app: Any, host: str, port: int, access_log: bool) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, http=CappedHttpToolsProtocol, log_config=None,
                          access_log=access_log, timeout_graceful_shutdown=GRACE_S,
                          timeout_keep_alive=KEEP_ALIVE_S, ws="none")  # no WebSocket routes: not imported


class HttpServer(uvicorn.Server):
    """uvicorn's server with a Kubernetes drain: SIGTERM calls `on_drain` (readiness fails), the server
    keeps accepting for `drain_delay_s`, then stops accepting and finishes what it holds. A second
    signal, or SIGINT, stops at once. `accept`: a worker's acceptor factory (modelserver/accept.py)
    used instead of a listener of uvicorn's."""

    def __init__(self, config: uvicorn.Config, drain_delay_s: float = 0.0, on_drain: Callable[[], None] = lambda: None,
                 accept: Callable[[Callable[[], asyncio.Protocol]], Any] | None = None):
        super().__init__(config)
        self.drain_delay_s, self.on_drain, self.accept = drain_delay_s, on_drain, accept
        self.loop: asyncio.AbstractEventLoop | None = None
        self.draining = False

    def handle_exit(self, sig: int, frame: Any) -> None:
        """uvicorn's signal handler; never re-raises the signal afterwards (the exit status stays 0)."""
        if self.draining or self.should_exit or sig != signal.SIGTERM or not self.drain_delay_s or self.loop is None:
            self.force_exit = self.should_exit and sig == signal.SIGINT  # as uvicorn: a second Ctrl-C
            self.should_exit = True
            return
        self.draining = True
        self.on_drain()
        log.info("SIGTERM: not ready; still accepting for %g s before draining", self.drain_delay_s)
        self.loop.call_soon_threadsafe(self.loop.call_later, self.drain_delay_s, self.end_drain)

    def end_drain(self) -> None:
        """Stop accepting; uvicorn then finishes the requests it holds (up to GRACE_S)."""
        self.should_exit = True

    async def startup(self, sockets: list[socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        if self.accept is None:
            return await super().startup(sockets=sockets)
        await super().startup(sockets=[])  # no listener of uvicorn's
        if not self.started:
            return
        protocol_class: Any = self.config.http_protocol_class
        protocol = partial(protocol_class, config=self.config, server_state=self.server_state,
                           app_state=self.lifespan.state)
        acceptor = self.accept(protocol)
        self.servers.append(acceptor)  # uvicorn's shutdown closes it: no new connections
        acceptor.start()


def on_connection_lost(protocol: asyncio.Protocol, callback: Callable[[], None]) -> asyncio.Protocol:
    """Call `callback` when this one connection is lost, then uvicorn's own handler (asyncio looks the
    method up on the instance, so only this protocol object is changed)."""
    lost = protocol.connection_lost

    def connection_lost(exc: Exception | None) -> None:
        callback()
        lost(exc)
    protocol.connection_lost = connection_lost  # type: ignore[method-assign]
    return protocol


MAX_HEADER_BYTES = 64 * 1024


class CappedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a cap on the request line + header block.

    httptools has no limit of its own (35 MB of headers were accepted). A complete head is measured
    exactly (URL + each header's name and value + 4 bytes); a head that is still arriving is measured
    by the bytes received for it, so one that never ends is cut off within one socket read of the cap
    instead of being buffered whole. Either way the client gets 431 with a JSON error and the
    connection is closed. The cost is one comparison per received chunk and a sum over the headers per
    request."""

    in_head = True  # a request's head is being received (or the connection is idle)
    head_bytes = 0
    events = 0  # heads begun or completed: a chunk that saw one is not all head bytes
    rejected = False

    def data_received(self, data: bytes) -> None:
        if self.rejected:
            return
        events = self.events
        super().data_received(data)
        if self.in_head and events == self.events and not self.rejected:
            self.head_bytes += len(data)
            if self.head_bytes > MAX_HEADER_BYTES:
                self.reject()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_head, self.head_bytes, self.events = True, 0, self.events + 1

    def on_headers_complete(self) -> None:
        self.in_head, self.events = False, self.events + 1
        if len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers) > MAX_HEADER_BYTES:
            self.reject()
            raise _Rejected  # stops the parser (uvicorn sees a parser error; send_400_response stays quiet)
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if not self.rejected:
            super().send_400_response(msg)

    def reject(self) -> None:
        self.rejected = True
        self.logger.warning("request head over %d bytes: 431", MAX_HEADER_BYTES)
        error = HeadersTooLarge(f"request line and headers larger than {MAX_HEADER_BYTES} bytes")
        body = orjson.dumps({"error": str(error)})
        self.transport.write(STATUS_LINE[error.status] + b"content-type: application/json\r\ncontent-length: "
                             + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body)
        self.transport.close()


class _Rejected(Exception):
    pass
