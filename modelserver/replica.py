"""What the server processes of one replica share (`processes_per_replica` > 1).

The supervisor (modelserver/supervisor.py) makes one `ReplicaState` before it starts the
workers and hands it to each when it is spawned. One slot per worker: its pid, whether its
predictor loaded, how many POSTs it is serving and connections it holds; plus whether every worker
has loaded once.
One counting semaphore holds the replica's `max_concurrency` permits, so the limit is the replica's,
as Cortex's nginx `limit_conn` was.
A worker that dies holding permits gets them back from the supervisor (`free`), which knows
how many from the slot. Kept free of heavy imports: the supervisor imports it.
"""
from __future__ import annotations

from multiprocessing.context import BaseContext


class ReplicaState:
    """Shared memory for N worker slots plus the replica-wide in-flight semaphore."""

    def __init__(self, processes: int, max_concurrency: int, context: BaseContext):
        self.processes, self.max_concurrency = processes, max_concurrency
        self.pids = context.RawArray("l", processes)  # 0: no live worker in the slot
        self.ready = context.RawArray("b", processes)  # 1: its predictor loaded
        self.in_flight = context.RawArray("l", processes)  # POSTs it holds permits for
        self.connections = context.RawArray("l", processes)  # open client connections (modelserver/accept.py)
        self.was_ready = context.RawValue("b", 0)  # 1 once every worker had loaded (set by the last to load)
        self.restarts = context.RawValue("l", 0)  # workers restarted after they exited (by the supervisor)
        self.draining = context.RawValue("b", 0)  # 1 from SIGTERM on: /readyz fails (set by the supervisor)
        self.permits = context.Semaphore(max_concurrency)

    # worker side (each slot is written only by its own worker while that worker lives)

    def enter(self, slot: int) -> bool:
        """Take one of the replica's permits for a request; False when all are taken."""
        if not self.permits.acquire(False):
            return False
        self.in_flight[slot] += 1
        return True

    def leave(self, slot: int) -> None:
        self.in_flight[slot] -= 1
        self.permits.release()

    def opened(self, slot: int) -> None:
        self.connections[slot] += 1

    def closed(self, slot: int) -> None:
        self.connections[slot] -= 1

    def busier(self, slot: int) -> bool:
        """True when another live, loaded worker holds fewer connections than this one."""
        others = [self.connections[i] for i in range(self.processes)
                  if i != slot and self.pids[i] and self.ready[i]]
        return bool(others) and self.connections[slot] > min(others)

    def all_ready(self) -> bool:
        return all(self.ready[i] and self.pids[i] for i in range(self.processes))

    def loaded(self, slot: int, ready: bool) -> None:
        self.ready[slot] = int(ready)
        if self.all_ready():
            self.was_ready.value = 1

    def counts(self) -> tuple[int, int, int]:
        """Processes configured, live and loaded, restarted (kserve_bridge_processes*, metrics.Processes)."""
        return self.processes, sum(bool(self.ready[i] and self.pids[i]) for i in range(self.processes)), \
            self.restarts.value

    def describe(self) -> list[dict]:
        """Per slot: pid and readiness (for /readyz)."""
        return [{"pid": self.pids[i] or None, "ready": bool(self.ready[i] and self.pids[i])}
                for i in range(self.processes)]

    # supervisor side

    def claim(self, slot: int, pid: int) -> None:
        """A new worker runs in `slot` (its fields were reset by `free`, or never used)."""
        self.pids[slot] = pid

    def free(self, slot: int) -> int:
        """The worker in `slot` is gone: return its permits; returns how many it held."""
        held = max(0, self.in_flight[slot])
        for _ in range(held):
            self.permits.release()
        self.pids[slot], self.ready[slot], self.in_flight[slot], self.connections[slot] = 0, 0, 0, 0
        return held
