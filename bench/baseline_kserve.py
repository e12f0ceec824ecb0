"""Baseline A: the custom model a KServe user writes by hand (a kserve.Model subclass that
loads the model and predicts), served by kserve.ModelServer with its defaults; v1 payloads, and
v2 InferRequests answered with KServe's own `get_predict_response` (JSON or binary outputs).

Run: python -m bench.baseline_kserve --kind sklearn --model_path P --model_name N --http_port 8080
(kserve.ModelServer reads --http_port/--grpc_port itself from the command line.)
"""
from __future__ import annotations

import argparse

import kserve
import numpy as np
from kserve.utils.utils import get_predict_response

from .loaders import as_rows, load_predict


class HandWrittenModel(kserve.Model):
    def __init__(self, name: str, kind: str, path: str):
        super().__init__(name)
        self.kind, self.path = kind, path
        self.load()

    def load(self) -> bool:
        self._predict = load_predict(self.kind, self.path)
        self.ready = True
        return self.ready

    def predict(self, payload, headers=None, response_headers=None):
        if isinstance(payload, kserve.InferRequest):  # v2 (REST or gRPC): the first input's rows, answered
            # with KServe's own get_predict_response, which honours binary_data_output and requested outputs
            result = np.asarray(self._predict(payload.inputs[0].as_numpy()))
            return get_predict_response(payload, result, self.name)
        return {"predictions": self._predict(as_rows(payload))}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(parents=[kserve.model_server.parser])
    parser.add_argument("--kind", required=True)
    parser.add_argument("--model_path", required=True)
    args, _ = parser.parse_known_args()
    kserve.ModelServer().start([HandWrittenModel(args.model_name, args.kind, args.model_path)])
