"""`processes_per_replica: N`: N server processes behind one port.

The supervisor binds the port once and spawns N workers (modelserver/worker.py) that all
accept on that one socket, each with its own predictor and `threads_per_process` predict
threads. Why an inherited socket and not SO_REUSEPORT (docs/processes.md): the port stays
bound while a worker restarts, a dying worker cannot take queued connections with it, and an
idle worker accepts before a busy one (with SO_REUSEPORT the kernel hashes each connection to
a socket whatever that worker is doing). uvicorn's and KServe's `--workers` do the same.

It restarts a worker that exits (backing off while one keeps dying young; each restart is counted
in kserve_bridge_process_restarts_total). While a worker is down the replica serves with the
others and stays ready (kserve_bridge_processes_ready < kserve_bridge_processes says so, and
KServeBridgeReplicaDegraded alerts); a worker that cannot be restored within the restore deadline
(KSERVE_BRIDGE_RESTORE_DEADLINE_S, default 600) stops the replica with exit 1, so that Kubernetes
restarts it, counts it and, if it cannot load either, backs off (docs/limits.md). On SIGTERM it marks
the replica unready and, for the drain delay (--drain_delay_s), lets the workers keep accepting;
then (at once on SIGINT) it closes its copy of the socket and passes SIGTERM on: each worker stops
accepting, finishes the requests it holds (up to `GRACE_S`) and exits. The supervisor itself imports
neither KServe nor the predictor.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import time
from multiprocessing.connection import wait
from pathlib import Path

from kserve_bridge.contract import ServerSettings

from .replica import ReplicaState
from .termination import report_failure

log = logging.getLogger("modelserver.supervisor")
LOAD_FAILED = 1  # a worker's exit status when the predictor fails to load (termination.report_failure)
GRACE_S = 35.0  # KServe's uvicorn drains for 30 s (ModelServer grace_period); then SIGKILL
YOUNG_S = 10.0  # a worker dying sooner than this after its start is restarted with a growing delay
MAX_BACKOFF_S = 30.0
# How long a slot may stay without a loaded worker (it keeps failing to restart: a model store that is
# down, a crash at load) before the replica exits 1, so Kubernetes restarts it and counts it.
RESTORE_DEADLINE_ENV = "KSERVE_BRIDGE_RESTORE_DEADLINE_S"
RESTORE_DEADLINE_S = 600.0
RESTORE_POLL_S = 1.0  # how often a restarting slot is looked at


def _worker_main(*args) -> None:
    """The spawn target; imports the server stack only in the worker."""
    from .deferred import defer_unused
    defer_unused()  # before kserve is imported (modelserver/deferred.py)
    from .worker import run
    run(*args)


LISTEN_BACKLOG = 2048


def listen(host: str, port: int) -> socket.socket:
    """The replica's listening socket (queue: uvicorn's default backlog). Each worker accepts from it
    (modelserver/accept.py) and sets TCP_NODELAY on what it accepts: without it Nagle's algorithm
    and delayed ACKs stall keep-alive responses by up to 40 ms."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


