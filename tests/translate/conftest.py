"""Fixtures shared by the translate tests: a small valid project and an invalid spec."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.translate.specs import DEMO_SPEC

BAD = """- name: Bad_Name
  kind: RealtimeAPI
  predictor:
    type: cobol
    path: predictor.py
  autoscaling:
    min_replicas: 5
    max_replicas: 2
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """`demo/`: cortex.yaml (one RealtimeAPI named demo), predictor.py and model/weights.bin."""
    root = tmp_path / "demo"
    (root / "model").mkdir(parents=True)
    (root / "cortex.yaml").write_text(DEMO_SPEC)
    (root / "predictor.py").write_text("class PythonPredictor:\n    def predict(self, payload):\n        return 1\n")
    (root / "model" / "weights.bin").write_bytes(bytes(range(256)) * 64)
    return root


@pytest.fixture
def bad_spec(tmp_path: Path) -> Path:
    """A cortex.yaml with several problems (bad name, predictor type and replica bounds)."""
    path = tmp_path / "cortex.yaml"
    path.write_text(BAD)
    (tmp_path / "predictor.py").write_text("")
    return path
