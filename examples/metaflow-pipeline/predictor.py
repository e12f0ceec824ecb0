"""Iris species from four measurements; the model file and its version come from the flow."""
from pathlib import Path

import joblib

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
LABELS = ("setosa", "versicolor", "virginica")


class PythonPredictor:
    def __init__(self, config):
        self.model = joblib.load(Path(__file__).parent / config["model"])
        self.version = config["model_version"]

    def predict(self, payload):
        """`{"sepal_length": 5.1, ...}` -> {"label": "setosa", "model_version": "..."}."""
        row = [[float(payload[f]) for f in FEATURES]]
        return {"label": LABELS[int(self.model.predict(row)[0])], "model_version": self.version}
