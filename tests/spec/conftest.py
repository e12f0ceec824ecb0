"""Fixtures for spec tests (builders live in helpers.py)."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with a predictor, a helper package folder and local model folders."""
    (tmp_path / "predictor.py").write_text("class PythonPredictor:\n    def predict(self, payload):\n"
                                           "        return payload\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "models" / "a" / "1").mkdir(parents=True)
    (tmp_path / "models" / "b").mkdir()
    return tmp_path
