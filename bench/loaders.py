"""Load a benchmark model and return `predict(rows) -> list`; each framework is imported lazily,
so a server pays only for the framework its workload needs. Used by the baselines and the floor."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

Predict = Callable[[list], list]


def load_predict(kind: str, path: str) -> Predict:
    if kind == "sklearn":
        import joblib
        import numpy as np

        model = joblib.load(path)
        return lambda rows: model.predict(np.asarray(rows)).tolist()
    if kind == "torch":
        import numpy as np
        import torch

        torch.set_num_threads(1)  # one server process per core; OpenMP spin-waits otherwise
        module = torch.jit.load(path)

        def predict_torch(rows: list) -> list:
            with torch.inference_mode():
                return module(torch.from_numpy(np.asarray(rows, dtype=np.float32))).tolist()
        return predict_torch
    if kind == "onnx":
        import numpy as np
        import onnxruntime as ort

        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        return lambda rows: session.run(None, {"input": np.asarray(rows, dtype=np.float32)})[0].tolist()
    raise ValueError(f"unknown model kind {kind!r}")


def as_rows(payload: Any) -> list:
    """Rows from a v1 body ({"instances": [...]}) or a bare list."""
    return payload["instances"] if isinstance(payload, dict) else payload
