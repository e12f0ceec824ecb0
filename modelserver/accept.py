"""`OneAtATime`: a replica worker's accept loop on the socket every worker shares.

A new connection wakes every worker waiting on the shared listening socket. Each takes at most
one connection per wakeup, and a worker that holds more connections than the least busy live
worker lets that one take it: it stops watching the socket for `DEFER_S`, then takes the next
connection whatever the counts say (so a stalled or dying worker delays a connection by at most
`DEFER_S`, never drops it). A burst (a client opening 64 connections at once) thus spreads over
the workers. uvloop's own listeners (libuv) accept until the queue is empty: 64 connections
opened at once on two workers went 64/0 in 2 of 5 tries even with `UV_TCP_SINGLE_ACCEPT`
(docs/processes.md). Accepted connections are served by uvicorn's own protocol, as on a
listener uvicorn made.
"""
from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from .internals import on_connection_lost

if TYPE_CHECKING:
    from .replica import ReplicaState

log = logging.getLogger("modelserver")

DEFER_S = 0.005  # how long a busier worker leaves a connection to the others
PAUSE_S = 1.0  # how long accepting stops when the process is out of descriptors (as asyncio does)
RESOURCE_ERRORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


class OneAtATime:
    """Accepts from `sock` (this process's copy of the replica's socket) and serves each connection
    with `protocol_factory`; connection counts live in `state`'s `slot`. Quacks like the
    `asyncio.Server` uvicorn keeps in `Server.servers`: uvicorn's shutdown calls `close()`, which
    stops accepting and closes this copy (the port refuses connections once every copy is closed)."""

    def __init__(self, sock: socket.socket, protocol_factory: Callable[[], asyncio.Protocol],
                 loop: asyncio.AbstractEventLoop, state: ReplicaState, slot: int):
        sock.setblocking(False)
        self.sock, self.protocol_factory, self.loop = sock, protocol_factory, loop
        self.state, self.slot = state, slot
        self.accepting = self.deferred = False
        self.resume_handle: asyncio.TimerHandle | None = None
        self.connecting: set[asyncio.Task] = set()

    def start(self) -> None:
        if not self.accepting:
            self.accepting = True
            self.loop.add_reader(self.sock.fileno(), self._accept)

    def close(self) -> None:
        if self.resume_handle is not None:
            self.resume_handle.cancel()
        self._stop_watching()
        self.sock.close()

    async def wait_closed(self) -> None:
        """Done once the connections accepted before `close()` are handed to their protocols."""
        if self.connecting:
            await asyncio.wait(list(self.connecting))

    def _stop_watching(self, resume_after: float | None = None) -> None:
        if self.accepting:
            self.accepting = False
            self.loop.remove_reader(self.sock.fileno())
        if resume_after is not None:
            self.resume_handle = self.loop.call_later(resume_after, self.start)

    def _accept(self) -> None:
        if not self.deferred and self.state.busier(self.slot):
            self.deferred = True  # the next wakeup takes a connection whatever the counts
            self._stop_watching(resume_after=DEFER_S)
            return
        try:
            conn, _ = self.sock.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return  # another worker took it, or the client gave up while queued
        except OSError as exc:
            if exc.errno not in RESOURCE_ERRORS:
                raise
            log.error("cannot accept connections (%s); pausing for %g s", exc, PAUSE_S)
            self._stop_watching(resume_after=PAUSE_S)
            return
        self.deferred = False
        self.state.opened(self.slot)  # counted from here: the next wakeup must see it
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        task = self.loop.create_task(self._serve(conn))
        self.connecting.add(task)
        task.add_done_callback(self.connecting.discard)

    async def _serve(self, conn: socket.socket) -> None:
        try:
            await self.loop.connect_accepted_socket(self._counted_protocol, conn)
        except OSError as exc:  # the client went away between accept and now
            log.debug("dropped an accepted connection: %s", exc)
            conn.close()
            self.state.closed(self.slot)

    def _counted_protocol(self) -> asyncio.Protocol:
        """uvicorn's protocol; the connection is counted out of the replica's state when it is lost."""
        return on_connection_lost(self.protocol_factory(), partial(self.state.closed, self.slot))
