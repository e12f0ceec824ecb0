"""Cortex routes added to KServe's own FastAPI app, and the ASGI app that wraps it.

KServe keeps its v1/v2 routes, /metrics and exception handlers (added when
`ModelServer.start` builds the app); we add, before that:
POST/GET <endpoint>, <endpoint>/predict (the guides' URL) and /predict, /healthz (liveness), /readyz (readiness).
`install` returns `BridgeMiddleware` around the app (modelserver/middleware.py):
limits, the deployment-id header, metrics and the predict lane.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from starlette.background import BackgroundTask, BackgroundTasks
from starlette.responses import JSONResponse, Response

from kserve_bridge.errors import ModelInputError

from .middleware import BridgeMiddleware
from .model import PredictorModel
from .payload import PayloadError, error_response, make_response, read_payload
from .repository import ModelNotFoundError

log = logging.getLogger("modelserver")


def install(app: FastAPI, model: PredictorModel, endpoint: str, deployment_id: str | None,
            max_concurrency: int, max_payload_bytes: int) -> BridgeMiddleware:
    """Add the Cortex routes and health routes to `app`; returns the ASGI app to serve."""
    async def answer(read: Callable[[], Awaitable[Any]], query: dict, headers: dict) -> Response:
        """The Cortex endpoint; `read` returns the payload or raises PayloadError."""
        if not model.ready:
            return error_response(503, f"API {model.name} is not ready: {model.load_error or 'loading'}")
        try:
            payload = await read()
        except PayloadError as exc:
            return error_response(400, str(exc))
        try:
            result = await model.infer(payload, query, headers)
        except ModelNotFoundError as exc:
            return error_response(404, exc.args[0])
        except ModelInputError as exc:
            return error_response(400, str(exc))
        except Exception as exc:
            log.exception("predict failed for API %s", model.name)
            return error_response(500, f"{type(exc).__name__}: {exc}")
        try:
            response = make_response(result)
        except TypeError as exc:
            return error_response(500, f"cannot encode the predictor's result: {exc}")
        if getattr(model.predictor, "post_predict", None) is not None:  # after the predictor's own task, if any
            tasks = [response.background] if response.background is not None else []
            response.background = BackgroundTasks([*tasks, BackgroundTask(model.post_predict, result, payload,
                                                                           query, headers)])
        return response

    async def predict(request: Request) -> Response:
        return await answer(lambda: read_payload(request), dict(request.query_params), dict(request.headers))

    async def describe(request: Request) -> JSONResponse:
        return JSONResponse({"message": f"API {model.name} is {'ready' if model.ready else 'not ready'}; "
                                        f"POST a payload to predict", "model_metadata": model.metadata()},
                            status_code=200)

    async def live(request: Request) -> JSONResponse:
        return JSONResponse({"status": "alive"})

    async def ready(request: Request) -> JSONResponse:
        if model.ready:
            return JSONResponse({"ready": True})
        return JSONResponse({"ready": False, "error": model.load_error or "loading"}, status_code=503)

    for path in dict.fromkeys([endpoint, "/predict", cortex_predict_path(endpoint)]):
        app.add_api_route(path, predict, methods=["POST"], include_in_schema=False)
        app.add_api_route(path, describe, methods=["GET"], include_in_schema=False)
    app.add_api_route("/healthz", live, methods=["GET"], include_in_schema=False)
    app.add_api_route("/readyz", ready, methods=["GET"], include_in_schema=False)
    app.add_exception_handler(ModelNotFoundError, lambda _, exc: error_response(404, exc.args[0]))
    return BridgeMiddleware(app, model, endpoint, answer, deployment_id=deployment_id,
                            max_concurrency=max_concurrency, max_payload_bytes=max_payload_bytes)


def cortex_predict_path(endpoint: str) -> str:
    """`/<api-name>/predict`: the URL the Cortex guides send requests to (the API's endpoint + /predict)."""
    return endpoint.rstrip("/") + "/predict"
