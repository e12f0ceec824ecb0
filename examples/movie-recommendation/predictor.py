"""Top-N recommendations from a truncated-SVD factorisation of a ratings matrix.

The model folder (models.path) holds factors.npz; Cortex's python_client loads it
through `load_model` and hands it back with `get_model()`.
"""
from pathlib import Path

import numpy as np
from starlette.responses import JSONResponse


class PythonPredictor:
    def __init__(self, config, python_client):
        self.client = python_client
        self.default_n = int(config.get("default_n", 5))

    def load_model(self, model_path):
        with np.load(Path(model_path) / "factors.npz") as data:
            model = {key: data[key] for key in data.files}
        model["scores"] = model["user_means"][:, None] + model["user_factors"] @ model["item_factors"].T
        return model

    def predict(self, payload):
        """`{"user_id": 7, "n": 5}` -> the n best-scored movies the user has not rated yet."""
        model = self.client.get_model()
        user, n = payload.get("user_id"), int(payload.get("n", self.default_n))
        if not isinstance(user, int) or not 0 <= user < len(model["scores"]):
            return JSONResponse({"error": f"user_id must be an integer in [0, {len(model['scores'])})"},
                                status_code=400)
        scores = np.where(model["ratings"][user] > 0, -np.inf, model["scores"][user])
        best = np.argsort(-scores, kind="stable")[:max(0, min(n, int(np.isfinite(scores).sum())))]
        return {"user_id": user, "recommendations": [
            {"movie_id": int(i), "title": str(model["titles"][i]), "genre": str(model["genres"][i]),
             "score": round(float(scores[i]), 3)} for i in best]}
