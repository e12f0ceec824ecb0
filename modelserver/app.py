"""Cortex routes and middleware added to KServe's own FastAPI app.

KServe keeps its v1/v2 routes, /metrics and exception handlers (added when
`ModelServer.start` builds the app); we add, before that:
POST/GET <endpoint> and /predict, /healthz (liveness), /readyz (readiness),
and one ASGI middleware for the payload limit (413), content types of the
KServe routes (415), max concurrency (503), the deployment-id header and
request metrics.
"""
from __future__ import annotations

import logging
import re
import time
from typing import Any

from fastapi import FastAPI, Request
from starlette.background import BackgroundTask
from starlette.responses import JSONResponse, Response

from kserve_bridge.contract import DEPLOYMENT_ID_HEADER

from . import metrics
from .model import PredictorModel
from .payload import PayloadError, error_response, make_response, read_payload
from .repository import ModelNotFoundError

log = logging.getLogger("modelserver")
KSERVE_INFER = re.compile(r"^/v[12]/models/[^/]+(/versions/[^/]+)?(:predict|:explain|/infer)$")
# What KServe's own v1/v2 routes parse (curl -d sends x-www-form-urlencoded; KServe reads it as JSON).
JSON_TYPES = ("application/json", "application/cloudevents+json", "application/octet-stream",
              "application/x-www-form-urlencoded")


def install(app: FastAPI, model: PredictorModel, endpoint: str, deployment_id: str | None,
            max_concurrency: int, max_payload_bytes: int) -> None:
    """Add the Cortex routes, health routes and middleware to `app`."""
    async def predict(request: Request) -> Response:
        if not model.ready:
            return error_response(503, f"API {model.name} is not ready: {model.load_error or 'loading'}")
        try:
            payload = await read_payload(request)
        except PayloadError as exc:
            return error_response(400, str(exc))
        query, headers = dict(request.query_params), dict(request.headers)
        try:
            result = await model.infer(payload, query, headers)
        except ModelNotFoundError as exc:
            return error_response(404, exc.args[0])
        except Exception as exc:
            log.exception("predict failed for API %s", model.name)
            return error_response(500, f"{type(exc).__name__}: {exc}")
        try:
            response = make_response(result)
        except TypeError as exc:
            return error_response(500, f"cannot encode the predictor's result: {exc}")
        if getattr(model.predictor, "post_predict", None) is not None:
            response.background = BackgroundTask(model.post_predict, result, payload, query, headers)
        return response

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

    for path in dict.fromkeys([endpoint, "/predict"]):
        app.add_api_route(path, predict, methods=["POST"], include_in_schema=False)
        app.add_api_route(path, describe, methods=["GET"], include_in_schema=False)
    app.add_api_route("/healthz", live, methods=["GET"], include_in_schema=False)
    app.add_api_route("/readyz", ready, methods=["GET"], include_in_schema=False)
    app.add_exception_handler(ModelNotFoundError, lambda _, exc: error_response(404, exc.args[0]))
    app.add_middleware(BridgeMiddleware, api=model.name, deployment_id=deployment_id,
                       max_concurrency=max_concurrency, max_payload_bytes=max_payload_bytes)


class BridgeMiddleware:
    """Limits, the deployment-id header and metrics around every HTTP request."""

    def __init__(self, app: Any, api: str, deployment_id: str | None, max_concurrency: int,
                 max_payload_bytes: int):
        self.app, self.api, self.max_concurrency, self.max_payload_bytes = app, api, max_concurrency, max_payload_bytes
        self.extra_headers = [(DEPLOYMENT_ID_HEADER.encode(), deployment_id.encode())] if deployment_id else []
        self.in_flight = 0

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), [500]

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = list(message.get("headers", [])) + self.extra_headers
            await send(message)

        limited = scope["method"] == "POST"
        if limited and self.in_flight >= self.max_concurrency:
            await self.reply(scope, send_with_headers, 503, f"too many requests in flight (max_concurrency "
                                                            f"{self.max_concurrency}); retry later")
        elif limited:
            self.in_flight += 1
            metrics.IN_FLIGHT.labels(self.api).inc()
            try:
                await self.limited(scope, receive, send_with_headers)
            finally:
                self.in_flight -= 1
                metrics.IN_FLIGHT.labels(self.api).dec()
        else:
            await self.app(scope, receive, send_with_headers)
        route = getattr(scope.get("route"), "path", "unmatched")
        metrics.REQUESTS.labels(self.api, route, scope["method"], str(status[0])).inc()
        metrics.LATENCY.labels(self.api, route).observe(time.perf_counter() - started)
        if status[0] >= 500:
            metrics.ERRORS.labels(self.api, route).inc()

    async def limited(self, scope: dict, receive: Any, send: Any) -> None:
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        kind = headers.get("content-type", "").split(";")[0].strip().lower()
        if KSERVE_INFER.match(scope["path"]) and kind and kind not in JSON_TYPES:
            return await self.reply(scope, send, 415, f"unsupported content type {kind!r} for {scope['path']}; "
                                                      f"send application/json")
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_payload_bytes:
            return await self.too_large(scope, send)
        body, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_payload_bytes:
                return await self.too_large(scope, send)
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()
        await self.app(scope, replay, send)

    async def too_large(self, scope: dict, send: Any) -> None:
        await self.reply(scope, send, 413, f"payload larger than the limit of {self.max_payload_bytes} bytes")

    @staticmethod
    async def reply(scope: dict, send: Any, status: int, message: str) -> None:
        await error_response(status, message)(scope, None, send)
