"""models:/ paths against a real MLflow server: convert, validate, deploy + get, and serve fetching the model."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from kserve_bridge.cli import main
from kserve_bridge.registry import ANNOTATION
from tests.modelserver.conftest import make_project

pytestmark = pytest.mark.slow

PREDICTOR = '''
class PythonPredictor:
    def __init__(self, python_client):
        self.client = python_client

    def predict(self, payload):
        return {"labels": self.client.get_model().predict(payload["rows"]).tolist()}
'''
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]


def project(root: Path, path: str) -> Path:
    return make_project(root, f"""
        - name: iris
          kind: RealtimeAPI
          predictor:
            type: sklearn
            path: predictor.py
            models:
              path: {path}
        """, PREDICTOR)


@pytest.fixture(scope="module")
def iris(registry):
    """Two registered versions of iris, alias champion on version 1."""
    first = registry.register("iris", c=1.0)
    second = registry.register("iris", c=0.01)
    registry.client.set_registered_model_alias("iris", "champion", first[0])
    return {"v1": first, "v2": second}


def convert(root: Path, capsys) -> dict:
    assert main(["convert", str(root), "--storage-uri", "s3://models/bundles"]) == 0
    (isvc,) = yaml.safe_load_all(capsys.readouterr().out)
    return isvc


def test_convert_resolves_the_alias_and_a_move_gives_a_new_deployment(registry, iris, tmp_path, capsys):
    root = project(tmp_path / "p", "models:/iris@champion")
    first = convert(root, capsys)
    (recorded,) = json.loads(first["metadata"]["annotations"][ANNOTATION])
    version, run_id = iris["v1"]
    assert recorded == {"uri": "models:/iris@champion", "name": "iris", "version": version, "alias": "champion",
                        "run_id": run_id, "source": recorded["source"]}
    assert recorded["source"].startswith("s3://models/mlflow/") and recorded["source"] in json.dumps(first)
    assert "models:/" not in json.dumps(first["spec"])  # the pod gets the artifact location, never the alias

    registry.client.set_registered_model_alias("iris", "champion", iris["v2"][0])
    try:
        moved = convert(root, capsys)
    finally:
        registry.client.set_registered_model_alias("iris", "champion", version)
    label = "kserve-bridge.io/deployment-id"
    assert moved["metadata"]["labels"][label] != first["metadata"]["labels"][label]
    assert json.loads(moved["metadata"]["annotations"][ANNOTATION])[0]["version"] == iris["v2"][0]
    assert convert(root, capsys)["metadata"]["labels"][label] == first["metadata"]["labels"][label]


@pytest.mark.parametrize("path, words", [
    ("models:/nobody/1", "registered model nobody not found in MLflow's registry"),
    ("models:/iris/99", "registered model iris version 99 not found"),
    ("models:/iris@ghost", "registered model iris has no alias ghost (aliases: champion)"),
    ("models:/iris/latest", "a registry model is written models:/NAME/VERSION or models:/NAME@ALIAS"),
])
def test_unknown_model_version_or_alias_exit_2_naming_it(registry, iris, tmp_path, capsys, path, words):
    root = project(tmp_path / "p", path)
    assert main(["validate", str(root)]) == 2
    err = capsys.readouterr().err
    assert f"cortex.yaml:8: apis[0](iris).predictor.models.path: {words}" in err
    assert path in err and "Traceback" not in err


def test_registry_unreachable_is_a_clear_error(registry, iris, tmp_path, capsys, monkeypatch):
    from tests.modelserver.conftest import free_port
    closed = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", closed)
    assert main(["convert", str(project(tmp_path / "p", "models:/iris/1"))]) == 1
    err = capsys.readouterr().err
    assert f"MLflow's registry at {closed} could not resolve models:/iris/1" in err and "Traceback" not in err
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert main(["convert", str(project(tmp_path / "p", "models:/iris/1"))]) == 1
    assert "set MLFLOW_TRACKING_URI" in capsys.readouterr().err


def test_deploy_records_the_version_and_get_shows_it(registry, iris, fake, kubeconfig, tmp_path, capsys):
    root = project(tmp_path / "p", "models:/iris@champion")
    assert main(["deploy", str(root), "--storage-uri", "s3://models/bundles", "--kubeconfig", str(kubeconfig)]) == 0
    capsys.readouterr()
    stored = json.loads(fake.isvc("iris")["metadata"]["annotations"][ANNOTATION])
    assert stored[0]["version"] == iris["v1"][0]
    assert main(["get", "iris", "--kubeconfig", str(kubeconfig)]) == 0
    out = capsys.readouterr().out
    assert f"registered model:       iris version {iris['v1'][0]} (alias champion), run {iris['v1'][1]}" in out


def test_serve_fetches_the_registered_model_and_answers(registry, iris, tmp_path, serve):
    root = project(tmp_path / "p", "models:/iris/2")
    server = serve(root, command=[sys.executable, "-m", "kserve_bridge", "serve", str(root)])
    answer = httpx.post(server.url + "/predict", json={"rows": ROWS}, timeout=60)
    assert answer.status_code == 200, answer.text
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    x, y = load_iris(return_X_y=True)  # version 2 is C=0.01: the same predictions as a fresh fit of it
    assert answer.json() == {"labels": LogisticRegression(C=0.01, max_iter=1000).fit(x, y).predict(ROWS).tolist()}
