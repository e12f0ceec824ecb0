"""scikit-learn (or any joblib/pickle) models."""
from __future__ import annotations

from pathlib import Path

from . import find_file, require


def load(path: Path, signature_key: str | None = None) -> object:
    joblib = require("joblib", "sklearn")
    require("sklearn", "sklearn")
    return joblib.load(find_file(path, (".joblib", ".pkl", ".pickle")))
