"""The v2 REST wire format (Open Inference Protocol over HTTP, with the binary tensor extension).

`decode` turns a body into kserve's `InferRequest`: JSON, or JSON followed by binary tensors
when `Inference-Header-Content-Length` says where the JSON ends; a body without that header is
all JSON whatever its content type (tritonclient sends JSON-only requests with none; KServe
answers 400). A request that does not fit the protocol is a 422 naming the field, data that
does not fit its tensor a 400 naming the input. `encode` writes the `InferResponse`: an
output goes as binary when its requested output says `binary_data`, else when the request's
`binary_data_output` parameter says so (KServe ignores the request-wide flag once outputs are
named), else as JSON data; with any binary output the body is JSON + tensors and the header
carries the JSON's length. `V2Lane` answers POST /v2/models/NAME[/versions/V]/infer from
BridgeMiddleware without FastAPI; `add_routes` adds the model metadata and ready routes.
The inference itself is protocol-neutral: modelserver/v2_infer.py.
"""
from __future__ import annotations

import logging
import re
import struct
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
from fastapi import FastAPI
from kserve import InferInput, InferRequest, InferResponse
from kserve.protocol.infer_type import RequestedOutput, deserialize_bytes_tensor
from starlette.responses import JSONResponse

from . import model_names
from .errors import (
    BadRequest,
    PredictorFailed,
    UnprocessableRequest,
    describe,
    send_error,
    status_and_message,
)
from .payload import send_ok
from .v2_infer import infer
from .v2_outputs import RAW_DTYPES, binary_bytes

if TYPE_CHECKING:
    from .model import PredictorModel

log = logging.getLogger("modelserver")
HEADER_LENGTH = "inference-header-content-length"
INFER_PATH = re.compile(r"^/v2/models/([^/]+)(?:/versions/([^/]+))?/infer$")
INFER_ROUTE = "/v2/models/{model_name}/infer"  # KServe's route paths, the metrics' route labels
VERSIONED_INFER_ROUTE = "/v2/models/{model_name}/versions/{model_version}/infer"
DATATYPES = {*RAW_DTYPES, "BYTES"}  # every v2 datatype (BYTES' binary form: length-prefixed elements)


def decode(body: bytes, headers: dict[str, str], name: str, version: str | None) -> InferRequest:
    """The InferRequest in `body` for model `name` (and `version`)."""
    json_length = len(body)
    declared = headers.get(HEADER_LENGTH)
    if declared is not None:
        if not (declared.isascii() and declared.strip().isdigit()) or int(declared) > len(body):
            raise BadRequest(f"{HEADER_LENGTH} must be the JSON part's length in bytes (0 to {len(body)}), "
                             f"not {declared!r}")
        json_length = int(declared)
    try:
        request = orjson.loads(body[:json_length] if json_length < len(body) else body)
    except orjson.JSONDecodeError as exc:
        hint = "" if declared is not None else f" (binary tensor data needs the {HEADER_LENGTH} header)"
        raise BadRequest(f"malformed JSON in the inference request: {exc}{hint}") from exc
    if not isinstance(request, dict):
        raise UnprocessableRequest(f"the inference request must be a JSON object, not {type(request).__name__}")
    inputs, rest = _inputs(request.get("inputs"), memoryview(body)[json_length:])
    if len(rest):
        raise BadRequest(f"{len(rest)} bytes of binary data after the JSON are not claimed by any input's "
                         f"binary_data_size")
    return InferRequest(model_name=name, infer_inputs=inputs, request_id=_optional(request, "id", str),
                        parameters=_optional(request, "parameters", dict),
                        request_outputs=_requested(request.get("outputs")), model_version=version)


def _optional(request: dict, key: str, kind: type) -> Any:
    value = request.get(key)
    if value is not None and not isinstance(value, kind):
        raise UnprocessableRequest(f"{key}: must be a{'n object' if kind is dict else ' string'}")
    return value


def _inputs(items: Any, binary: memoryview) -> tuple[list[InferInput], memoryview]:
    if not isinstance(items, list) or not items:
        raise UnprocessableRequest("inputs: a non-empty list of tensors is required")
    inputs = []
    for i, item in enumerate(items):
        where = f"inputs[{i}]"
        if not isinstance(item, dict):
            raise UnprocessableRequest(f"{where}: must be an object with name, shape, datatype and data")
        name, shape, datatype = item.get("name"), item.get("shape"), item.get("datatype")
        if not isinstance(name, str):
            raise UnprocessableRequest(f"{where}.name: a string is required")
        if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                                  for d in shape):
            raise UnprocessableRequest(f"{where}.shape (input {name!r}): a list of non-negative integers is required")
        if not isinstance(datatype, str) or datatype not in DATATYPES:
            raise UnprocessableRequest(f"{where}.datatype (input {name!r}): one of {', '.join(sorted(DATATYPES))} "
                                       f"is required, not {datatype!r}")
        parameters = item.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            raise UnprocessableRequest(f"{where}.parameters (input {name!r}): must be an object")
        size = (parameters or {}).get("binary_data_size")
        if "data" in item:
            data = item["data"]
        elif size is not None:
            if not isinstance(size, int) or isinstance(size, bool) or size < 0 or size > len(binary):
                raise BadRequest(f"input {name!r}: binary_data_size {size!r} does not fit the {len(binary)} bytes "
                                 f"of binary data left after the JSON")
            data, binary = binary_tensor(name, datatype, shape, binary[:size]), binary[size:]
        else:
            raise UnprocessableRequest(f"{where}.data (input {name!r}): data or parameters.binary_data_size "
                                       f"is required")
        inputs.append(InferInput(name, shape, datatype, data, parameters))
    return inputs, binary