class Supervisor:
    def __init__(self, settings: ServerSettings, model_dir: Path, name: str, host: str, port: int,
                 max_payload_bytes: int, payload_log: dict | None = None, drain_delay_s: float = 0.0,
                 grpc_port: int | None = None):
        self.drain_delay_s = drain_delay_s
        self.drain_at: float | None = None  # when a SIGTERM's delay ends
        self.processes = settings.processes_per_replica
        self.context = multiprocessing.get_context("spawn")
        self.state = ReplicaState(self.processes, settings.max_concurrency, self.context)
        self.sock = listen(host, port)
        # gRPC: every worker listens on grpc_port itself (SO_REUSEPORT); held here meanwhile (grpc_server.py)
        self.grpc_hold = None
        if grpc_port is not None:
            from .grpc_server import reserve
            try:
                self.grpc_hold = reserve(host, grpc_port)
            except OSError:
                self.sock.close()
                raise
        self.args = (settings, model_dir, name, max_payload_bytes, payload_log, self.sock, self.state, grpc_port)
        self.workers: list = [None] * self.processes
        self.started = [0.0] * self.processes
        self.backoff = [0.0] * self.processes
        self.due: dict[int, float] = {}  # slot -> when to restart it
        self.down_since: dict[int, float] = {}  # slot -> when it last had a loaded worker (after a restart)
        self.restore_deadline_s = float(os.environ.get(RESTORE_DEADLINE_ENV, RESTORE_DEADLINE_S))
        self.last_exit: dict[int, str] = {}
        self.stopping = False
        self.exit_code = 0
        self.wakeup_r, self.wakeup_w = os.pipe()

    def start(self, slot: int) -> None:
        process = self.context.Process(target=_worker_main, args=(*self.args, slot), name=f"worker-{slot}")
        process.start()
        assert process.pid is not None  # set by start()
        self.state.claim(slot, process.pid)
        self.workers[slot], self.started[slot] = process, time.monotonic()
        log.info("worker %d started [%d]", slot, process.pid)

    def reap(self, slot: int) -> None:
        """A worker exited: give back what it held and schedule its restart."""
        process = self.workers[slot]
        process.join()
        self.workers[slot] = None
        held = self.state.free(slot)
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(process.pid)  # its live gauges leave /metrics; its counters stay
        if self.stopping:
            return
        if process.exitcode == LOAD_FAILED and not self.state.was_ready.value:
            # The predictor cannot load (the worker logged why and wrote the termination message):
            # stop the replica, so Kubernetes restarts it with back-off, as with one process.
            log.error("worker %d [%d] could not load the predictor; stopping the replica", slot, process.pid)
            self.stopping, self.exit_code = True, LOAD_FAILED
            return
        lived = time.monotonic() - self.started[slot]
        self.backoff[slot] = 0.0 if lived >= YOUNG_S else min(MAX_BACKOFF_S, max(1.0, 2 * self.backoff[slot]))
        log.error("worker %d [%d] exited with %s after %.1fs%s; restarting%s", slot, process.pid, process.exitcode,
                  lived, f" holding {held} requests" if held else "",
                  f" in {self.backoff[slot]:.0f}s" if self.backoff[slot] else "")
        self.due[slot] = time.monotonic() + self.backoff[slot]
        self.down_since.setdefault(slot, time.monotonic())
        self.last_exit[slot] = f"exit status {process.exitcode}"

    def check_restored(self) -> None:
        """Slots whose restarted worker has loaded are restored; one that stays down past the restore
        deadline stops the replica (exit 1, the reason in the termination message)."""
        now = time.monotonic()
        for slot, since in list(self.down_since.items()):
            if self.state.ready[slot] and self.state.pids[slot]:
                del self.down_since[slot]
                log.info("worker %d restored after %.1fs", slot, now - since)
            elif now - since >= self.restore_deadline_s:
                report_failure(f"worker {slot} of {self.processes} could not be restored for "
                               f"{self.restore_deadline_s:g}s (last: {self.last_exit.get(slot)}); stopping the "
                               f"replica so that it is restarted")
                self.stopping, self.exit_code = True, LOAD_FAILED

    def on_signal(self, signum: int, frame: object) -> None:
        """SIGTERM with a drain delay: the replica is unready at once (every worker's /readyz reads the
        flag) and keeps accepting until the delay ends. Else, or a second signal: drain now."""
        if signum == signal.SIGTERM and self.drain_delay_s and self.drain_at is None and not self.stopping:
            self.state.draining.value = 1
            self.drain_at = time.monotonic() + self.drain_delay_s
            log.info("SIGTERM: not ready; still accepting for %g s before draining", self.drain_delay_s)
        else:
            self.stopping = True
        os.write(self.wakeup_w, b"x")

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self.on_signal)
        log.info("serving on %s:%d with %d processes", *self.sock.getsockname()[:2], self.processes)
        for slot in range(self.processes):
            self.start(slot)
        while not self.stopping:
            now = time.monotonic()
            if self.drain_at is not None and now >= self.drain_at:
                break
            for slot in [s for s, when in self.due.items() if when <= now]:
                del self.due[slot]
                self.start(slot)
                self.state.restarts.value += 1
            self.check_restored()
            if self.stopping:
                break
            deadlines = [*self.due.values(), *([self.drain_at] if self.drain_at is not None else []),
                         *([now + RESTORE_POLL_S] if self.down_since else [])]
            timeout = max(0.0, min(deadlines) - now) if deadlines else None
            live = {p.sentinel: slot for slot, p in enumerate(self.workers) if p is not None}
            for ready in wait([*live, self.wakeup_r], timeout):
                if ready == self.wakeup_r:
                    os.read(self.wakeup_r, 64)
                elif ready in live and not self.stopping:
                    self.reap(live[ready])
        self.stopping = True
        return self.drain()

    def drain(self) -> int:
        """Stop accepting, let every worker finish what it holds, then exit."""
        log.info("draining %d workers", sum(p is not None for p in self.workers))
        self.sock.close()
        if self.grpc_hold is not None:
            self.grpc_hold.close()
        for process in self.workers:
            if process is not None and process.exitcode is None:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_S
        for slot, process in enumerate(self.workers):
            if process is None:
                continue
            process.join(max(0.0, deadline - time.monotonic()))
            if process.exitcode is None:
                log.warning("worker %d [%d] still busy after %.0fs; killing it", slot, process.pid, GRACE_S)
                process.kill()
                process.join()
            self.reap(slot)
        log.info("all workers stopped")
        return self.exit_code


def supervise(settings: ServerSettings, model_dir: Path, name: str, host: str, port: int,
              max_payload_bytes: int, payload_log: dict | None = None, drain_delay_s: float = 0.0,
              grpc_port: int | None = None) -> int:
    """Run `settings.processes_per_replica` workers on host:port until SIGTERM; returns the exit code.
    `payload_log`: each worker runs its own payload logger with these arguments."""
    metrics_dir = tempfile.mkdtemp(prefix="kserve-bridge-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir  # inherited by the workers: replica-wide /metrics
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if "OMP_NUM_THREADS" not in os.environ and "OMP_NUM_THREADS" not in settings.env:
        # N processes x all cores of intra-op threads each would oversubscribe the CPU
        os.environ["OMP_NUM_THREADS"] = str(max(1, cores // settings.processes_per_replica))
    try:
        try:
            supervisor = Supervisor(settings, model_dir, name, host, port, max_payload_bytes, payload_log,
                                    drain_delay_s, grpc_port)
        except OSError as exc:
            log.error("cannot listen on %s:%s: %s", host, f"{port}{f' or {grpc_port}' if grpc_port else ''}", exc)
            return 1
        return supervisor.run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
