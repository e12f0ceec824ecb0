"""`Readiness`: the one readiness answer, read by /readyz (modelserver/app.py), the gRPC
ServerReady and ModelReady calls (modelserver/grpc_service.py) and the drain (`connection: close`
while draining, modelserver/middleware.py)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import NotReady

if TYPE_CHECKING:
    from .model import PredictorModel
    from .replica import ReplicaState


class Readiness:
    """The one /readyz answer. Not ready while the predictor loads (or after it failed to), once a
    SIGTERM began the drain, and, for one process of a replica, until every process had loaded once
    (a later restart of one does not make the replica unready: the others serve meanwhile)."""

    def __init__(self, model: PredictorModel, replica: ReplicaState | None = None):
        self.model, self.replica = model, replica
        self.stopping = False

    @property
    def draining(self) -> bool:
        return self.stopping or (self.replica is not None and self.replica.draining.value == 1)

    def drain(self) -> None:
        """SIGTERM: readiness fails from now on (the supervisor marks a whole replica)."""
        self.stopping = True

    def answer(self) -> tuple[int, dict]:
        extra: dict[str, Any] = {} if self.replica is None else {"processes": self.replica.describe()}
        error = None
        if self.draining:
            error = "shutting down"
        elif not self.model.ready:
            error = self.model.load_error or "loading"
        elif self.replica is not None and not self.replica.was_ready.value:
            error = f"{sum(p['ready'] for p in extra['processes'])} of {self.replica.processes} processes loaded"
        if error is not None:
            return NotReady.status, {"ready": False, "error": error, **extra}
        return 200, {"ready": True, **extra}
