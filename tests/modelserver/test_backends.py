"""sklearn, pytorch (TorchScript and pickled module) and ONNX backends behind the real server."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from .conftest import make_project

pytestmark = pytest.mark.slow

SKLEARN_PREDICTOR = '''
class PythonPredictor:
    def __init__(self, python_client):
        self.client = python_client

    def predict(self, payload):
        return {"labels": self.client.get_model().predict(payload["rows"]).tolist(),
                "estimator": type(self.client.get_model()).__name__}
'''

TORCH_PREDICTOR = '''
import torch


class PythonPredictor:
    def __init__(self, config, python_client):
        self.client = python_client

    def predict(self, payload):
        model = self.client.get_model()
        with torch.no_grad():
            return {"logits": model(torch.tensor(payload["rows"], dtype=torch.float32)).tolist(),
                    "kind": type(model).__name__}
'''

ONNX_PREDICTOR = '''
class ONNXPredictor:
    def __init__(self, onnx_client, config):
        self.client = onnx_client

    def predict(self, payload):
        if "named" in payload:
            return {"logits": self.client.predict({"x": payload["named"]})[0]}
        return {"logits": self.client.predict(payload["rows"])[0],
                "inputs": list(self.client.get_model().metadata()["inputs"])}
'''


def spec(kind: str, path: str) -> str:
    return f"""
- name: m
  kind: RealtimeAPI
  predictor:
    type: {kind}
    path: predictor.py
    models:
      path: {path}
"""


def project_with(tmp_path, kind, predictor, source, target):
    project = make_project(tmp_path / kind, spec(kind, target), predictor)
    (project / target).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, project / target)
    return project


def test_sklearn_backend_loads_joblib_without_load_model(tmp_path, trained, serve):
    server = serve(project_with(tmp_path, "sklearn", SKLEARN_PREDICTOR, trained["iris"], "model/iris.joblib"))
    with server.client() as http:
        r = http.post("/m", json={"rows": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]})
    assert r.json() == {"labels": [0, 2], "estimator": "LogisticRegression"}


@pytest.mark.parametrize("model_file", ["script", "full"])
def test_pytorch_backend_torchscript_and_pickled_module(tmp_path, trained, serve, model_file):
    # a folder holding one .pt file: the backend finds it
    server = serve(project_with(tmp_path, "pytorch", TORCH_PREDICTOR, trained[model_file], "model/mlp.pt"))
    x, expected = np.load(trained["x"])[:5], np.load(trained["expected"])
    with server.client() as http:
        r = http.post("/m", json={"rows": x.tolist()})
    assert r.status_code == 200, r.text
    assert np.allclose(r.json()["logits"], expected, atol=1e-5)
    assert r.json()["kind"] == ("RecursiveScriptModule" if model_file == "script" else "Sequential")


def test_onnx_backend_matches_torch(tmp_path, trained, serve):
    server = serve(project_with(tmp_path, "onnx", ONNX_PREDICTOR, trained["onnx"], "model/mlp.onnx"))
    x, expected = np.load(trained["x"])[:5], np.load(trained["expected"])
    with server.client() as http:
        r = http.post("/m", json={"rows": x.astype(float).tolist()})  # float64 JSON, cast to the model's float32
        assert r.status_code == 200, r.text
        assert np.allclose(r.json()["logits"], expected, atol=1e-5)
        assert r.json()["inputs"] == ["x"]
        assert np.allclose(http.post("/m", json={"named": x.tolist()}).json()["logits"], expected, atol=1e-5)
        bad = http.post("/m", json={"named": [[1.0, 2.0]]})
        assert bad.status_code == 400 and "has shape ['batch', 4]" in bad.json()["error"]  # Cortex: reshaped
        assert http.post("/m", json={"rows": x.tolist()}).status_code == 200
