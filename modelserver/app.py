"""The ASGI app the server runs: our routes on KServe's FastAPI app, behind `BridgeMiddleware`.

Our routes (added before KServe's, so they win where paths meet): the Cortex endpoint
(modelserver/endpoint.py), the v2 model metadata and ready routes of each model and version
(modelserver/v2_rest.py), /healthz (liveness), /readyz (`Readiness`, the one readiness answer) and
/metrics (the replica's, modelserver/metrics.py); and the exception handlers that give every
route's errors as `{"error": ...}` JSON (modelserver/errors.py). KServe adds its v1/v2 routes
(modelserver/internals.py). `install` returns `BridgeMiddleware` around the app
(modelserver/middleware.py): limits, the deployment-id header, metrics and the predict lane.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from kserve.model_repository import ModelRepository as KServeModels
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from . import errors, metrics, v2_rest
from .endpoint import CortexEndpoint
from .errors import NotReady, error_response
from .internals import kserve_app
from .middleware import BridgeMiddleware
from .model import PredictorModel
from .model_names import ModelAlias, model_names

if TYPE_CHECKING:
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


def install(model: PredictorModel, endpoint: CortexEndpoint, readiness: Readiness, deployment_id: str | None,
            max_payload_bytes: int) -> BridgeMiddleware:
    """KServe's app serving `model`, with our routes; returns the ASGI app to serve."""
    async def live(request: Request) -> JSONResponse:
        """Liveness: answered by the event loop itself; fails only when every predict thread is stuck."""
        stuck = model.stuck()
        if stuck is not None:
            return error_response(NotReady.status, f"{stuck}; restart needed")
        return JSONResponse({"status": "alive"})

    async def ready(request: Request) -> JSONResponse:
        status, body = readiness.answer()
        return JSONResponse(body, status_code=status)

    async def exposition(request: Request) -> Response:
        body, content_type = metrics.exposition_for(request.headers.get("accept", ""))
        return Response(body, headers={"content-type": content_type})

    def ours(app: FastAPI) -> None:
        endpoint.add_routes(app)
        v2_rest.add_routes(app, model)  # v2 model metadata and ready, per model and version
        app.add_api_route("/healthz", live, methods=["GET"], include_in_schema=False)
        app.add_api_route("/readyz", ready, methods=["GET"], include_in_schema=False)
        app.add_api_route("/metrics", exposition, methods=["GET"], include_in_schema=False)
        for kind in (errors.ServerError, HTTPException, RequestValidationError):
            app.add_exception_handler(kind, errors.handle)

    models = KServeModels()
    models.update(model)
    for alias in model_names(model):  # each model of the API by its own name (KServe's v1 routes)
        models.update(ModelAlias(model, alias))
    return BridgeMiddleware(kserve_app(models, ours), model, endpoint, readiness, deployment_id=deployment_id,
                            max_payload_bytes=max_payload_bytes)
