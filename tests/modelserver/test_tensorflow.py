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
        out = self.client.predict(payload["x"], query_params.get("model"), query_params.get("version", "latest"),
                                  numpy=True)
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
          signature_key: serving_default
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

    # Over v2, each model by its name: metadata from its signature (None -> -1), inference with query {"model"}.
    import numpy as np
    import tritonclient.http as triton

    client = triton.InferenceServerClient(server.url.removeprefix("http://"))
    try:
        metadata = client.get_model_metadata("doubler")
        assert metadata["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [-1, 2]}]
        assert metadata["outputs"] == [{"name": "twice", "datatype": "FP32", "shape": [-1, 2]}]
        assert metadata["platform"] == "tensorflow_savedmodel" and metadata["versions"] == ["1"]
        x = triton.InferInput("x", [1, 2], "FP32")
        x.set_data_from_numpy(np.array([[1.0, 3.0]], dtype=np.float32))
        assert client.infer("affine", [x], model_version="1").as_numpy("y").tolist() == [[11.0, 15.0]]
    finally:
        client.close()


# As Cortex's TensorFlow iris example reads its output (v0.19-v0.25): Cortex's flat value lists
IRIS_PREDICTOR = '''
import numpy as np

labels = ["setosa", "versicolor", "virginica"]


class TensorFlowPredictor:
    def __init__(self, tensorflow_client, config):
        self.client = tensorflow_client

    def predict(self, payload, query_params):
        prediction = self.client.predict(payload)
        if query_params.get("raw"):
            return prediction
        best = int(np.argsort(prediction["probabilities"])[-1])
        return {"label": labels[int(prediction["class_ids"][0])], "argsort": labels[best]}
'''

IRIS_SPEC = """
- name: iris
  kind: RealtimeAPI
  predictor:
    type: tensorflow
    path: predictor.py
    model_path: model
"""


def test_estimator_savedmodel_answers_as_cortex(tmp_path, serve):
    """No signature_key: Cortex picks "predict" over serving_default; outputs are TF Serving's JSON value lists."""
    pytest.importorskip("tensorflow")
    from .cortex_models import estimator_savedmodel, expected_class

    project = make_project(tmp_path / "iris", IRIS_SPEC, IRIS_PREDICTOR)
    estimator_savedmodel(project / "model")
    server = serve(project)
    row = {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}
    assert expected_class(list(row.values())) == 2
    with server.client() as http:
        r = http.post("/iris", json=row)
        assert r.status_code == 200, r.text
        assert r.json() == {"label": "virginica", "argsort": "virginica"}
        raw = http.post("/iris?raw=1", json=row).json()
        assert raw["class_ids"] == ["2"]  # int64: strings, as proto3 JSON writes them
        assert raw["classes"] == ["Mg=="]  # strings: base64 text
        assert len(raw["probabilities"]) == 3 and all(isinstance(p, float) for p in raw["probabilities"])
        assert raw["probabilities"][2] > 0.99 and len(raw["logits"]) == 3
        missing = http.post("/iris", json={"sepal_length": 1.0})
        assert missing.status_code == 400 and "missing key" in missing.json()["error"]
        assert http.post("/iris", json=row).status_code == 200


def test_signature_choice_follows_cortex(tmp_path):
    pytest.importorskip("tensorflow")
    from kserve_bridge.errors import PredictorError
    from modelserver.backends.tensorflow import choose_signature, load

    from .cortex_models import two_signature_savedmodel

    assert choose_signature(["only"], None, "m") == "only"
    assert choose_signature(["serving_default", "predict"], None, "m") == "predict"
    with pytest.raises(PredictorError, match="several signatures .*plus.*minus|several signatures .*minus.*plus"):
        load(two_signature_savedmodel(tmp_path / "two"))
    assert load(tmp_path / "two", "minus").key == "minus"


def test_cortex_values_match_tf_serving_json():
    pytest.importorskip("tensorflow")
    import numpy as np

    from modelserver.backends.tensorflow import cortex_values

    assert cortex_values(np.array([[1, 2]], np.int64)) == ["1", "2"]
    assert cortex_values(np.array([[1, 2]], np.int32)) == [1, 2]
    assert cortex_values(np.array([0.1, np.nan], np.float32)) == [0.1, "NaN"]
    assert cortex_values(np.array([0.1], np.float64)) == [0.1]
    assert cortex_values(np.array([b"ab"], object)) == ["YWI="]
    assert cortex_values(np.array([True])) == [True]
    assert cortex_values(np.zeros((0, 3), np.float32)) == []


def test_guide_text_summarizer_loads_its_own_keras_model(tmp_path, serve):
    """The guide's `type: tensorflow` API with no models block (verbatim, tests/fixtures/guides): its class
    loads a Keras model itself. Edits: the config key validate asks for, and Keras 2 (the guide's
    `model.predict(list)` is refused by Keras 3), chosen with TF_USE_LEGACY_KERAS in predictor.env."""
    tf_keras = pytest.importorskip("tf_keras")
    from pathlib import Path

    guides = Path(__file__).resolve().parents[1] / "fixtures" / "guides"
    spec = (guides / "summarizer.cortex.yaml").read_text().replace(
        "    path: predictor.py\n", "    path: predictor.py\n    config:\n      model_path: summarizer.h5\n"
                                   "    env:\n      TF_USE_LEGACY_KERAS: '1'\n")
    project = make_project(tmp_path / "summarizer", spec, (guides / "summarizer.predictor.py").read_text())
    model = tf_keras.Sequential([tf_keras.Input(shape=(3,)),
                                 tf_keras.layers.Dense(2, kernel_initializer="ones", bias_initializer="zeros")])
    model.save(project / "summarizer.h5")
    server = serve(project)
    with server.client() as http:
        r = http.post("/text-summarizer/predict", json={"text": [[1.0, 2.0, 3.0]]})
        assert r.status_code == 200, r.text
        assert r.json() == {"summary": [[6.0, 6.0]]}
    assert "using class Predictor as the predictor" in server.log_text()
