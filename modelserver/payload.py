"""Request payloads and responses by content type, as Cortex does it.

In: application/json -> parsed object (bad JSON: 400), text/plain -> str
(decoded with the request charset), multipart/form-data and
application/x-www-form-urlencoded -> starlette FormData, anything else -> bytes.
Out: str -> text/plain, bytes -> application/octet-stream, a starlette
Response as is, anything else (dict, list, number, numpy) -> JSON.
"""
from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from .errors import BadRequest, PredictorFailed


def media_type(content_type: str) -> tuple[str, dict[str, str]]:
    main, *params = [part.strip() for part in content_type.split(";")]
    options = dict(p.split("=", 1) for p in params if "=" in p)
    return main.lower(), {k.strip().lower(): v.strip().strip('"') for k, v in options.items()}


async def read_payload(request: Request) -> Any:
    kind, options = media_type(request.headers.get("content-type", ""))
    if kind in ("multipart/form-data", "application/x-www-form-urlencoded"):
        try:
            return await request.form()
        except Exception as exc:
            raise BadRequest(f"malformed form body: {exc}") from exc
    body = await request.body()
    if kind == "application/json" or kind.endswith("+json"):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"malformed JSON body: {exc}") from exc
    if kind == "text/plain":
        try:
            return body.decode(options.get("charset", "utf-8"))
        except (LookupError, UnicodeDecodeError) as exc:
            raise BadRequest(f"text body is not valid {options.get('charset', 'utf-8')}: {exc}") from exc
    return body


def to_jsonable(value: Any) -> Any:
    """numpy arrays/scalars and other objects with .tolist() -> plain Python."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dump_json(value: Any) -> bytes:
    """The predictor's result as JSON; PredictorFailed (500) for a value JSON cannot hold."""
    try:
        return orjson.dumps(value, default=to_jsonable, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
    except TypeError as exc:  # orjson.JSONEncodeError included
        raise PredictorFailed(f"cannot encode the predictor's result: {exc}") from exc


def make_response(result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, str):
        return Response(result, media_type="text/plain; charset=utf-8")
    if isinstance(result, (bytes, bytearray)):
        return Response(bytes(result), media_type="application/octet-stream")
    return Response(dump_json(result), media_type="application/json")


async def send_ok(send: Any, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    """A 200 with `body` and its content headers on a raw ASGI `send` (the predict lanes, which
    build no Response; their errors: errors.send_error)."""
    await send({"type": "http.response.start", "status": 200,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
