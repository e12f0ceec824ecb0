"""Small builders for spec tests."""
from __future__ import annotations

import copy
from pathlib import Path


def api(**overrides) -> dict:
    """A minimal valid RealtimeAPI dict, with nested overrides merged in."""
    base = {"name": "iris", "kind": "RealtimeAPI", "predictor": {"type": "python", "path": "predictor.py"}}
    return merge(base, overrides)


def merge(base: dict, overrides: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def project(tmp_path: Path, text: str, files: tuple[str, ...] = ("predictor.py",)) -> Path:
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("class PythonPredictor:\n    pass\n")
    (tmp_path / "cortex.yaml").write_text(text)
    return tmp_path
