"""The gRPC listener (`--grpc_port`): a `grpc.aio` server on the event loop that serves HTTP.

It runs `InferenceService` (modelserver/grpc_service.py) beside uvicorn in the same process and
loop, so both protocols share the predictor, its predict threads and its batcher. Requests larger
than the payload limit get RESOURCE_EXHAUSTED from gRPC itself.

One process binds the port alone: a port already taken is an error at start, never a silent
share. Each process of a multi-process replica binds the same port with SO_REUSEPORT and the
kernel spreads connections across them (a gRPC client keeps one connection per channel, so it is
the clients' channels that spread; docs/grpc.md). The supervisor holds the port meanwhile
(`reserve`), so it fails at start when another program has it and stays ours while a worker restarts.
"""
from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable

import grpc
from kserve.protocol.grpc.grpc_predict_v2_pb2_grpc import add_GRPCInferenceServiceServicer_to_server

from .grpc_service import InferenceService

log = logging.getLogger("modelserver")
GRACE_S = 30.0  # as KServe's gRPC server: calls in progress get this long once the server stops


def address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class GrpcServer:
    """Serves `service` on host:port from `start()` until `stop()`; `reuse_port` in a replica's workers."""

    def __init__(self, service: InferenceService, host: str, port: int, max_message_bytes: int,
                 reuse_port: bool = False):
        self.service, self.host, self.port = service, host, port
        self.options = [("grpc.max_receive_message_length", max_message_bytes),
                        ("grpc.max_send_message_length", -1),
                        ("grpc.so_reuseport", int(reuse_port))]
        self.server: grpc.aio.Server | None = None

    async def beside(self, http: Awaitable[None], on_started: Callable[[], None] | None = None) -> None:
        """Serve gRPC while `http` (the HTTP server's `serve()`) runs; once HTTP has drained, gRPC drains.
        A port that cannot be bound raises OSError before HTTP starts (the server exits).
        `on_started`: called once the port is bound (a replica's worker reports itself loaded then)."""
        await self.start()
        if on_started is not None:
            on_started()
        try:
            await http
        finally:
            await self.stop()

    async def start(self) -> None:
        """Bind and start serving; OSError when the port cannot be bound."""
        server = grpc.aio.server(options=self.options)
        add_GRPCInferenceServiceServicer_to_server(self.service, server)
        try:
            server.add_insecure_port(address(self.host, self.port))
        except RuntimeError as exc:  # grpc says only "Failed to bind"
            raise OSError(f"cannot serve gRPC on {address(self.host, self.port)}: the port is taken or the "
                          f"address is not this host's") from exc
        self.server = server
        await server.start()
        log.info("serving gRPC (inference.GRPCInferenceService) on %s", address(self.host, self.port))

    async def stop(self, grace: float = GRACE_S) -> None:
        """No new calls; those in progress get `grace` seconds."""
        if self.server is not None:
            await self.server.stop(grace)


def reserve(host: str, port: int) -> socket.socket:
    """Bind (without listening) the replica's gRPC port with SO_REUSEPORT: the workers' listeners
    join it, programs without SO_REUSEPORT cannot take it. OSError when it is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock
