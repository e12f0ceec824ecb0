"""Serve two scikit-learn models from one API: `?model=iris` classifies, `?model=diabetes` regresses.

Each model folder holds model.joblib; python_client calls `load_model` for each path and
`get_model(name)` returns the loaded object.
"""
from pathlib import Path

import joblib
from starlette.responses import JSONResponse

IRIS_LABELS = ("setosa", "versicolor", "virginica")


class PythonPredictor:
    def __init__(self, config, python_client):
        self.client = python_client

    def load_model(self, model_path):
        return joblib.load(Path(model_path) / "model.joblib")

    def predict(self, payload, query_params):
        """`{"rows": [[...], ...]}` with `?model=iris` (4 numbers a row) or `?model=diabetes` (10)."""
        name = query_params.get("model")
        if name not in ("iris", "diabetes"):
            return JSONResponse({"error": "query parameter model must be iris or diabetes"}, status_code=400)
        predictions = self.client.get_model(name).predict(payload["rows"]).tolist()
        if name == "iris":
            return {"model": name, "predictions": [IRIS_LABELS[int(i)] for i in predictions]}
        return {"model": name, "predictions": [round(v, 2) for v in predictions]}
