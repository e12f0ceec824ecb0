"""Wine cultivar from 13 chemical measurements, by an ONNX model (StandardScaler + LogisticRegression)."""
import numpy as np


class ONNXPredictor:
    def __init__(self, onnx_client, config):
        self.client = onnx_client
        self.labels = list(config["labels"])

    def predict(self, payload):
        """`{"rows": [[13 numbers], ...]}` -> `{"predictions": [{"label": ..., "probability": ...}, ...]}`."""
        rows = np.asarray(payload["rows"], dtype=np.float32).reshape(-1, 13)
        label_ids, probabilities = self.client.predict(rows)
        return {"predictions": [{"label": self.labels[int(i)], "probability": round(float(p[int(i)]), 4)}
                                for i, p in zip(label_ids, probabilities, strict=False)]}
