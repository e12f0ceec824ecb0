"""Run by tests/modelserver/test_grpc.py with the tritonclient venv's Python (.venv-tritonclient; why a
venv of its own: tests/README.md). NVIDIA's own gRPC client against our server; prints one JSON object.

Usage: python triton_grpc_client.py HOST:PORT MODEL
"""
from __future__ import annotations

import json
import sys

import numpy as np
import tritonclient.grpc as triton
from tritonclient.utils import InferenceServerException


def status(call) -> dict:
    try:
        call()
    except InferenceServerException as exc:
        return {"status": exc.status(), "message": exc.message()}
    return {"status": "OK"}


def main(url: str, model: str) -> None:
    client = triton.InferenceServerClient(url)
    out: dict = {"live": client.is_server_live(), "ready": client.is_server_ready(),
                 "model_ready": client.is_model_ready(model), "server": client.get_server_metadata().name}
    x = triton.InferInput("x", [2, 2], "FP32")
    x.set_data_from_numpy(np.array([[1, 2], [3, 4]], dtype=np.float32))  # raw_input_contents, tritonclient's way
    result = client.infer(model, [x], outputs=[triton.InferRequestedOutput("doubled")])
    out["doubled"] = result.as_numpy("doubled").tolist()
    out["outputs"] = [o.name for o in result.get_response().outputs]
    bad = triton.InferInput("x", [2], "FP32")
    bad.set_data_from_numpy(np.array([1, 2], dtype=np.float32))
    bad.set_shape([3])  # 2 values, shape says 3 (tritonclient checks only at set_data_from_numpy)
    out["bad_shape"] = status(lambda: client.infer(model, [bad]))
    out["unknown_model"] = status(lambda: client.infer("no-such-model", [x]))
    negative = triton.InferInput("x", [1], "FP32")
    negative.set_data_from_numpy(np.array([-1], dtype=np.float32))
    out["predictor_error"] = status(lambda: client.infer(model, [negative]))
    out["unknown_output"] = status(lambda: client.infer(model, [x], outputs=[triton.InferRequestedOutput("nope")]))
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
