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
