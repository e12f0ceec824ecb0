"""Baseline A with KServe's per-request costs switched off one by one (env ABLATE=knob,knob).

Knobs: access (uvicorn access log), timing (timing_asgi TimingMiddleware), latlog (the
kserve.Model latency log line), grpc (the gRPC server), uvloop (KServe's asyncio.run ignores
uvicorn's loop="auto"), lane (answer POST /v1/models/NAME:predict in a raw ASGI layer in front
of KServe's FastAPI app), orjson (parse/serialise with orjson in the lane), executor (the lane
runs predict via run_in_executor), direct (the lane calls predict without Model.__call__'s
per-stage Prometheus histograms). Everything else is kserve.ModelServer as shipped.
Run by `python -m bench.ablation`; the model is still a kserve.Model on kserve.ModelServer.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os

import kserve
from kserve import model_server
from kserve.protocol.rest.server import RESTServer
from uvicorn.importer import import_from_string

from .baseline_kserve import HandWrittenModel

KNOBS = set(filter(None, os.environ.get("ABLATE", "").split(",")))


class Lane:
    """Raw ASGI: POST /v1/models/NAME:predict goes straight to the model, the rest to FastAPI."""

    def __init__(self, app, models: dict):
        self.app, self.models = app, models
        if "orjson" in KNOBS:
            import orjson
            self.loads, self.dumps = orjson.loads, orjson.dumps
        else:
            self.loads, self.dumps = json.loads, lambda obj: json.dumps(obj).encode()

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        model = self.models.get(path[11:-8]) if scope["type"] == "http" and scope["method"] == "POST" \
            and path.startswith("/v1/models/") and path.endswith(":predict") else None
        if model is None:
            return await self.app(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        payload = self.loads(body)
        if "executor" in KNOBS:
            result = await asyncio.get_running_loop().run_in_executor(None, model.predict, payload)
        elif "direct" in KNOBS:
            result = model.predict(payload)
        else:
            result, _ = await model(payload, {})
        out = self.dumps(result)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(out)).encode())]})
        await send({"type": "http.response.body", "body": out})


class AblatedRESTServer(RESTServer):
    def _add_middlewares(self, app):
        if "timing" not in KNOBS:
            super()._add_middlewares(app)

    def create_application(self):
        super().create_application()
        if "lane" in KNOBS:
            self.config.app = Lane(import_from_string("kserve.model_server:app"),
                                   self.dataplane.model_registry.get_models())
        if "access" in KNOBS:
            logging.getLogger("uvicorn.access").disabled = True


if __name__ == "__main__":
    model_server.RESTServer = AblatedRESTServer  # ModelServer.start looks the class up here
    parser = argparse.ArgumentParser(parents=[model_server.parser])
    parser.add_argument("--kind", required=True)
    parser.add_argument("--model_path", required=True)
    args, _ = parser.parse_known_args()
    model = HandWrittenModel(args.model_name, args.kind, args.model_path)
    model.enable_latency_logging = "latlog" not in KNOBS
    if "uvloop" in KNOBS:
        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        asyncio.set_event_loop(asyncio.new_event_loop())
    kserve.ModelServer(enable_grpc="grpc" not in KNOBS).start([model])
