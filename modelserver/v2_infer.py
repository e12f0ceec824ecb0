"""One v2 inference, whatever the protocol: InferRequest in, InferResponse out.

The REST lane (modelserver/v2_rest.py) and the gRPC server decode their wire format into
kserve's `InferRequest` (model name, version, inputs, requested outputs) and encode the
`InferResponse` this returns; everything between is here: the model's name and version
(modelserver/model_names.py), the inputs as arrays, the predictor in a predict thread
(batched, timed out, as on every route), `post_predict`, and the result as named outputs
with only the requested ones (modelserver/v2_outputs.py). Errors are the classes of
modelserver/errors.py, each with its HTTP status (gRPC maps the status to its code).
The gRPC server runs the same steps (`target`, `run`) on arrays it decodes from the protobuf
message itself, and encodes the named outputs straight into it (modelserver/grpc_service.py).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kserve import InferRequest, InferResponse

from .model_names import Target, output_names, route
from .v2_outputs import select_outputs, tensor, to_infer_response

if TYPE_CHECKING:
    import numpy as np

    from .model import PredictorModel


async def infer(api: PredictorModel, request: InferRequest, headers: dict[str, str],
                query: dict[str, str] | None = None) -> InferResponse:
    """Run `request` on `api` (the model it names); `query`: the URL's query parameters, if any
    (the name's own `model`/`version` win over them)."""
    named = target(api, request.model_name, request.model_version or None)
    inputs = {item.name: tensor(item) for item in request.inputs}
    result = await run(api, named, inputs, headers, query)
    response = to_infer_response(result, request, named.name, output_names(api, named), named.version)
    return select_outputs(response, request)


def target(api: PredictorModel, name: str, version: str | None) -> Target:
    """The model `name` (and `version`) stands for (ModelNotFoundError, 404), once the API is ready (503)."""
    named = route(api, name, version)
    api.check_ready()
    return named


async def run(api: PredictorModel, named: Target, inputs: dict[str, np.ndarray], headers: dict[str, str],
              query: dict[str, str] | None = None) -> Any:
    """The predictor's result for `inputs` (its `payload`), and its post_predict queued."""
    params = {**query, **named.query} if query else dict(named.query)
    result = await api.infer(inputs, params, headers)
    api.post_predict(result, inputs, params, headers)
    return result
