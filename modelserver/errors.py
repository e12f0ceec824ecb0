"""The server's errors: each class carries its HTTP status and its gRPC status code (the name of a
`grpc.StatusCode`); one function turns any exception into the JSON answer `{"error": message}`
every HTTP route gives, another into the status and message of a gRPC call (modelserver/grpc_service.py).

KServe's own errors (raised inside its routes) are mapped here too, so the predict
lane, the Cortex endpoint, KServe's FastAPI app and the gRPC service answer the same way.
"""
from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from kserve.errors import InferenceError, InvalidInput, ModelNotFound, ModelNotReady
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from kserve_bridge.errors import ModelInputError


class ServerError(Exception):
    """An error with an HTTP status and a gRPC code; `str()` is the message the client reads."""

    status, grpc = 500, "INTERNAL"


class BadRequest(ServerError):
    """The request does not match its content type or the model's inputs."""

    status, grpc = 400, "INVALID_ARGUMENT"


class ModelNotFoundError(ServerError, LookupError):
    """An unknown model name or version."""

    status, grpc = 404, "NOT_FOUND"


class BodyTimeout(ServerError):
    status, grpc = 408, "DEADLINE_EXCEEDED"


class PayloadTooLarge(ServerError):
    status, grpc = 413, "RESOURCE_EXHAUSTED"


class UnprocessableRequest(ServerError):
    """A request that does not fit its protocol (a v2 request without inputs, say)."""

    status, grpc = 422, "INVALID_ARGUMENT"


class UnsupportedMediaType(ServerError):
    status, grpc = 415, "INVALID_ARGUMENT"


class HeadersTooLarge(ServerError):
    status, grpc = 431, "RESOURCE_EXHAUSTED"


class PredictorFailed(ServerError):
    """The predictor raised (any exception, SystemExit included) or returned something unserialisable."""

    status, grpc = 500, "INTERNAL"


class PredictorAnswered(ServerError):
    """The predictor returned its own starlette Response (a 400 of its own, say): every route answers
    with it unchanged (status, headers, body); gRPC with its status's code and its body as the message."""

    def __init__(self, response: Response):
        self.response, self.status = response, response.status_code
        self.grpc = ANSWERED_GRPC.get(self.status, "INVALID_ARGUMENT" if 400 <= self.status < 500 else "UNKNOWN")
        body = getattr(response, "body", b"")
        super().__init__(bytes(body).decode("utf-8", "replace") if isinstance(body, (bytes, memoryview)) else
                         f"the predictor answered {response.status_code}")


# The gRPC code of a predictor's own HTTP answer: what the status means, as the classes here map theirs.
ANSWERED_GRPC = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                 408: "DEADLINE_EXCEEDED", 409: "ABORTED", 413: "RESOURCE_EXHAUSTED", 429: "RESOURCE_EXHAUSTED",
                 500: "INTERNAL", 501: "UNIMPLEMENTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


class NotReady(ServerError):
    status, grpc = 503, "UNAVAILABLE"


class Overloaded(ServerError):
    """More requests in flight than max_concurrency."""

    status, grpc = 503, "RESOURCE_EXHAUSTED"


class PredictTimeout(ServerError):
    """The predict outlived the API's request timeout."""

    status, grpc = 504, "DEADLINE_EXCEEDED"


# KServe's errors, raised inside its own routes, and the model clients' input errors: HTTP status, gRPC code.
KSERVE_STATUS: dict[type, tuple[int, str]] = {
    InvalidInput: (400, "INVALID_ARGUMENT"), ModelNotFound: (404, "NOT_FOUND"), InferenceError: (500, "INTERNAL"),
    ModelNotReady: (503, "UNAVAILABLE"), ModelInputError: (400, "INVALID_ARGUMENT")}


def describe(exc: BaseException) -> str:
    """`Type: message`, even when the exception's own str() fails."""
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - a predictor's exception may break anything
        text = "(its message could not be read)"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def status_and_message(exc: BaseException) -> tuple[int, str]:
    if isinstance(exc, ServerError):
        return exc.status, _message(exc)
    if isinstance(exc, HTTPException):
        return exc.status_code, str(exc.detail)
    if isinstance(exc, RequestValidationError):  # a body that does not fit KServe's request model
        problems = "; ".join(f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg', '')}" for e in exc.errors())
        return 422, f"invalid request: {problems}"
    for kind, (status, _) in KSERVE_STATUS.items():
        if isinstance(exc, kind):
            return status, _message(exc)
    return 500, describe(exc)


def grpc_code_and_message(exc: BaseException) -> tuple[str, str]:
    """The gRPC status code (a `grpc.StatusCode` name) and message for `exc`: the same message as the
    HTTP answer; an error of no class above is the predictor's (INTERNAL, with its message)."""
    if isinstance(exc, ServerError):
        return exc.grpc, _message(exc)
    for kind, (_, code) in KSERVE_STATUS.items():
        if isinstance(exc, kind):
            return code, _message(exc)
    return "INTERNAL", describe(exc)


def _message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # noqa: BLE001
        return describe(exc)


def as_exception(exc: BaseException) -> Exception:
    """User code's BaseException (SystemExit, GeneratorExit...) as an Exception that cannot stop the server."""
    return exc if isinstance(exc, Exception) else PredictorFailed(f"the predictor raised {describe(exc)}")


def error_response(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def to_response(exc: BaseException) -> Response:
    """The JSON answer for `exc` (a predictor's own Response as it is; Starlette's 405 keeps its Allow header)."""
    if isinstance(exc, PredictorAnswered):
        return exc.response
    response = error_response(*status_and_message(exc))
    if isinstance(exc, HTTPException) and exc.headers:
        response.headers.update(exc.headers)
    return response


async def send_error(send: Any, exc: BaseException) -> None:
    """Answer `exc` on a raw ASGI `send` (the predict lanes, which have no Request)."""
    await to_response(exc)({"type": "http"}, _nothing_to_receive, send)


async def _nothing_to_receive() -> dict:
    """A response that never reads the request still takes a receive callable."""
    return {"type": "http.disconnect"}


async def handle(_request: object, exc: Exception) -> Response:
    """A FastAPI exception handler for every error class above and Starlette's HTTP errors."""
    return to_response(exc)
