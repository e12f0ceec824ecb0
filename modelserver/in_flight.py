"""`InFlight`: the one count of an API's requests, and its `max_concurrency` limit.

Two numbers, changed only here (BridgeMiddleware calls the methods around each POST):
`arriving`, POSTs begun whose body may still be arriving (the batchers read it to decide whether a
batch can still grow), and `count`, POSTs whose body is read and that hold a concurrency slot
(slow uploads hold none). With `processes_per_replica` > 1 a slot is one of the replica's permits
(`ReplicaState`, shared by every process), so the limit is the replica's, as Cortex's nginx
`limit_conn` was. A POST over the limit raises `Overloaded` (503 in modelserver/errors.py).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import metrics
from .errors import Overloaded

if TYPE_CHECKING:
    from .replica import ReplicaState


class InFlight:
    def __init__(self, api: str, max_concurrency: int, replica: ReplicaState | None = None, slot: int = 0):
        self.max_concurrency, self.replica, self.slot = max_concurrency, replica, slot
        self.arriving = 0
        self.count = 0
        self.gauge = metrics.IN_FLIGHT.labels(api)
        self.full = (f"too many requests in flight (max_concurrency {max_concurrency}"
                     + (f" across the replica's {replica.processes} processes" if replica is not None else "")
                     + "); retry later")

    def begin(self) -> None:
        """A POST begins (its body may still be arriving)."""
        self.arriving += 1

    def end(self) -> None:
        self.arriving -= 1

    def enter(self) -> None:
        """Take a slot for a POST whose body is read; raises Overloaded when every slot is taken."""
        if self.replica is not None:
            if not self.replica.enter(self.slot):
                raise Overloaded(self.full)
        elif self.count >= self.max_concurrency:
            raise Overloaded(self.full)
        self.count += 1
        self.gauge.inc()

    def leave(self) -> None:
        self.count -= 1
        self.gauge.dec()
        if self.replica is not None:
            self.replica.leave(self.slot)
