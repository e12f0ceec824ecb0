"""Benchmark models, produced by code at bench time, plus the project dirs and request bodies.

Workloads: `iris` (sklearn LogisticRegression, 1 row), `mlp` (a TorchScript MLP, 32 rows)
and `onnx` (the same MLP's weights as an ONNX graph, 32 rows).
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

MLP_IN, MLP_HIDDEN, MLP_OUT, MLP_ROWS = 64, 256, 10, 32
IRIS_ROW = [5.1, 3.5, 1.4, 0.2]


@dataclass(frozen=True)
class Workload:
    """One model on disk and the request that exercises it."""

    name: str
    kind: str  # "sklearn" | "torch" | "onnx": which loader serves it
    model_path: Path
    rows: list[list[float]]

    def v1_body(self) -> bytes:
        return json.dumps({"instances": self.rows}).encode()

    def v2_body(self) -> bytes:
        flat = [x for row in self.rows for x in row]
        tensor = {"name": "input-0", "shape": [len(self.rows), len(self.rows[0])],
                  "datatype": "FP64", "data": flat}
        return json.dumps({"inputs": [tensor]}).encode()

    def v2_binary_body(self) -> tuple[bytes, int]:
        """The v2 binary tensor extension: JSON head (input and every output as binary), then the
        input's little-endian FP64 bytes; returns the body and the head's length."""
        data = struct.pack(f"<{len(self.rows) * len(self.rows[0])}d", *(x for row in self.rows for x in row))
        tensor = {"name": "input-0", "shape": [len(self.rows), len(self.rows[0])], "datatype": "FP64",
                  "parameters": {"binary_data_size": len(data)}}
        head = json.dumps({"inputs": [tensor], "parameters": {"binary_data_output": True}}).encode()
        return head + data, len(head)


def build_iris(out: Path) -> Workload:
    import joblib
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True)
    path = out / "iris" / "model.joblib"
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(LogisticRegression(max_iter=500).fit(x, y), path)
    return Workload("iris", "sklearn", path, [IRIS_ROW])


def _mlp_weights():
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(MLP_IN, MLP_HIDDEN), torch.nn.ReLU(),
                               torch.nn.Linear(MLP_HIDDEN, MLP_HIDDEN), torch.nn.ReLU(),
                               torch.nn.Linear(MLP_HIDDEN, MLP_OUT)).eval()


def _mlp_rows() -> list[list[float]]:
    return [[round(((r * 31 + c * 7) % 100) / 50.0 - 1.0, 3) for c in range(MLP_IN)] for r in range(MLP_ROWS)]


def build_mlp(out: Path) -> Workload:
    import torch

    path = out / "mlp" / "model.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.jit.script(_mlp_weights()).save(str(path))
    return Workload("mlp", "torch", path, _mlp_rows())


def build_onnx(out: Path) -> Workload:
    """The same MLP (same seed, same weights) written as Gemm/Relu nodes with onnx.helper."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    layers = [m for m in _mlp_weights() if hasattr(m, "weight")]
    inits, nodes, prev = [], [], "input"
    for i, layer in enumerate(layers):
        w = numpy_helper.from_array(layer.weight.detach().numpy(), f"w{i}")
        b = numpy_helper.from_array(layer.bias.detach().numpy(), f"b{i}")
        inits += [w, b]
        gemm_out = "output" if i == len(layers) - 1 else f"h{i}"
        nodes.append(helper.make_node("Gemm", [prev, f"w{i}", f"b{i}"], [gemm_out], transB=1))
        if i < len(layers) - 1:
            nodes.append(helper.make_node("Relu", [gemm_out], [f"r{i}"]))
            prev = f"r{i}"
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, MLP_IN])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [None, MLP_OUT])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = out / "onnx" / "model.onnx"
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return Workload("onnx", "onnx", path, _mlp_rows())


BUILDERS = {"iris": build_iris, "mlp": build_mlp, "onnx": build_onnx}
