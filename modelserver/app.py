"""Cortex routes added to KServe's own FastAPI app, and the ASGI app that wraps it.

KServe keeps its v1/v2 routes, /metrics and exception handlers (added when
`ModelServer.start` builds the app); we add, before that:
POST/GET <endpoint>, <endpoint>/predict (the guides' URL) and /predict, /healthz (liveness), /readyz
(readiness), and the exception handlers that give every route's errors as `{"error": ...}` JSON
(modelserver/errors.py).
`install` returns `BridgeMiddleware` around the app (modelserver/middleware.py):
limits, the deployment-id header, metrics and the predict lane.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.background import BackgroundTask, BackgroundTasks
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from kserve_bridge.errors import ModelInputError

from . import errors
from .errors import NotReady, PredictorError, error_response, to_response
from .middleware import BridgeMiddleware
from .model import PredictorModel
from .payload import make_response, read_payload

log = logging.getLogger("modelserver")


def install(app: FastAPI, model: PredictorModel, endpoint: str, deployment_id: str | None,
            max_concurrency: int, max_payload_bytes: int) -> BridgeMiddleware:
    """Add the Cortex routes and health routes to `app`; returns the ASGI app to serve."""
    async def answer(read: Callable[[], Awaitable[Any]], query: dict, headers: dict) -> Response:
        """The Cortex endpoint; `read` returns the payload or raises BadRequest."""
        try:
            if not model.ready:
                raise NotReady(f"API {model.name} is not ready: {model.load_error or 'loading'}")
            payload = await read()
            result = await model.infer(payload, query, headers)
            try:
                response = make_response(result)
            except TypeError as exc:
                raise PredictorError(f"cannot encode the predictor's result: {exc}") from exc
        except (errors.ServerError, ModelInputError) as exc:
            return to_response(exc)
        except Exception as exc:
            log.exception("predict failed for API %s", model.name)
            return to_response(exc)
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
        """Liveness: answered by the event loop itself; fails only when every predict thread is stuck."""
        stuck = model.stuck()
        if stuck is not None:
            return error_response(503, f"{stuck}; restart needed")
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
    for kind in (errors.ServerError, HTTPException, RequestValidationError):  # KServe adds its own at start
        app.add_exception_handler(kind, errors.handle)
    return BridgeMiddleware(app, model, endpoint, answer, deployment_id=deployment_id,
                            max_concurrency=max_concurrency, max_payload_bytes=max_payload_bytes)


def cortex_predict_path(endpoint: str) -> str:
    """`/<api-name>/predict`: the URL the Cortex guides send requests to (the API's endpoint + /predict)."""
    return endpoint.rstrip("/") + "/predict"
