"""Each model by its name, as KServe names models (v1, v2 REST, v2 gRPC alike).

An API answers to its own name and to the name of each model it serves (`models.paths`,
`models.dir`). The API's name wins when a model shares it. A name (and optional version) becomes
a `Target`: which repository model it stands for and what the predictor's `query_params` get,
Cortex's way of picking a model: `{"model": NAME}` for a model's name, plus `{"version": V}`
when the URL names a version. The API's own name picks nothing (the predictor's default), except
that an API serving one model stands for that model (its versions, inputs, outputs).
`metadata` is the v2 model metadata: inputs and outputs of ONNX and TensorFlow models (-1 for
a dynamic dimension), else what the predictor declares in `v2_inputs`/`v2_outputs`, else none.
`ModelAlias` puts a model's name in KServe's registry (its v1 routes and model lists).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from kserve import Model
from kserve.utils.utils import from_np_dtype

from .errors import ModelNotFoundError, PredictorFailed

if TYPE_CHECKING:
    from .model import PredictorModel

PLATFORMS = {"onnx": "onnxruntime_onnx", "tensorflow": "tensorflow_savedmodel"}
TENSOR_KEYS = {"name", "datatype", "shape"}


@dataclass(frozen=True)
class Target:
    name: str  # the name the client used
    model: str | None  # the repository model it stands for; None: the API's predictor alone
    version: str | None  # the version the client named, if any
    query: dict[str, str] = field(default_factory=dict)  # added to the predictor's query_params


def model_names(api: PredictorModel) -> list[str]:
    """The names of the API's models other than the API's own name (KServe's registry aliases)."""
    repository = api.repository
    if repository is None or repository.default_name is not None:
        return []
    return [name for name in repository.names() if name != api.name]


def own_model(api: PredictorModel) -> str | None:
    """The repository model the API's name stands for: its only model, if it serves exactly one."""
    repository = api.repository
    if repository is None or not repository.sources:
        return None
    return repository.default_name or (repository.names()[0] if len(repository.sources) == 1 else None)


def route(api: PredictorModel, name: str, version: str | None = None) -> Target:
    """The Target for `name` (and `version`); ModelNotFoundError (404) for an unknown one."""
    if name == api.name:
        target = Target(name, own_model(api), version, {"version": version} if version else {})
    elif name in model_names(api):
        target = Target(name, name, version, {"model": name, **({"version": version} if version else {})})
    else:
        known = [api.name, *model_names(api)]
        raise ModelNotFoundError(f"model {name!r} not found; this server serves: {', '.join(known)}")
    if version is not None and version not in versions(api, target):
        raise ModelNotFoundError(f"model {name!r} has no version {version!r}; versions: "
                                 f"{', '.join(versions(api, target))}")
    return target


def versions(api: PredictorModel, target: Target) -> list[str]:
    if target.model is None or api.repository is None:
        return ["1"]
    return list(api.repository.versions(target.model))


def loaded_model(api: PredictorModel, target: Target) -> Any:
    """The target's loaded model object (its named or latest version), or None when not loaded."""
    if target.model is None or api.repository is None:
        return None
    version = target.version or versions(api, target)[-1]
    return api.repository.loaded.get((target.model, version))


def output_names(api: PredictorModel, target: Target) -> list[str]:
    """The served model's output names, in its order (they name a list of arrays it returns)."""
    described = described_tensors(loaded_model(api, target))
    return [tensor["name"] for tensor in described[1]] if described else []


def metadata(api: PredictorModel, target: Target) -> dict:
    """The v2 model metadata for `target`."""
    described = described_tensors(loaded_model(api, target))
    if described is None and target.model is None:
        described = declared_tensors(api.predictor)
    inputs, outputs = described or ([], [])
    return {"name": target.name, "versions": versions(api, target),
            "platform": PLATFORMS.get(api.settings.predictor_type, api.settings.predictor_type),
            "inputs": inputs, "outputs": outputs}


def described_tensors(model: Any) -> tuple[list[dict], list[dict]] | None:
    """Inputs and outputs of an ONNX or TensorFlow model (backends' `metadata()`), else None."""
    describe = getattr(model, "metadata", None)
    if not callable(describe):
        return None
    info = describe()
    if not isinstance(info, dict) or not isinstance(info.get("inputs"), dict):
        return None
    return ([v2_tensor(name, spec) for name, spec in info["inputs"].items()],
            [v2_tensor(name, spec) for name, spec in info.get("outputs", {}).items()])


def v2_tensor(name: str, spec: dict) -> dict:
    """{"name", "datatype", "shape"}: ONNX's `tensor(float)` or TensorFlow's `float32` as FP32;
    a dynamic dimension (None, a symbol) as -1, an unknown rank as [-1]."""
    shape = spec.get("shape")
    dims = [-1] if shape is None else [d if isinstance(d, int) and d >= 0 else -1 for d in shape]
    return {"name": name, "datatype": v2_datatype(str(spec.get("type", ""))), "shape": dims}


def v2_datatype(framework_type: str) -> str:
    kind = framework_type.removeprefix("tensor(").removesuffix(")")
    aliases = {"float": "float32", "double": "float64", "string": "object", "bfloat16": "BF16"}
    kind = aliases.get(kind, kind)
    if kind.isupper():
        return kind
    try:
        return from_np_dtype(np.dtype(kind)) or kind.upper()
    except TypeError:
        return kind.upper()


def declared_tensors(predictor: Any) -> tuple[list[dict], list[dict]] | None:
    """The predictor's own `v2_inputs`/`v2_outputs` (lists of {"name", "datatype", "shape"})."""
    declared = [getattr(predictor, attr, None) for attr in ("v2_inputs", "v2_outputs")]
    if all(value is None for value in declared):
        return None
    for attr, value in zip(("v2_inputs", "v2_outputs"), declared, strict=True):
        if value is not None and not (isinstance(value, list) and all(
                isinstance(t, dict) and TENSOR_KEYS <= set(t) and isinstance(t["shape"], list) for t in value)):
            raise PredictorFailed(f"the predictor's {attr} must be a list of {{'name', 'datatype', 'shape'}} "
                                 f"dicts, not {value!r}")
    return ([{k: t[k] for k in ("name", "datatype", "shape")} for t in declared[0] or []],
            [{k: t[k] for k in ("name", "datatype", "shape")} for t in declared[1] or []])


class ModelAlias(Model):
    """A model's name in KServe's registry: KServe's v1 routes reach the API with `{"model": NAME}`."""

    def __init__(self, api: PredictorModel, name: str):
        super().__init__(name)
        self.api, self.ready = api, True

    async def predict(self, payload: Any, headers: dict | None = None, response_headers: dict | None = None) -> Any:
        return await self.api.predict(payload, headers, query={"model": self.name})
