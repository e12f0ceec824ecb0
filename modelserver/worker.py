"""One server process of a multi-process replica (see modelserver/supervisor.py).

A worker is the ordinary model server (modelserver/server.py), except that it serves on the
listening socket the supervisor owns (modelserver/accept.py) and these answer for the whole
replica: `/readyz` (modelserver/readiness.py's `Readiness` reads the replica's state), `/metrics` sums
every worker's series (prometheus_client multiprocess mode, PROMETHEUS_MULTIPROC_DIR set by the
supervisor) and `max_concurrency` is counted across the replica (`InFlight` takes the replica's
permits).
"""
from __future__ import annotations

import asyncio
import ctypes
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from kserve_bridge.contract import ServerSettings

from .accept import OneAtATime
from .in_flight import InFlight
from .replica import ReplicaState

log = logging.getLogger("modelserver")

PR_SET_PDEATHSIG = 1


def run(settings: ServerSettings, model_dir: Path, name: str, max_payload_bytes: int, payload_log: dict | None,
        sock: socket.socket, state: ReplicaState, grpc_port: int | None, slot: int) -> None:
    """The spawned worker's main: load the predictor, then serve on `sock` until SIGTERM."""
    gc.disable()  # as `python -m modelserver` does during startup; `serve` turns it back on
    _exit_with_parent()
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s worker-{slot} [%(process)d] %(levelname)s "
                                                   f"%(name)s: %(message)s")
    from .server import serve
    host, port = sock.getsockname()[:2]
    code = serve(settings, model_dir, name=name, host=host, port=port, max_payload_bytes=max_payload_bytes,
                 payload_log=payload_log, worker=Worker(state, slot, sock), grpc_port=grpc_port)
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
    """This process's slot in the replica; `server.serve` asks it for the replica's parts."""

    def __init__(self, state: ReplicaState, slot: int, sock: socket.socket):
        self.state, self.slot, self.sock = state, slot, sock  # the supervisor's listening socket

    def in_flight(self, api: str, max_concurrency: int) -> InFlight:
        """The API's request count, whose slots are the replica's permits."""
        return InFlight(api, max_concurrency, self.state, self.slot)

    def acceptor(self, protocol_factory: Callable[[], asyncio.Protocol]) -> OneAtATime:
        """What serves the replica's socket in this process (uvicorn's HttpServer starts it)."""
        log.info("serving on the replica's socket %s:%s", *self.sock.getsockname()[:2])
        return OneAtATime(self.sock, protocol_factory, asyncio.get_running_loop(), self.state, self.slot)

    def loaded(self, ready: bool) -> None:
        self.state.loaded(self.slot, ready)
