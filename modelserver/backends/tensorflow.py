"""TensorFlow SavedModels, called through one signature, answering as Cortex's TF Serving client did.

Cortex sent the request to TensorFlow Serving and returned, for each output, the
flat value list of `json_format.MessageToDict(PredictResponse)`: int64 as strings,
floats as floats, strings as base64 text, every tensor flattened
(cortexlabs/cortex pkg/cortex/serve/cortex_internal/lib/model/tfs.py). `format`
builds the same TensorProto value fields and converts them with protobuf's own
json_format; `tensorflow_client.predict(..., numpy=True)` returns the arrays instead.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kserve_bridge.errors import ModelInputError, PredictorError

from . import named_inputs, require, to_array

# numpy dtype kind/size -> the TensorProto field TF Serving fills for it
VALUE_FIELDS = {"f4": "float_val", "f8": "double_val", "f2": "float_val", "i4": "int_val", "i2": "int_val",
                "i1": "int_val", "u1": "int_val", "u2": "int_val", "i8": "int64_val", "u4": "uint32_val",
                "u8": "uint64_val", "b1": "bool_val", "c8": "scomplex_val", "c16": "dcomplex_val"}


def choose_signature(signatures: list[str], requested: str | None, where: str) -> str:
    """Cortex's rule: the configured key; else the only signature; else "predict"; else an error."""
    if requested is None:
        if len(signatures) == 1:
            return signatures[0]
        if "predict" in signatures:
            return "predict"
        raise PredictorError(f"{where} has several signatures ({', '.join(signatures) or 'none'}) and none is "
                             f"named 'predict': set signature_key to one of them")
    if requested not in signatures:
        raise PredictorError(f"signature {requested!r} not in {where}; it has: {', '.join(signatures) or 'none'}")
    return requested


def load(path: Path, signature_key: str | None = None) -> SavedModel:
    tf = require("tensorflow", "tensorflow")
    if not (path / "saved_model.pb").is_file():
        raise PredictorError(f"{path} is not a TensorFlow SavedModel (no saved_model.pb)")
    loaded = tf.saved_model.load(str(path))
    signatures = dict(loaded.signatures)
    key = choose_signature(list(signatures), signature_key, str(path))
    return SavedModel(tf, loaded, signatures[key], key)


def cortex_values(array: np.ndarray) -> list:
    """One output as Cortex returned it: the flat value list of its TensorProto in proto3 JSON."""
    from google.protobuf import json_format
    from tensorflow.core.framework import tensor_pb2

    proto = tensor_pb2.TensorProto()
    flat = np.asarray(array).ravel()
    if flat.dtype.kind in "OSU":
        proto.string_val.extend(v if isinstance(v, bytes) else str(v).encode() for v in flat.tolist())
    else:
        value_field = VALUE_FIELDS.get(f"{flat.dtype.kind}{flat.dtype.itemsize}")
        if value_field is None:
            raise PredictorError(f"cannot return a {flat.dtype.name} output the way Cortex did; "
                                 f"use tensorflow_client.predict(..., numpy=True)")
        if flat.dtype.kind == "c":
            flat = flat.view(flat.real.dtype)  # real and imaginary parts interleaved, as in the proto
        getattr(proto, value_field).extend(
            flat.astype(np.float32 if value_field == "float_val" else flat.dtype).tolist())
    return next(iter(json_format.MessageToDict(proto).values()), [])


class SavedModel:
    def __init__(self, tf: Any, loaded: Any, signature: Any, key: str):
        self.tf, self.loaded, self.signature, self.key = tf, loaded, signature, key
        self.specs = signature.structured_input_signature[1]
        self.input_names = list(self.specs)

    def prepare(self, model_input: object) -> dict[str, np.ndarray]:
        """Cortex: every input of the signature by name (a bare value for a single input), cast to its
        dtype; reshaped to the signature's shape like ONNX inputs, so that a scalar fits a [None] input."""
        owner = f"signature {self.key!r}"
        values = named_inputs(model_input, self.input_names, owner)
        return {name: to_array(value, spec.dtype.as_numpy_dtype, spec.shape.as_list() if spec.shape.rank is not None
                               else None, name, owner) for name, value in values.items() for spec in [self.specs[name]]}

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        try:
            outputs = self.signature(**{k: self.tf.constant(v) for k, v in feeds.items()})
        except (self.tf.errors.InvalidArgumentError, TypeError, ValueError) as exc:
            raise ModelInputError(f"signature {self.key!r} refused the input: {str(exc).splitlines()[0]}") from exc
        return {name: value.numpy() for name, value in outputs.items()}

    def format(self, outputs: dict[str, np.ndarray], numpy: bool = False) -> dict:
        return outputs if numpy else {name: cortex_values(value) for name, value in outputs.items()}

    def metadata(self) -> dict:
        return {"signature_key": self.key,
                "inputs": {n: {"shape": s.shape.as_list() if s.shape.rank is not None else None,
                               "type": s.dtype.name} for n, s in self.specs.items()},
                "outputs": {n: {"shape": s.shape.as_list() if s.shape.rank is not None else None,
                                "type": s.dtype.name} for n, s in self.signature.structured_outputs.items()}}
