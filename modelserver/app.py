"""The ASGI app the server runs: our routes on KServe's FastAPI app, behind `BridgeMiddleware`.

Our routes (added before KServe's, so they win where paths meet): the Cortex endpoint
(modelserver/endpoint.py), the v2 model metadata and ready routes of each model and version
(modelserver/v2_rest.py), /healthz (liveness), /readyz (modelserver/readiness.py, the one readiness answer) and
/metrics (the replica's, modelserver/metrics.py); and the exception handlers that give every
route's errors as `{"error": ...}` JSON (modelserver/errors.py). KServe adds its v1/v2 routes
(modelserver/internals.py). `install` returns `BridgeMiddleware` around the app
(modelserver/middleware.py): limits, the deployment-id header, metrics and the predict lane.
"""
from __future__ import annotations

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
from .readiness import Readiness


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
