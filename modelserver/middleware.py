"""`BridgeMiddleware`: the outermost ASGI app, in front of KServe's FastAPI app.

Around every HTTP request: the payload limit (413), content types of the KServe
routes (415), a body that does not arrive in time (408), max concurrency (503,
counted once a POST's body is read, so slow uploads hold no slot), the
deployment-id header and request metrics; while the server drains (SIGTERM),
`connection: close` on every answer. Every error answer comes from
modelserver/errors.py.
It also answers the hot path itself (the "predict lane"): POST
`/v1/models/<name>:predict`, the Cortex endpoint and `/predict` with an
`application/json` body go straight to the same `kserve.Model` that KServe
registered, skipping FastAPI's middleware, routing and request objects
(docs/benchmarks.md, "Predict lane"); POST `/v2/models/<name>[/versions/<v>]/infer`
goes to the v2 lane (modelserver/v2_rest.py). Anything else, and any v1 request the lane
cannot answer exactly as KServe would (bad JSON, not a JSON object, not ready),
is replayed to KServe's app unchanged. A gzip/deflate body is decoded first, within the
payload limit (modelserver/content_encoding.py).
"""
from __future__ import annotations

import asyncio
import logging
import re
import sys
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import orjson

from kserve_bridge.contract import DEPLOYMENT_ID_HEADER

from . import metrics, shadow, tracing
from .content_encoding import decode_body
from .endpoint import CortexEndpoint
from .errors import (
    BadRequest,
    BodyTimeout,
    PayloadTooLarge,
    ServerError,
    UnsupportedMediaType,
    send_error,
)
from .model import PredictorModel
from .payload import dump_json, send_ok
from .v2_rest import V2Lane

if TYPE_CHECKING:
    from .readiness import Readiness

log = logging.getLogger("modelserver")
KSERVE_INFER = re.compile(r"^/v[12]/models/[^/]+(/versions/[^/]+)?(:predict|:explain|/infer)$")
# What KServe's own v1/v2 routes parse (curl -d sends x-www-form-urlencoded; KServe reads it as JSON).
JSON_TYPES = ("application/json", "application/cloudevents+json", "application/octet-stream",
              "application/x-www-form-urlencoded")
V1_ROUTE = "/v1/models/{model_name}:predict"  # KServe's route path, the metrics' route label
CLOSE = (b"connection", b"close")
BODY_TIMEOUT_S = 60.0  # the most a request body may take to arrive (capped by the API's request_timeout)


