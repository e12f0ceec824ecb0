"""Sentiment of a short review (TF-IDF + logistic regression); text/plain or `{"text": ...}` in."""
from pathlib import Path

import joblib


class PythonPredictor:
    def __init__(self, config):
        self.model = joblib.load(Path(__file__).parent / config["model"])

    def predict(self, payload):
        """`{"text": "loved it"}` -> `{"sentiment": "positive", "confidence": 0.93}`."""
        text = payload if isinstance(payload, str) else payload["text"]
        probabilities = self.model.predict_proba([text])[0]
        best = int(probabilities.argmax())
        return {"sentiment": str(self.model.classes_[best]), "confidence": round(float(probabilities[best]), 3)}
