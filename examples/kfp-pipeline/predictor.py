"""Iris species from four measurements; the pipeline's train step writes the model and its version."""
from pathlib import Path

import joblib

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
LABELS = ("setosa", "versicolor", "virginica")


class PythonPredictor:
    def __init__(self, config):
        here = Path(__file__).parent
        self.model = joblib.load(here / config["model"])
        self.version = (here / config["version_file"]).read_text().strip()

    def predict(self, payload):
        """`{"sepal_length": 5.1, ...}` -> {"label": "setosa", "model_version": "..."}."""
        row = [[float(payload[f]) for f in FEATURES]]
        return {"label": LABELS[int(self.model.predict(row)[0])], "model_version": self.version}
