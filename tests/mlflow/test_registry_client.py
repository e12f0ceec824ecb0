"""models:/ paths where MLflow's client is not installed (the main venv): a clear error, no import at convert."""
from __future__ import annotations

import importlib.util

import pytest

from kserve_bridge.cli import main
from tests.mlflow.test_registry import project


@pytest.mark.skipif(importlib.util.find_spec("mlflow") is not None, reason="MLflow's client is installed here")
def test_without_mlflow_a_models_path_says_which_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    assert main(["validate", str(project(tmp_path / "p", "models:/iris/1"))]) == 1
    assert "pip install 'kserve-bridge[mlflow]'" in capsys.readouterr().err


def test_get_reads_the_annotation_convert_writes_and_shows_an_odd_one_as_it_is():
    from kserve_bridge.registry import RegisteredModel, described, registry_annotation
    models = [RegisteredModel("models:/iris@champion", "iris", "3", "champion", "r1", "s3://b/m/artifacts"),
              RegisteredModel("models:/net/2", "net", "2", None, None, "gs://b/net")]
    assert described(registry_annotation(models)) == ["iris version 3 (alias champion), run r1", "net version 2, run -"]
    assert described(None) == [] and described("not json") == ["not json"] and described('[{"x": 1}]') == ['[{"x": 1}]']
