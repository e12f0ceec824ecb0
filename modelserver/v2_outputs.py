"""v2 tensors in and out, the same for REST and gRPC (Open Inference Protocol).

In: `tensor(input)` is a request input as a numpy array (a mismatch of shape, datatype and
data is the client's error, 400). Out: `to_infer_response` turns whatever the predictor
returned into named outputs: an `InferResponse` as is; a dict, one output per key; a list of
arrays as `onnx_client.predict` returns it (one per model output), named after the model's
outputs; anything else, one output `output-0`. Each value keeps its shape and gets the v2
datatype of its numpy dtype; strings, and values that are not numbers (dicts, lists of
mixed types), are BYTES holding the string itself or the value's JSON text, never a
Python repr. `select_outputs` keeps the outputs the request names, in its order
("Unexpected inference output", 400, as KServe, for a name the model does not return).
A predictor's own starlette `Response` is raised as `PredictorAnswered` so that every route
answers with it unchanged. How outputs are encoded (JSON, binary, protobuf) is the
protocol's business: modelserver/v2_rest.py, and the gRPC server.
"""
from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
from kserve import InferOutput, InferRequest, InferResponse
from kserve.utils.utils import from_np_dtype
from starlette.responses import Response

from .errors import BadRequest, PredictorAnswered, PredictorFailed, describe

DEFAULT_OUTPUT = "output-0"
V2_DATATYPES = {np.dtype(kind): from_np_dtype(np.dtype(kind)) for kind in (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32", "float64")}
# numeric v2 datatype -> the numpy dtype of its binary form (little-endian; REST's binary data, gRPC's raw contents)
RAW_DTYPES = {datatype: dtype.newbyteorder("<") for dtype, datatype in V2_DATATYPES.items()}


def tensor(item: Any) -> np.ndarray:
    """A v2 input as an array; shape, datatype and data that do not agree are the client's error (400)."""
    data = item.data
    if isinstance(data, np.ndarray) and list(data.shape) == list(item.shape):  # decoded binary data, as it is
        return data
    try:
        return item.as_numpy()
    except Exception as exc:
        raise BadRequest(f"input {item.name!r} (shape {item.shape}, datatype {item.datatype}): "
                         f"{describe(exc)}") from exc


def to_infer_response(result: Any, request: InferRequest, model_name: str,
                      output_names: Sequence[str] = (), model_version: str | None = None) -> InferResponse:
    """The predictor's result as an InferResponse whose outputs hold numpy arrays (`output.data`).
    `output_names`: the served model's outputs, which name a list of arrays of the same length."""
    if isinstance(result, InferResponse):
        return result
    return InferResponse(response_id=request.id or "", model_name=model_name,
                         infer_outputs=named_outputs(result, output_names), model_version=model_version)


def named_outputs(result: Any, output_names: Sequence[str] = ()) -> list[InferOutput]:
    """The predictor's result (not an InferResponse) as named outputs holding numpy arrays."""
    if isinstance(result, Response):
        raise PredictorAnswered(result)
    if isinstance(result, dict):
        named = result
    elif (output_names and isinstance(result, (list, tuple)) and len(result) == len(output_names)
          and all(isinstance(value, np.ndarray) for value in result)):
        named = dict(zip(output_names, result, strict=True))
    else:
        named = {DEFAULT_OUTPUT: result}
    return [to_output(str(name), value) for name, value in named.items()]


def to_output(name: str, value: Any) -> InferOutput:
    """One named output; its data is a numpy array (BYTES: an object array of str or bytes)."""
    array = as_array(value)
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    datatype = V2_DATATYPES.get(array.dtype) or ("BYTES" if array.dtype.kind in "OUSM" else None)
    if datatype is None:
        raise PredictorFailed(f"output {name!r}: numpy dtype {array.dtype} has no v2 datatype")
    if datatype == "BYTES":
        array = bytes_array(array)
    return InferOutput(name, list(array.shape), datatype, data=array)


def as_array(value: Any) -> np.ndarray:
    """`value` as an array of its own shape; a ragged nest (no shape) is one BYTES element, its JSON text."""
    try:
        return np.asarray(value)
    except ValueError:
        return np.array([json_text(value)], dtype=object)


def bytes_array(array: np.ndarray) -> np.ndarray:
    """An object array of the same shape: bytes and str elements as they are, anything else as JSON text."""
    out = np.empty(array.shape, dtype=object)
    flat = out.reshape(-1)
    for i, item in enumerate(array.reshape(-1).tolist()):
        flat[i] = item if isinstance(item, (str, bytes)) else json_text(item)
    return out


def json_text(value: Any) -> str:
    try:
        return orjson.dumps(value, default=_plain, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
                            ).decode()
    except TypeError as exc:
        raise PredictorFailed(f"cannot encode the predictor's result as JSON text: {exc}") from exc


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def binary_bytes(array: np.ndarray, datatype: str) -> bytes:
    """An output's binary form, the same in REST's binary extension and gRPC's raw_output_contents:
    little-endian, row-major; BYTES: each element as a 4-byte little-endian length and its bytes
    (str as UTF-8)."""
    if datatype != "BYTES":
        return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
    parts = []
    for item in array.reshape(-1).tolist():
        data = item if isinstance(item, bytes) else str(item).encode("utf-8")
        parts += [struct.pack("<I", len(data)), data]
    return b"".join(parts)


def select_outputs(response: InferResponse, request: InferRequest) -> InferResponse:
    """Only the outputs the request names, in its order; all of them when it names none."""
    if request.request_outputs:
        response.outputs = select(response.outputs, [w.name for w in request.request_outputs],
                                  response.model_name)
    return response


def select(outputs: list[InferOutput], wanted: Sequence[str], model_name: str) -> list[InferOutput]:
    """The outputs named in `wanted`, in its order (all of them when it names none); a name the
    model does not return is the client's error (400)."""
    if not wanted:
        return outputs
    by_name = {output.name: output for output in outputs}
    missing = [name for name in wanted if name not in by_name]
    if missing:
        raise BadRequest(f"Unexpected inference output {missing[0]!r} for model {model_name!r}; "
                         f"it returns: {', '.join(by_name) or 'none'}")
    return [by_name[name] for name in wanted]
