"""The Open Inference Protocol over gRPC (`inference.GRPCInferenceService`, KServe's generated stubs).

Every RPC reads the same `PredictorModel` the HTTP routes serve: ModelInfer turns the request
into KServe's `InferRequest` and calls `PredictorModel.predict`, which runs the protocol-neutral
v2 inference (modelserver/v2_infer.py: each model by its name, requested outputs, named outputs),
so a predictor sees the same payload, batches may mix HTTP and gRPC requests, and both protocols
give the same outputs; ModelReady and ModelMetadata name models as modelserver/model_names.py does.
Around it, what BridgeMiddleware does for an HTTP POST: the API's one count of requests and its
`max_concurrency` (modelserver/in_flight.py; RESOURCE_EXHAUSTED), the request timeout
(DEADLINE_EXCEEDED, from `PredictorModel.infer`), metrics, payload records and traces (the caller's
`traceparent` metadata; modelserver/tracing.py); readiness is the
one `Readiness` /readyz answers from. Status codes come from the one error table,
modelserver/errors.py. The server around it: modelserver/grpc_server.py.
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import grpc
import numpy as np
from kserve import InferRequest, InferResponse
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
from kserve.protocol.grpc.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceServicer

from . import metrics, tracing, v2_infer
from .errors import (
    BadRequest,
    ModelNotFoundError,
    PredictorFailed,
    ServerError,
    describe,
    grpc_code_and_message,
    status_and_message,
)
from .model import PredictorModel
from .model_names import Target, metadata, output_names, route
from .v2_outputs import RAW_DTYPES, binary_bytes, named_outputs, select, tensor

if TYPE_CHECKING:
    from .payload_log import PayloadLog
    from .readiness import Readiness

log = logging.getLogger("modelserver")
SERVICE_NAME = "inference.GRPCInferenceService"
SERVICE = f"/{SERVICE_NAME}/"
INFER_ROUTE = SERVICE + "ModelInfer"  # the HTTP/2 path of the call: the metrics' route label
SERVER_NAME = "kserve-bridge"


class InferenceService(GRPCInferenceServiceServicer):
    """`inference.GRPCInferenceService` for one API (`readiness`: the one /readyz answer)."""

    def __init__(self, model: PredictorModel, readiness: Readiness, payload_log: PayloadLog | None = None):
        self.model, self.readiness, self.payload_log = model, readiness, payload_log
        # the HTTP routes' series: a gRPC call is an HTTP/2 POST to INFER_ROUTE, its `code` the HTTP
        # status of the same outcome (errors.py), so the 5xx and 503 alerts count gRPC faults too
        self.series = metrics.Requests(model.name)

    # health and metadata

    async def ServerLive(self, request: pb.ServerLiveRequest, context: Any) -> pb.ServerLiveResponse:
        """Live unless every predict thread is stuck past the request timeout (as /healthz)."""
        return pb.ServerLiveResponse(live=self.model.stuck() is None)

    async def ServerReady(self, request: pb.ServerReadyRequest, context: Any) -> pb.ServerReadyResponse:
        return pb.ServerReadyResponse(ready=self.ready())

    async def ModelReady(self, request: pb.ModelReadyRequest, context: Any) -> pb.ModelReadyResponse:
        try:
            route(self.model, request.name, request.version or None)
        except ModelNotFoundError as exc:
            await self.abort(context, exc)
        return pb.ModelReadyResponse(ready=self.ready())

    async def ServerMetadata(self, request: pb.ServerMetadataRequest, context: Any) -> pb.ServerMetadataResponse:
        from importlib.metadata import PackageNotFoundError, version
        try:
            ours = version(SERVER_NAME)
        except PackageNotFoundError:  # run from a checkout that is not installed
            ours = "unknown"
        return pb.ServerMetadataResponse(name=SERVER_NAME, version=ours, extensions=[])

    async def ModelMetadata(self, request: pb.ModelMetadataRequest, context: Any) -> pb.ModelMetadataResponse:
        try:
            described = metadata(self.model, route(self.model, request.name, request.version or None))
        except Exception as exc:  # an unknown model (NOT_FOUND), a predictor's malformed v2_inputs (INTERNAL)
            await self.abort(context, exc)
        tensors = pb.ModelMetadataResponse.TensorMetadata
        return pb.ModelMetadataResponse(name=described["name"], versions=described["versions"],
                                        platform=described["platform"],
                                        inputs=[tensors(**t) for t in described["inputs"]],
                                        outputs=[tensors(**t) for t in described["outputs"]])

    # inference

    async def ModelInfer(self, request: pb.ModelInferRequest, context: Any) -> pb.ModelInferResponse:
        started, arrived = time.perf_counter(), time.time()
        request_headers = headers(context)
        trace = tracing.begin_rpc(SERVICE_NAME, "ModelInfer", request.model_name, request_headers.get("traceparent"))
        token = tracing.CURRENT.set(trace) if trace is not None else None
        requests = self.model.requests
        requests.begin()  # may still join a batch (the batchers read it)
        permit = False
        try:
            response: pb.ModelInferResponse | None = None
            try:
                requests.enter()  # Overloaded when every slot (of the replica) is taken
                permit = True
                response = await self.infer(request, request_headers)
                error: BaseException | None = None
            except Exception as exc:  # every error, with the status its class carries (modelserver/errors.py)
                error = exc
            status = 200 if error is None else status_and_message(error)[0]
            self.series.record(INFER_ROUTE, "POST", status, time.perf_counter() - started)
            if self.payload_log is not None:
                self.log_payload(request, response, status, context, arrived)
            if trace is not None:
                end_trace(trace, error, status)
            if error is not None:
                await self.abort(context, error)
            return response
        finally:
            requests.end()
            if permit:
                requests.leave()
            if token is not None:
                tracing.CURRENT.reset(token)

    async def infer(self, request: pb.ModelInferRequest, request_headers: dict[str, str]) -> pb.ModelInferResponse:
        """The model the request names (NOT_FOUND), ready (UNAVAILABLE), runs it (modelserver/v2_infer.py)."""
        model = self.model
        with tracing.stage("decode"):
            validate(request)
            named = v2_infer.target(model, request.model_name, request.model_version or None)
            inputs = decode(request)
        try:
            result = await v2_infer.run(model, named, inputs, request_headers)
        except Exception as exc:
            model.raise_failure(exc)
        with tracing.stage("encode"):
            try:
                return encode(result, request, named, output_names(model, named))
            except ServerError:  # an unknown requested output (400), the predictor's own Response
                raise
            except Exception as exc:
                raise PredictorFailed(f"cannot encode the predictor's result as gRPC outputs: {exc}") from exc

    def ready(self) -> bool:
        """What /readyz says: loaded (every process of a replica, once), not draining."""
        return self.readiness.answer()[0] == 200

    def log_payload(self, request: pb.ModelInferRequest, response: pb.ModelInferResponse | None, status: int,
                    context: Any, arrived: float) -> None:
        """One request record (and a response record when it succeeded), as the protobuf JSON mapping."""
        from google.protobuf.json_format import MessageToJson
        pairs = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers(context).items()
                 if k != "content-type" and isinstance(v, str)]
        scope = {"headers": [*pairs, (b"content-type", b"application/json")]}
        body = MessageToJson(request, indent=None).encode()
        answer = MessageToJson(response, indent=None).encode() if response is not None else b""
        assert self.payload_log is not None  # the caller checked
        self.payload_log.submit(scope, body, status, answer, arrived)

    @staticmethod
    async def abort(context: Any, exc: BaseException) -> None:
        code, message = grpc_code_and_message(exc)
        await context.abort(grpc.StatusCode[code], message)


def end_trace(trace: tracing.RequestTrace, error: BaseException | None, status: int) -> None:
    """Close a call's server span: its gRPC status code; error status when the failure is the server's
    (the same outcome over HTTP is a 5xx, as the server span of an HTTP request and the 5xx alerts)."""
    code, message = ("OK", "") if error is None else grpc_code_and_message(error)
    trace.end(grpc.StatusCode[code].value[0], error=f"{code}: {message}" if status >= 500 else None)


def decode(request: pb.ModelInferRequest) -> dict[str, np.ndarray]:
    """The inputs as arrays: numeric raw_input_contents straight from the message's bytes (what
    tritonclient sends; little-endian), anything else (typed `contents`, BYTES) through KServe's
    `InferRequest`. Data that does not fit its shape and datatype is the client's error (400)."""
    raw = request.raw_input_contents
    if not raw or any(item.datatype not in RAW_DTYPES for item in request.inputs):
        try:
            infer_request = InferRequest.from_grpc(request)
        except Exception as exc:  # a tensor KServe cannot read: the client's
            raise BadRequest(f"malformed request: {exc}") from exc
        return {item.name: tensor(item) for item in infer_request.inputs}
    inputs = {}
    for item, data in zip(request.inputs, raw, strict=True):
        try:
            inputs[item.name] = np.frombuffer(data, dtype=RAW_DTYPES[item.datatype]).reshape(tuple(item.shape))
        except Exception as exc:
            raise BadRequest(f"input {item.name!r} (shape {list(item.shape)}, datatype {item.datatype}): "
                             f"{describe(exc)}") from exc
    return inputs


