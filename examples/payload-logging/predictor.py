"""Iris species with their probability; batched, so `predict` gets a list of request bodies."""
from pathlib import Path

import joblib

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
LABELS = ("setosa", "versicolor", "virginica")


class PythonPredictor:
    def __init__(self, config):
        self.model = joblib.load(Path(__file__).parent / config["model"])

    def predict(self, payload):
        """`[{"sepal_length": 5.1, ...}, ...]` (one body per batched request) -> one answer per body."""
        rows = [[float(body[f]) for f in FEATURES] for body in payload]
        return [{"species": LABELS[p.argmax()], "probability": round(float(p.max()), 4)}
                for p in self.model.predict_proba(rows)]
