"""TensorFlow SavedModels, called through one signature."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kserve_bridge.errors import PredictorError

from . import named_inputs, require


def load(path: Path, signature_key: str | None = None) -> SavedModel:
    tf = require("tensorflow", "tensorflow")
    if not (path / "saved_model.pb").is_file():
        raise PredictorError(f"{path} is not a TensorFlow SavedModel (no saved_model.pb)")
    loaded = tf.saved_model.load(str(path))
    signatures = dict(loaded.signatures)
    if signature_key is None:
        signature_key = next(iter(signatures)) if len(signatures) == 1 else "serving_default"
    if signature_key not in signatures:
        raise PredictorError(f"signature {signature_key!r} not in {path}; it has: {', '.join(signatures) or 'none'}")
    return SavedModel(tf, loaded, signatures[signature_key], signature_key)


class SavedModel:
    def __init__(self, tf: Any, loaded: Any, signature: Any, key: str):
        self.tf, self.loaded, self.signature, self.key = tf, loaded, signature, key
        self.specs = signature.structured_input_signature[1]
        self.input_names = list(self.specs)

    def prepare(self, model_input: object) -> dict[str, np.ndarray]:
        dtypes = {name: spec.dtype.as_numpy_dtype for name, spec in self.specs.items()}
        return named_inputs(model_input, self.input_names, dtypes, f"signature {self.key!r}")

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outputs = self.signature(**{k: self.tf.constant(v) for k, v in feeds.items()})
        return {name: value.numpy() for name, value in outputs.items()}

    def format(self, outputs: dict[str, np.ndarray]) -> dict:
        return outputs

    def metadata(self) -> dict:
        return {"signature_key": self.key,
                "inputs": {n: {"shape": s.shape.as_list() if s.shape.rank is not None else None,
                               "type": s.dtype.name} for n, s in self.specs.items()},
                "outputs": {n: {"shape": s.shape.as_list() if s.shape.rank is not None else None,
                                "type": s.dtype.name} for n, s in self.signature.structured_outputs.items()}}