def encode(result: Any, request: pb.ModelInferRequest, named: Target, names: list[str]) -> pb.ModelInferResponse:
    """The predictor's result as gRPC, the outputs the request names (all when it names none): every
    output's array as raw_output_contents (little-endian; BYTES length-prefixed), as KServe's `to_grpc`
    sends numpy outputs and tritonclient reads them, without its REST-only `binary_data_size`
    parameters. An InferResponse the predictor made with anything else (lists as data, parameters)
    goes through KServe's own `to_grpc`."""
    wanted = [output.name for output in request.outputs]
    if isinstance(result, InferResponse):
        result.outputs = select(result.outputs, wanted, result.model_name)
        if result.parameters or not all(isinstance(o.data, np.ndarray) and not o.parameters
                                        for o in result.outputs):
            return result.to_grpc()
        outputs, model_name, version, ident = result.outputs, result.model_name, result.model_version, result.id
    else:
        outputs = select(named_outputs(result, names), wanted, named.name)
        model_name, version, ident = named.name, named.version, request.id
    tensor_type = pb.ModelInferResponse.InferOutputTensor
    return pb.ModelInferResponse(
        model_name=model_name, model_version=version or "", id=ident or "",
        outputs=[tensor_type(name=o.name, datatype=o.datatype, shape=o.shape) for o in outputs],
        raw_output_contents=[binary_bytes(o.data, o.datatype) for o in outputs])


def headers(context: Any) -> dict[str, str]:
    """The call's metadata as the predictor's `headers` (lower-case names, as over HTTP)."""
    return {m.key: m.value for m in context.invocation_metadata() or ()}


def validate(request: pb.ModelInferRequest) -> None:
    """What KServe's servicer checks before decoding: raw contents, one per input, never both kinds."""
    raw = len(request.raw_input_contents)
    if raw and raw != len(request.inputs):
        raise BadRequest(f"{len(request.inputs)} inputs but {raw} raw_input_contents; send one per input")
    for item in request.inputs:
        if raw and item.HasField("contents"):
            raise BadRequest(f"input {item.name!r}: contents and raw_input_contents are exclusive")
