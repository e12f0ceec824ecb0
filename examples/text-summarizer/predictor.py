"""Extractive summariser: split into sentences, let the SavedModel score them, keep the top ones in order."""
import re

SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


class TensorFlowPredictor:
    def __init__(self, tensorflow_client, config):
        self.client = tensorflow_client
        self.keep = int(config.get("sentences", 2))

    def predict(self, payload):
        """`{"text": "...", "sentences": 2}` (or the text as text/plain) -> `{"summary": ..., "scores": [...]}`."""
        text = payload if isinstance(payload, str) else payload["text"]
        keep = self.keep if isinstance(payload, str) else int(payload.get("sentences", self.keep))
        sentences = [s.strip() for s in SENTENCE_END.split(text.strip()) if s.strip()]
        if len(sentences) <= keep:
            return {"summary": " ".join(sentences), "scores": [1.0] * len(sentences)}
        scores = [float(s) for s in self.client.predict({"sentences": sentences})["scores"]]
        best = sorted(sorted(range(len(sentences)), key=lambda i: -scores[i])[:keep])
        return {"summary": " ".join(sentences[i] for i in best), "scores": [round(s, 4) for s in scores]}