class BridgeMiddleware:
    """Limits, the deployment-id header, metrics and the predict lane around `app`."""

    def __init__(self, app: Any, model: PredictorModel, endpoint: CortexEndpoint, readiness: Readiness,
                 deployment_id: str | None, max_payload_bytes: int):
        self.app, self.model, self.endpoint, self.readiness = app, model, endpoint, readiness
        self.requests = model.requests  # the one in-flight count and its limit (modelserver/in_flight.py)
        self.body_timeout = min(BODY_TIMEOUT_S, model.settings.request_timeout)
        self.max_payload_bytes = max_payload_bytes
        self.lanes = {f"/v1/models/{model.name}:predict": V1_ROUTE, **{path: path for path in endpoint.paths}}
        self.extra_headers = [(DEPLOYMENT_ID_HEADER.encode(), deployment_id.encode())] if deployment_id else []
        self.series = metrics.Requests(model.name)
        self.v2 = V2Lane(model)  # POST /v2/models/NAME[/versions/V]/infer (modelserver/v2_rest.py)
        self.shadow = shadow.from_env()  # copies a share of predict requests to a candidate (canary --shadow)
        self.tracer = tracing.tracer()  # None unless tracing is configured (modelserver/tracing.py)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status, ended = time.perf_counter(), [500], [0.0]
        lane: list[str | None] = [None]
        trace = self.tracer.begin_http(scope) if self.tracer is not None else None
        token = tracing.CURRENT.set(trace) if trace is not None else None

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = list(message.get("headers", [])) + self.extra_headers
                if self.readiness.draining:  # clients open their next request where the load balancer sends it
                    message["headers"].append(CLOSE)
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                ended[0] = time.perf_counter()  # latency ends here, not after post_predict's background task

        try:
            if scope["method"] == "POST":
                self.requests.begin()
                try:
                    lane[0] = await self.post(scope, receive, send_with_headers)
                finally:
                    self.requests.end()
            else:
                await self.app(scope, receive, send_with_headers)
        finally:
            route = str(lane[0] or getattr(scope.get("route"), "path", "unmatched"))
            self.series.record(route, scope["method"], status[0], (ended[0] or time.perf_counter()) - started)
            if trace is not None and token is not None:
                trace.end(status[0], route)
                tracing.CURRENT.reset(token)

    async def post(self, scope: dict, receive: Any, send: Any) -> str | None:
        """Answer a POST; returns the lane's route label when the lane answered it."""
        kind, declared, encoding = "", "", ""
        for key, value in scope["headers"]:
            if key == b"content-type":
                kind = value.decode("latin-1").split(";")[0].strip().lower()
            elif key == b"content-length":
                declared = value.decode("latin-1")
            elif key == b"content-encoding":
                encoding = value.decode("latin-1")
        path = scope["path"]
        try:
            if kind and kind not in JSON_TYPES and KSERVE_INFER.match(path):
                raise UnsupportedMediaType(f"unsupported content type {kind!r} for {path}; send application/json")
            if declared.isascii() and declared.isdigit() and int(declared) > self.max_payload_bytes:
                raise self.too_large()
            with tracing.stage("read body"):
                body = await self.read_body(receive)
            if body is None:  # the client went away
                return None
            if encoding:  # gzip/deflate, within the same limit (modelserver/content_encoding.py)
                body = decode_body(body, encoding, self.max_payload_bytes)
                scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"content-encoding"]
            self.requests.enter()  # Overloaded when every slot is taken
        except ServerError as exc:
            await send_error(send, exc)
            return None
        try:
            return await self.limited(body, kind, scope, receive, send)
        finally:
            self.requests.leave()

    async def read_body(self, receive: Any) -> bytes | None:
        """The whole body (None if the client left); BodyTimeout when it takes longer than body_timeout."""
        parts, size, more = [], 0, True  # a chunked or large body comes in parts: join them once
        task, expired = asyncio.current_task(), []
        if task is None:  # ASGI apps always run in a task
            raise RuntimeError("read_body must run inside an asyncio task")

        def expire() -> None:
            expired.append(True)
            task.cancel()
        timer = asyncio.get_running_loop().call_later(self.body_timeout, expire)
        try:
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return None
                parts.append(message.get("body", b""))
                size += len(parts[-1])
                more = message.get("more_body", False)
                if size > self.max_payload_bytes:
                    raise self.too_large()
        except asyncio.CancelledError:
            if not expired:
                raise
            if sys.version_info >= (3, 11):  # 3.10 has no cancel count to undo (nor Task.uncancel)
                task.uncancel()
            raise BodyTimeout(f"the request body did not arrive within {self.body_timeout:g} s") from None
        finally:
            timer.cancel()
        return b"".join(parts)  # one part: the same bytes object, no copy

    async def limited(self, body: bytes, kind: str, scope: dict, receive: Any, send: Any) -> str | None:
        """Answer a POST whose body is read, holding a concurrency slot."""
        path = scope["path"]
        route = self.lanes.get(path) if kind == "application/json" else None
        if route is not None or KSERVE_INFER.match(path):
            self.shadow.offer(path, body, kind, scope["headers"])
        if route == V1_ROUTE and await self.v1_predict(body, scope, send):
            return route
        v2_route = self.v2.route_of(path)
        if v2_route is not None:
            await self.v2.infer(body, scope, request_headers(scope), query_params(scope), send)
            return v2_route
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
            with tracing.stage("decode"):
                payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return False
        if not isinstance(payload, dict):
            return False
        try:
            result = await self.model.predict(self.model.validate(payload), request_headers(scope),
                                              query=query_params(scope))
            with tracing.stage("encode"):
                out = dump_json(result)
        except Exception as exc:  # every error, with the status its class carries (modelserver/errors.py)
            await send_error(send, exc)
        else:
            await send_ok(send, out, [(b"content-type", b"application/json")])
        return True

    async def cortex(self, body: bytes, scope: dict, receive: Any, send: Any) -> None:
        """The Cortex endpoint's JSON case: the same handler as the route, minus the Starlette Request."""
        async def read() -> Any:
            try:
                with tracing.stage("decode"):
                    return orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise BadRequest(f"malformed JSON body: {exc}") from exc
        response = await self.endpoint.answer(read, query_params(scope), request_headers(scope))
        await response(scope, receive, send)

    def too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"payload larger than the limit of {self.max_payload_bytes} bytes")


def query_params(scope: dict) -> dict[str, str]:
    """The URL's query parameters as the predictor's query_params (like dict(Request.query_params): the
    last value of a repeated one)."""
    query = scope.get("query_string", b"")
    return dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True)) if query else {}


def request_headers(scope: dict) -> dict[str, str]:
    """Like dict(starlette Request.headers): lower-case names, the first value of a repeated header."""
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in reversed(scope["headers"])}
