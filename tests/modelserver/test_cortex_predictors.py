"""Predictors written for Cortex run unchanged: its ONNX iris example against a model whose input is
declared [1, 4], and the Cortex guides' movie recommender (verbatim, tests/fixtures/guides) at the
guide's URL `/<api-name>/predict`."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .conftest import REPO, make_project

pytestmark = pytest.mark.slow
GUIDES = Path(__file__).resolve().parents[1] / "fixtures" / "guides"

# As Cortex's ONNX iris example (v0.19-v0.25) calls its client: a flat list of 4 floats
ONNX_IRIS = '''
labels = ["setosa", "versicolor", "virginica"]


class ONNXPredictor:
    def __init__(self, onnx_client, config):
        self.client = onnx_client

    def predict(self, payload):
        model_input = [payload["sepal_length"], payload["sepal_width"], payload["petal_length"],
                       payload["petal_width"]]
        prediction = self.client.predict(model_input)
        return labels[prediction[0][0]]
'''

ONNX_SPEC = """
- name: iris
  kind: RealtimeAPI
  predictor:
    type: onnx
    path: predictor.py
    model_path: model/gbtree.onnx
"""


def test_onnx_input_reshaped_to_declared_shape(tmp_path, serve):
    from .cortex_models import expected_class, fixed_onnx

    project = make_project(tmp_path / "iris", ONNX_SPEC, ONNX_IRIS)
    fixed_onnx(project / "model" / "gbtree.onnx")
    server = serve(project)
    rows = {"setosa": [5.1, 3.5, 1.0, 0.2], "virginica": [6.7, 3.0, 5.2, 2.3]}
    with server.client() as http:
        for label, row in rows.items():
            assert ["setosa", "versicolor", "virginica"][expected_class(row)] == label
            r = http.post("/iris", json=dict(zip(["sepal_length", "sepal_width", "petal_length", "petal_width"],
                                                 row, strict=False)))
            assert r.status_code == 200, r.text
            assert r.text == label
        bad = http.post("/iris", json={"sepal_length": 1, "sepal_width": 2, "petal_length": 3,
                                       "petal_width": [4, 5]})
        assert bad.status_code == 400, bad.text
        assert "float_input" in bad.json()["error"]
        assert http.post("/iris", json=dict(zip(["sepal_length", "sepal_width", "petal_length", "petal_width"],
                                                rows["setosa"], strict=False))).text == "setosa"


RECOMMENDER = '''
class Recommender:
    def __init__(self, catalogue):
        self.catalogue = catalogue

    def recommend(self, user_id):
        start = int(user_id) % len(self.catalogue)
        return self.catalogue[start:start + 2]
'''


def movie_project(root: Path, with_config: bool) -> Path:
    spec = (GUIDES / "movies.cortex.yaml").read_text()
    if with_config:  # what validate asks for: predictor.config.model_path
        spec = spec.replace("    path: predictor.py\n", "    path: predictor.py\n    config:\n      model_path: "
                                                         "model.joblib\n")
    return make_project(root, spec, (GUIDES / "movies.predictor.py").read_text(), **{"recommender.py": RECOMMENDER})


def validate(project: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kserve_bridge", "validate", str(project)], capture_output=True,
                          text=True, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, timeout=120)


def test_guide_movie_recommender_serves_at_the_guides_url(tmp_path, serve):
    verbatim = validate(movie_project(tmp_path / "verbatim", with_config=False))
    assert verbatim.returncode == 0, verbatim.stdout + verbatim.stderr  # a warning: no config, nothing certain
    assert "predictor.py:7: warning: apis[0](movie-recommendation): Predictor.__init__ reads " \
           "config['model_path'], but predictor.config is not set in " in verbatim.stderr
    assert "cortex.yaml: loading fails with KeyError: 'model_path'; set predictor.config.model_path" \
           in verbatim.stderr

    project = movie_project(tmp_path / "movies", with_config=True)
    done = validate(project)
    assert done.returncode == 2 - 2, done.stderr
    assert "note: apis[0](movie-recommendation): using class Predictor" in done.stderr
    assert "warning:" in done.stderr and "model.joblib is not in the project" in done.stderr
    sys.path.insert(0, str(project))
    try:
        import joblib
        from recommender import Recommender
        joblib.dump(Recommender(["Heat", "Ran", "Alien", "Brazil"]), project / "model.joblib")
    finally:
        sys.path.remove(str(project))
        sys.modules.pop("recommender", None)
    server = serve(project)
    with server.client() as http:
        for path, headers in [("/movie-recommendation/predict", {}),
                              # behind KServe's ingress: host-based routing, the path reaches the pod unchanged
                              ("/movie-recommendation/predict", {"Host": "movie-recommendation.team.example.com"}),
                              ("/movie-recommendation", {})]:
            r = http.post(path, json={"user_id": "12345"}, headers=headers)
            assert r.status_code == 200, (path, r.text)
            assert r.json() == {"recommendations": ["Ran", "Alien"]}
        assert http.get("/movie-recommendation/predict").status_code == 200
        # a non-JSON body takes the routed path (not the predict lane) to the same handler
        assert http.post("/movie-recommendation/predict", content=b"x").status_code == 500


def test_guide_summarizer_validates_with_a_note(tmp_path):
    spec = (GUIDES / "summarizer.cortex.yaml").read_text().replace(
        "    path: predictor.py\n", "    path: predictor.py\n    config:\n      model_path: summarizer.keras\n")
    project = make_project(tmp_path / "summarizer", spec, (GUIDES / "summarizer.predictor.py").read_text(),
                           **{"summarizer.keras": "placeholder"})
    done = validate(project)
    assert done.returncode == 0, done.stderr
    assert "no predictor.models: Predictor loads its own model" in done.stderr
    asks = textwrap.dedent('''
        class TensorFlowPredictor:
            def __init__(self, tensorflow_client, config):
                self.client = tensorflow_client

            def predict(self, payload):
                return self.client.predict(payload)
    ''')
    (project / "predictor.py").write_text(asks)
    refused = validate(project)
    assert refused.returncode == 2
    assert "predictor.py:3: apis[0](text-summarizer): TensorFlowPredictor.__init__ asks for tensorflow_client, " \
           "which needs predictor.models" in refused.stderr
