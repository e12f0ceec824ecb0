"""One of the two A/B variants; `config.variant` names it in every answer so the split is visible."""
from pathlib import Path

import joblib

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
LABELS = ("setosa", "versicolor", "virginica")


class PythonPredictor:
    def __init__(self, config):
        self.model = joblib.load(Path(__file__).parent / config["model"])
        self.variant = config["variant"]

    def predict(self, payload):
        """`{"sepal_length": 5.1, ...}` -> `{"label": "setosa", "variant": "logreg"}`."""
        label = LABELS[int(self.model.predict([[float(payload[f]) for f in FEATURES]])[0])]
        return {"label": label, "variant": self.variant}
