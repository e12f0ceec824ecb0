"""The server's errors: each class carries its HTTP status; one function turns any
exception into the JSON answer `{"error": message}` every route gives.

KServe's own errors (raised inside its routes) are mapped here too, so the predict
lane, the Cortex endpoint and KServe's FastAPI app answer the same way.
"""
from __future__ import annotations

from fastapi.exceptions import RequestValidationError
from kserve.errors import InferenceError, InvalidInput, ModelNotFound, ModelNotReady
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from kserve_bridge.errors import ModelInputError


class ServerError(Exception):
    """An error with an HTTP status; `str()` is the message the client reads."""

    status = 500


class BadRequest(ServerError):
    """The request does not match its content type or the model's inputs."""

    status = 400


class ModelNotFoundError(ServerError, LookupError):
    """An unknown model name or version."""

    status = 404


class BodyTimeout(ServerError):
    status = 408


class PayloadTooLarge(ServerError):
    status = 413


class UnsupportedMediaType(ServerError):
    status = 415


class HeadersTooLarge(ServerError):
    status = 431


class PredictorError(ServerError):
    """The predictor raised (any exception, SystemExit included) or returned something unserialisable."""

    status = 500


class NotReady(ServerError):
    status = 503


class Overloaded(ServerError):
    """More requests in flight than max_concurrency."""

    status = 503


class PredictTimeout(ServerError):
    """The predict outlived the API's request timeout."""

    status = 504


# KServe's errors, raised inside its own routes, and the model clients' input errors.
KSERVE_STATUS: dict[type, int] = {InvalidInput: 400, ModelNotFound: 404, InferenceError: 500, ModelNotReady: 503,
                                  ModelInputError: 400}


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
    for kind, status in KSERVE_STATUS.items():
        if isinstance(exc, kind):
            return status, _message(exc)
    return 500, describe(exc)


def _message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # noqa: BLE001
        return describe(exc)


def as_exception(exc: BaseException) -> Exception:
    """User code's BaseException (SystemExit, GeneratorExit...) as an Exception that cannot stop the server."""
    return exc if isinstance(exc, Exception) else PredictorError(f"the predictor raised {describe(exc)}")


def error_response(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def to_response(exc: BaseException) -> JSONResponse:
    """The JSON answer for `exc`."""
    return error_response(*status_and_message(exc))


async def handle(_request: object, exc: Exception) -> JSONResponse:
    """A FastAPI exception handler for every error class above and Starlette's HTTP errors."""
    return to_response(exc)
