"""A TensorFlow SavedModel built in code, served through tensorflow_client (TF imports slowly: one module)."""
from __future__ import annotations

import pytest

from .conftest import make_project

pytestmark = pytest.mark.slow

PREDICTOR = '''
class TensorFlowPredictor:
    def __init__(self, tensorflow_client, config):
        self.client = tensorflow_client

    def predict(self, payload, query_params):
        out = self.client.predict(payload["x"], query_params.get("model"), query_params.get("version", "latest"))
        return {name: value.tolist() for name, value in out.items()}
'''

SPEC = """
- name: tf
  kind: RealtimeAPI
  predictor:
    type: tensorflow
    path: predictor.py
    models:
      paths:
        - name: affine
          path: saved/affine
        - name: doubler
          path: saved/affine
          signature_key: double
"""


def build_saved_model(target) -> None:
    tf = pytest.importorskip("tensorflow")

    class Affine(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable([[1.0, 2.0], [3.0, 4.0]])

        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
        def serve(self, x):
            return {"y": tf.matmul(x, self.w) + 1.0}

        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
        def double(self, x):
            return {"twice": x * 2.0}

    module = Affine()
    tf.saved_model.save(module, str(target), signatures={"serving_default": module.serve, "double": module.double})


def test_tensorflow_savedmodel_signatures(tmp_path, serve):
    project = make_project(tmp_path / "tf", SPEC, PREDICTOR)
    build_saved_model(project / "saved" / "affine" / "1")
    server = serve(project)
    with server.client() as http:
        r = http.post("/tf?model=affine", json={"x": [[1, 1], [0, 2]]})
        assert r.status_code == 200, r.text
        assert r.json() == {"y": [[5.0, 7.0], [7.0, 9.0]]}
        assert http.post("/tf?model=doubler", json={"x": [[1, 1]]}).json() == {"twice": [[2.0, 2.0]]}
        assert http.post("/tf?model=affine&version=1", json={"x": [[0, 0]]}).json() == {"y": [[1.0, 1.0]]}
        missing = http.post("/tf?model=affine&version=7", json={"x": [[0, 0]]})
        assert missing.status_code == 404 and "no version '7'" in missing.json()["error"]
        assert http.post("/tf?model=other", json={"x": [[0, 0]]}).status_code == 404
        assert http.post("/tf?model=affine", json={"x": [[1, 1]]}).status_code == 200
