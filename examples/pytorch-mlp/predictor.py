"""Iris species from a TorchScript MLP. With server_side_batching, `predict` gets a list of
request payloads (one per concurrent request) and returns one answer per payload, in order."""
from pathlib import Path

import torch

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
LABELS = ("setosa", "versicolor", "virginica")


class PythonPredictor:
    def __init__(self, config):
        self.model = torch.jit.load(str(Path(__file__).parent / config["model"])).eval()

    def predict(self, payload):
        """`[{"sepal_length": 5.1, ...}, ...]` (the batch) -> `["setosa", ...]`."""
        rows = torch.tensor([[float(p[f]) for f in FEATURES] for p in payload], dtype=torch.float32)
        with torch.inference_mode():
            return [LABELS[i] for i in self.model(rows).argmax(dim=1).tolist()]
