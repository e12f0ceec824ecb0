"""One server process of a multi-process replica (see modelserver/supervisor.py).

A worker is the ordinary model server (modelserver/server.py), except that it serves on the
listening socket the supervisor owns and these answer for the whole replica: `/readyz` is 200 once
every worker has loaded the predictor (as Cortex, a later restart of one does not make the
replica unready: the others serve meanwhile); `/metrics` sums every worker's series
(prometheus_client multiprocess mode, PROMETHEUS_MULTIPROC_DIR set by the supervisor); and
`max_concurrency` is counted across the replica (`ReplicaState` permits).
"""
from __future__ import annotations

import ctypes
import gc
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

from fastapi import Request
from prometheus_client import CollectorRegistry, exposition, multiprocess
from starlette.responses import JSONResponse, Response

from kserve_bridge.contract import ServerSettings

from .replica import ReplicaState

PR_SET_PDEATHSIG = 1


def run(settings: ServerSettings, model_dir: Path, name: str, max_payload_bytes: int, payload_log: dict | None,
        sock: socket.socket, state: ReplicaState, slot: int) -> None:
    """The spawned worker's main: load the predictor, then serve on `sock` until SIGTERM."""
    gc.disable()  # as `python -m modelserver` does during startup; `serve` turns it back on
    _exit_with_parent()
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s worker-{slot} [%(process)d] %(levelname)s "
                                                   f"%(name)s: %(message)s")
    from .server import serve
    host, port = sock.getsockname()[:2]
    code = serve(settings, model_dir, name=name, host=host, port=port, max_payload_bytes=max_payload_bytes,
                 payload_log=payload_log, worker=Worker(state, slot, sock))
    if code:
        sys.exit(code)  # the predictor failed to load: the supervisor stops the replica


def _exit_with_parent() -> None:
    """Die with the supervisor if it is killed (Linux; elsewhere a no-op): an orphan would keep the
    port open with nobody to restart or drain it. A supervisor that is stopped drains us first."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the supervisor died before prctl
        os.kill(os.getpid(), signal.SIGKILL)


class Worker:
    """This process's slot in the replica; `server.serve` calls the hooks below."""

    def __init__(self, state: ReplicaState, slot: int, sock: socket.socket):
        self.state, self.slot, self.sock = state, slot, sock  # the supervisor's listening socket

    def add_routes(self, app: Any, model: Any) -> None:
        """Replica-wide /readyz and /metrics; added before the per-process routes, so they win."""
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)

        async def ready(request: Request) -> JSONResponse:
            processes = self.state.describe()
            if not model.ready:
                return JSONResponse({"ready": False, "error": model.load_error or "loading",
                                     "processes": processes}, status_code=503)
            if not self.state.was_ready.value:  # until all have loaded; then a restart does not count
                loaded = sum(p["ready"] for p in processes)
                return JSONResponse({"ready": False, "error": f"{loaded} of {len(processes)} processes loaded",
                                     "processes": processes}, status_code=503)
            return JSONResponse({"ready": True, "processes": processes})

        async def metrics(request: Request) -> Response:
            encoder, content_type = exposition.choose_encoder(request.headers.get("accept", ""))
            return Response(encoder(registry), headers={"content-type": content_type})

        app.add_api_route("/readyz", ready, methods=["GET"], include_in_schema=False)
        app.add_api_route("/metrics", metrics, methods=["GET"], include_in_schema=False)

    def wrap(self, app: Any) -> Any:
        return ReplicaLimit(app, self.state, self.slot)

    def loaded(self, ready: bool) -> None:
        self.state.loaded(self.slot, ready)


class ReplicaLimit:
    """In front of BridgeMiddleware: a POST needs one of the replica's permits, else 503."""

    def __init__(self, inner: Any, state: ReplicaState, slot: int):
        self.inner, self.state, self.slot = inner, state, slot
        self.message = (f"too many requests in flight (max_concurrency {state.max_concurrency} across the "
                        f"replica's {state.processes} processes); retry later")

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.inner(scope, receive, send)
        if self.state.enter(self.slot):
            try:
                return await self.inner(scope, receive, send)
            finally:
                self.state.leave(self.slot)
        started = time.perf_counter()
        extra = self.inner.extra_headers

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)
        await self.inner.reply(send_with_headers, 503, self.message)
        self.inner.record("unmatched", "POST", 503, time.perf_counter() - started)
