"""The shadow API: has no model, logs each request it is mirrored and counts them."""
import json
import logging

log = logging.getLogger("request-recorder")


class PythonPredictor:
    def __init__(self, config):
        self.seen = 0

    def predict(self, payload):
        self.seen += 1
        log.info("request %d: %s", self.seen, json.dumps(payload, sort_keys=True)[:1000])
        return {"recorded": self.seen}
