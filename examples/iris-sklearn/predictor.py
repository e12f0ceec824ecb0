"""Iris species from four measurements (Cortex's sklearn iris-classifier contract)."""
from pathlib import Path

import joblib

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
LABELS = ("setosa", "versicolor", "virginica")


class PythonPredictor:
    def __init__(self, config):
        self.model = joblib.load(Path(__file__).parent / config["model"])

    def predict(self, payload):
        """`{"sepal_length": 5.1, ...}` -> "setosa"; a list of such rows -> a list of labels.

        KServe's v1 body `{"instances": [rows]}` works too (the server wraps the list as "predictions")."""
        if isinstance(payload, dict) and "instances" in payload:
            payload = payload["instances"]
        rows = payload if isinstance(payload, list) else [payload]
        labels = [LABELS[i] for i in self.model.predict([[float(r[f]) for f in FEATURES] for r in rows])]
        return labels if isinstance(payload, list) else labels[0]
