"""One v2 inference, whatever the protocol: InferRequest in, InferResponse out.

The REST lane (modelserver/v2_rest.py) and the gRPC server decode their wire format into
kserve's `InferRequest` (model name, version, inputs, requested outputs) and encode the
`InferResponse` this returns; everything between is here: the model's name and version
(modelserver/model_names.py), the inputs as arrays, the predictor in a predict thread
(batched, timed out, as on every route), `post_predict`, and the result as named outputs
with only the requested ones (modelserver/v2_outputs.py). Errors are the classes of
modelserver/errors.py, each with its HTTP status (gRPC maps the status to its code).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from kserve import InferRequest, InferResponse

from .model_names import output_names, route
from .v2_outputs import select_outputs, tensor, to_infer_response

if TYPE_CHECKING:
    from .model import PredictorModel


async def infer(api: PredictorModel, request: InferRequest, headers: dict[str, str],
                query: dict[str, str] | None = None) -> InferResponse:
    """Run `request` on `api` (the model it names); `query`: the URL's query parameters, if any
    (the name's own `model`/`version` win over them)."""
    target = route(api, request.model_name, request.model_version or None)
    api.check_ready()
    inputs = {item.name: tensor(item) for item in request.inputs}
    params = {**(query or {}), **target.query}
    result = await api.infer(inputs, params, headers)
    api.post_predict(result, inputs, params, headers)
    response = to_infer_response(result, request, target.name, output_names(api, target), target.version)
    return select_outputs(response, request)
