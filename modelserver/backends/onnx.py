"""ONNX models via onnxruntime, with Cortex's input conversion."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from . import cpu_budget, find_file, named_inputs, require, to_array

ONNX_DTYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
               "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(int16)": np.int16,
               "tensor(int8)": np.int8, "tensor(uint8)": np.uint8, "tensor(uint16)": np.uint16,
               "tensor(uint32)": np.uint32, "tensor(uint64)": np.uint64, "tensor(bool)": np.bool_,
               "tensor(string)": np.object_}


def load(path: Path, signature_key: str | None = None) -> OnnxModel:
    ort = require("onnxruntime", "onnx")
    file = find_file(path, (".onnx",))
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in ort.get_available_providers()]
    options = ort.SessionOptions()
    options.intra_op_num_threads = cpu_budget()  # the pod's CPU limit, not the node's cores
    return OnnxModel(ort.InferenceSession(str(file), options, providers=providers))


class OnnxModel:
    def __init__(self, session: Any):
        self.session = session
        self.inputs = {i.name: i for i in session.get_inputs()}
        self.input_names = list(self.inputs)
        self.output_names = [o.name for o in session.get_outputs()]

    def prepare(self, model_input: object) -> dict[str, np.ndarray]:
        """Cortex: a value for a single-input model, else {input_name: value}; each is cast to the
        input's type and reshaped to its declared shape (symbolic dimensions free)."""
        values = named_inputs(model_input, self.input_names, "this model")
        return {name: to_array(value, ONNX_DTYPES.get(self.inputs[name].type), list(self.inputs[name].shape),
                               name, "this model") for name, value in values.items()}

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return dict(zip(self.output_names, self.session.run(self.output_names, feeds), strict=False))

    def format(self, outputs: dict[str, np.ndarray], numpy: bool = False) -> list:
        return [outputs[name] for name in self.output_names]  # Cortex returns session.run's list

    def metadata(self) -> dict:
        return {"inputs": {i.name: {"shape": i.shape, "type": i.type} for i in self.session.get_inputs()},
                "outputs": {o.name: {"shape": o.shape, "type": o.type} for o in self.session.get_outputs()}}