def binary_tensor(name: str, datatype: str, shape: list[int], raw: memoryview) -> np.ndarray:
    """A binary tensor (little-endian, row-major; BYTES: 4-byte length + bytes per element)."""
    try:
        if datatype == "BYTES":
            array = deserialize_bytes_tensor(bytes(raw))
        else:
            array = np.frombuffer(raw, dtype=RAW_DTYPES[datatype])
        return array.reshape(shape)
    except (ValueError, struct.error) as exc:
        raise BadRequest(f"input {name!r} (shape {shape}, datatype {datatype}): its {len(raw)} bytes of binary "
                         f"data do not fit: {exc}") from exc


def _requested(items: Any) -> list[RequestedOutput] | None:
    if items is None:
        return None
    if not isinstance(items, list):
        raise UnprocessableRequest("outputs: must be a list of {name, parameters}")
    outputs = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise UnprocessableRequest(f"outputs[{i}].name: a string is required")
        parameters = item.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            raise UnprocessableRequest(f"outputs[{i}].parameters: must be an object")
        outputs.append(RequestedOutput(item["name"], parameters))
    return outputs or None


def encode(response: InferResponse, request: InferRequest) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The response body and its content headers."""
    wide = bool((request.parameters or {}).get("binary_data_output", False))
    asked = {o.name: o.binary_data for o in request.request_outputs or []}
    outputs, tensors = [], []
    for output in response.outputs:
        array = output.data if isinstance(output.data, np.ndarray) else output.as_numpy()
        entry: dict[str, Any] = {"name": output.name, "datatype": output.datatype, "shape": output.shape}
        parameters = {k: v for k, v in (output.parameters or {}).items() if k != "binary_data_size"}
        binary = asked.get(output.name)
        if binary if binary is not None else wide:
            tensors.append(binary_bytes(array, output.datatype))
            parameters["binary_data_size"] = len(tensors[-1])
        else:
            entry["data"] = json_data(array, output.name, output.datatype)
        if parameters:
            entry["parameters"] = parameters
        outputs.append(entry)
    head: dict[str, Any] = {"model_name": response.model_name, "model_version": response.model_version,
                            "id": response.id, "outputs": outputs}
    if response.parameters:
        head["parameters"] = dict(response.parameters)
    text = orjson.dumps(head, option=orjson.OPT_SERIALIZE_NUMPY)
    if not tensors:
        return text, [(b"content-type", b"application/json")]
    return b"".join([text, *tensors]), [(b"content-type", b"application/octet-stream"),
                                        (HEADER_LENGTH.encode(), str(len(text)).encode())]


def json_data(array: np.ndarray, name: str, datatype: str) -> Any:
    """The flat data list of a JSON output (numeric arrays go to orjson as they are)."""
    if datatype != "BYTES":
        return np.ascontiguousarray(array).reshape(-1)
    try:
        return [item.decode("utf-8") if isinstance(item, bytes) else str(item) for item in array.reshape(-1).tolist()]
    except UnicodeDecodeError as exc:
        raise PredictorFailed(f"output {name!r} holds bytes that are not UTF-8 text: ask for it with "
                             f"binary_data") from exc


class V2Lane:
    """POST /v2/models/NAME[/versions/V]/infer, answered without FastAPI (like the v1 predict lane)."""

    def __init__(self, api: PredictorModel):
        self.api = api

    @staticmethod
    def route_of(path: str) -> str | None:
        """The metrics' route label when `path` is a v2 infer route, else None."""
        match = INFER_PATH.match(path)
        if match is None:
            return None
        return VERSIONED_INFER_ROUTE if match.group(2) is not None else INFER_ROUTE

    async def infer(self, body: bytes, scope: dict, headers: dict[str, str], query: dict[str, str],
                    send: Any) -> None:
        match = INFER_PATH.match(scope["path"])
        if match is None:
            raise ValueError(f"not a v2 infer path: {scope['path']}")
        name, version = match.groups()
        try:
            model_names.route(self.api, name, version)  # an unknown model is a 404 before the body is a 4xx
            request = decode(body, headers, name, version)
            response = await infer(self.api, request, headers, query)
            out, content = encode(response, request)
        except Exception as exc:  # every error, with the status its class carries (modelserver/errors.py)
            if status_and_message(exc)[0] == 500:
                log.error("v2 infer failed for model %s: %s", name, describe(exc), exc_info=exc)
            await send_error(send, exc)
            return
        await send_ok(send, out, content)


def add_routes(app: FastAPI, api: PredictorModel) -> None:
    """GET /v2/models/NAME[/versions/V] (metadata) and .../ready for the API and each of its models,
    versions included (KServe 0.21 answers 501 for a version); added before KServe's own routes."""
    async def describe_model(model_name: str, model_version: str | None = None) -> JSONResponse:
        target = model_names.route(api, model_name, model_version)
        return JSONResponse(model_names.metadata(api, target))

    async def model_ready(model_name: str, model_version: str | None = None) -> JSONResponse:
        model_names.route(api, model_name, model_version)
        api.check_ready()
        return JSONResponse({"name": model_name, "ready": True})

    for suffix, handler in (("", describe_model), ("/ready", model_ready)):
        for prefix in ("/v2/models/{model_name}", "/v2/models/{model_name}/versions/{model_version}"):
            app.add_api_route(prefix + suffix, handler, methods=["GET"], include_in_schema=False)
