"""`CortexEndpoint`: the Cortex API's own routes on the API's model.

POST <endpoint>, <endpoint>/predict (the URL the Cortex guides send requests to) and /predict run
the predictor (and its `post_predict` after the answer is sent); GET on them describes the API.
BridgeMiddleware's predict lane calls `answer` directly for JSON bodies; other bodies arrive
through the FastAPI route `predict`. Every error answer comes from modelserver/errors.py.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from starlette.background import BackgroundTask, BackgroundTasks
from starlette.responses import JSONResponse, Response

from kserve_bridge.errors import ModelInputError

from . import tracing
from .errors import ServerError, to_response
from .model import PredictorModel
from .payload import make_response, read_payload

log = logging.getLogger("modelserver")


class CortexEndpoint:
    def __init__(self, model: PredictorModel, endpoint: str):
        self.model = model
        self.paths = tuple(dict.fromkeys([endpoint, "/predict", cortex_predict_path(endpoint)]))

    def add_routes(self, app: FastAPI) -> None:
        for path in self.paths:
            app.add_api_route(path, self.predict, methods=["POST"], include_in_schema=False)
            app.add_api_route(path, self.describe, methods=["GET"], include_in_schema=False)

    async def answer(self, read: Callable[[], Awaitable[Any]], query: dict, headers: dict) -> Response:
        """Run the predictor on what `read` returns (it raises BadRequest for a body it cannot parse)."""
        model = self.model
        try:
            model.check_ready()
            payload = await read()
            result = await model.infer(payload, query, headers)
            with tracing.stage("encode"):
                response = make_response(result)  # PredictorFailed when JSON cannot hold the result
        except (ServerError, ModelInputError) as exc:
            return to_response(exc)
        except Exception as exc:
            log.exception("predict failed for API %s", model.name)
            return to_response(exc)
        if getattr(model.predictor, "post_predict", None) is not None:  # after the predictor's own task, if any
            tasks = [response.background] if response.background is not None else []
            response.background = BackgroundTasks([*tasks, BackgroundTask(model.post_predict, result, payload,
                                                                           query, headers)])
        return response

    async def predict(self, request: Request) -> Response:
        return await self.answer(lambda: read_payload(request), dict(request.query_params), dict(request.headers))

    async def describe(self, request: Request) -> JSONResponse:
        model = self.model
        return JSONResponse({"message": f"API {model.name} is {'ready' if model.ready else 'not ready'}; "
                                        f"POST a payload to predict", "model_metadata": model.metadata()})


def cortex_predict_path(endpoint: str) -> str:
    """`/<api-name>/predict`: the URL the Cortex guides send requests to (the API's endpoint + /predict)."""
    return endpoint.rstrip("/") + "/predict"
