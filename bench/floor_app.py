"""The floor: a bare ASGI app on uvicorn that parses JSON and calls the model directly.

Run: python -m bench.floor_app --kind sklearn --model_path P --http_port 8080
Any POST answers {"predictions": ...}; no routing, middleware, logging or metrics.
"""
from __future__ import annotations

import argparse
import json

import uvicorn

from .loaders import as_rows, load_predict


def make_app(predict):
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        out = json.dumps({"predictions": predict(as_rows(json.loads(body)))}).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": out})
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", required=True)
    parser.add_argument("--model_path", required=True)
    parser.add_argument("--http_port", type=int, required=True)
    args = parser.parse_args()
    app = make_app(load_predict(args.kind, args.model_path))
    uvicorn.run(app, host="127.0.0.1", port=args.http_port, log_level="warning", access_log=False)
