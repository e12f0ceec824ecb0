"""`BridgeMiddleware`: the outermost ASGI app, in front of KServe's FastAPI app.

Around every HTTP request: the payload limit (413), content types of the KServe
routes (415), max concurrency (503), the deployment-id header and request metrics.
It also answers the hot path itself (the "predict lane"): POST
`/v1/models/<name>:predict`, the Cortex endpoint and `/predict` with an
`application/json` body go straight to the same `kserve.Model` that KServe
registered, skipping FastAPI's middleware, routing and request objects
(docs/benchmarks.md, "Predict lane"). Anything else, and any v1 request the lane
cannot answer exactly as KServe would (bad JSON, not a JSON object, not ready),
is replayed to KServe's app unchanged.
"""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from kserve.errors import InferenceError, InvalidInput
from starlette.responses import Response

from kserve_bridge.contract import DEPLOYMENT_ID_HEADER

from . import metrics, shadow
from .model import PredictorModel
from .payload import PayloadError, dump_json, error_response
from .repository import ModelNotFoundError

log = logging.getLogger("modelserver")
KSERVE_INFER = re.compile(r"^/v[12]/models/[^/]+(/versions/[^/]+)?(:predict|:explain|/infer)$")
# What KServe's own v1/v2 routes parse (curl -d sends x-www-form-urlencoded; KServe reads it as JSON).
JSON_TYPES = ("application/json", "application/cloudevents+json", "application/octet-stream",
              "application/x-www-form-urlencoded")
V1_ROUTE = "/v1/models/{model_name}:predict"  # KServe's route path, the metrics' route label
CortexPredict = Callable[[Callable[[], Awaitable[Any]], dict, dict], Awaitable[Response]]


class BridgeMiddleware:
    """Limits, the deployment-id header, metrics and the predict lane around `app`."""

    def __init__(self, app: Any, model: PredictorModel, endpoint: str, cortex_predict: CortexPredict,
                 deployment_id: str | None, max_concurrency: int, max_payload_bytes: int):
        self.app, self.model, self.cortex_predict = app, model, cortex_predict
        self.max_concurrency, self.max_payload_bytes = max_concurrency, max_payload_bytes
        self.lanes = {f"/v1/models/{model.name}:predict": V1_ROUTE, endpoint: endpoint, "/predict": "/predict"}
        self.lanes.setdefault(endpoint.rstrip("/") + "/predict", endpoint.rstrip("/") + "/predict")
        self.extra_headers = [(DEPLOYMENT_ID_HEADER.encode(), deployment_id.encode())] if deployment_id else []
        self.in_flight_gauge = metrics.IN_FLIGHT.labels(model.name)
        self.series: dict[tuple, tuple] = {}
        self.shadow = shadow.from_env()  # copies a share of predict requests to a candidate (canary --shadow)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status, lane, ended = time.perf_counter(), [500], [None], [0.0]

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = list(message.get("headers", [])) + self.extra_headers
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                ended[0] = time.perf_counter()  # latency ends here, not after post_predict's background task

        try:
            limited = scope["method"] == "POST"
            if limited and self.model.in_flight >= self.max_concurrency:
                await self.reply(send_with_headers, 503, f"too many requests in flight (max_concurrency "
                                                         f"{self.max_concurrency}); retry later")
            elif limited:
                self.model.in_flight += 1
                self.in_flight_gauge.inc()
                try:
                    lane[0] = await self.limited(scope, receive, send_with_headers)
                finally:
                    self.model.in_flight -= 1
                    self.in_flight_gauge.dec()
            else:
                await self.app(scope, receive, send_with_headers)
        finally:
            self.record(lane[0] or getattr(scope.get("route"), "path", "unmatched"), scope["method"], status[0],
                        (ended[0] or time.perf_counter()) - started)

    def record(self, route: str, method: str, code: int, seconds: float) -> None:
        key = (route, method, code)
        series = self.series.get(key)
        if series is None:
            api = self.model.name
            series = self.series[key] = (metrics.REQUESTS.labels(api, route, method, str(code)),
                                         metrics.LATENCY.labels(api, route),
                                         metrics.ERRORS.labels(api, route) if code >= 500 else None)
        series[0].inc()
        series[1].observe(seconds)
        if series[2] is not None:
            series[2].inc()

    async def limited(self, scope: dict, receive: Any, send: Any) -> str | None:
        """Answer a POST; returns the lane's route label when the lane answered it."""
        kind, declared = "", ""
        for key, value in scope["headers"]:
            if key == b"content-type":
                kind = value.decode("latin-1").split(";")[0].strip().lower()
            elif key == b"content-length":
                declared = value.decode("latin-1")
        path = scope["path"]
        if kind and kind not in JSON_TYPES and KSERVE_INFER.match(path):
            return await self.reply(send, 415, f"unsupported content type {kind!r} for {path}; "
                                               f"send application/json")
        if declared.isdigit() and int(declared) > self.max_payload_bytes:
            return await self.too_large(send)
        parts, size, more = [], 0, True  # a chunked or large body comes in parts: join them once
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            parts.append(message.get("body", b""))
            size += len(parts[-1])
            more = message.get("more_body", False)
            if size > self.max_payload_bytes:
                return await self.too_large(send)
        body = b"".join(parts)  # one part: the same bytes object, no copy
        route = self.lanes.get(path) if kind == "application/json" else None
        if route is not None or KSERVE_INFER.match(path):
            self.shadow.offer(path, body, kind, scope["headers"])
        if route == V1_ROUTE and await self.v1_predict(body, scope, send):
            return route
        if route is not None and route != V1_ROUTE:
            await self.cortex(body, scope, receive, send)
            return route
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()
        await self.app(scope, replay, send)
        return None

    async def v1_predict(self, body: bytes, scope: dict, send: Any) -> bool:
        """KServe's v1 predict without FastAPI; False leaves the request to KServe's own route."""
        if not self.model.ready:
            return False
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return False
        if not isinstance(payload, dict):
            return False
        try:
            result = await self.model.predict(self.model.validate(payload), request_headers(scope))
            out = dump_json(result)
        except ModelNotFoundError as exc:
            await self.reply(send, 404, exc.args[0])
        except InvalidInput as exc:
            await self.reply(send, 400, str(exc))
        except (InferenceError, TypeError) as exc:
            await self.reply(send, 500, str(exc))
        else:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(out)).encode())]})
            await send({"type": "http.response.body", "body": out})
        return True

    async def cortex(self, body: bytes, scope: dict, receive: Any, send: Any) -> None:
        """The Cortex endpoint's JSON case: the same handler as the route, minus the Starlette Request."""
        async def read() -> Any:
            try:
                return orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise PayloadError(f"malformed JSON body: {exc}") from exc
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        response = await self.cortex_predict(read, query, request_headers(scope))
        await response(scope, receive, send)

    async def too_large(self, send: Any) -> None:
        await self.reply(send, 413, f"payload larger than the limit of {self.max_payload_bytes} bytes")

    @staticmethod
    async def reply(send: Any, status: int, message: str) -> None:
        await error_response(status, message)({"type": "http"}, None, send)


def request_headers(scope: dict) -> dict[str, str]:
    """Like dict(starlette Request.headers): lower-case names, the first value of a repeated header."""
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in reversed(scope["headers"])}
