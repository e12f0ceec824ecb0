"""Turn an in-memory predictor class into a project directory (the notebook path).

The directory is named after a hash of everything written to it, so the same
class source, requirements and spec always give the same files (and so the
same deployment id).
"""
from __future__ import annotations

import hashlib
import inspect
import sys
import tempfile
from pathlib import Path

import yaml

from ..errors import PredictorError

# The class name Cortex looks up in predictor.py for each predictor type.
_CLASS_NAMES = {"python": "PythonPredictor", "tensorflow": "TensorFlowPredictor", "onnx": "ONNXPredictor"}


def predictor_source(predictor: type, predictor_type: str = "python") -> str:
    """Source of the module defining `predictor` (so its imports come along), or of the
    class alone when the module has no source (e.g. a notebook's __main__); plus an
    alias when the class is not named as Cortex expects."""
    module = sys.modules.get(predictor.__module__)
    try:
        source = inspect.getsource(module) if module is not None and module.__name__ != "__main__" else ""
    except (OSError, TypeError):
        source = ""
    if predictor.__name__ not in source:
        try:
            source = inspect.getsource(predictor)
        except (OSError, TypeError) as exc:
            raise PredictorError(f"cannot read the source of {predictor.__qualname__}: {exc}; "
                                 "pass project_dir with a predictor.py instead") from exc
    expected = _CLASS_NAMES.get(predictor_type)
    if expected and expected != predictor.__name__:
        source = f"{source.rstrip()}\n\n\n{expected} = {predictor.__name__}\n"
    return source


def write_project(api_spec: dict, predictor: type, requirements: list[str] = (),
                  root: Path | None = None) -> Path:
    """A deterministic project dir with predictor.py, requirements.txt and cortex.yaml."""
    spec = dict(api_spec)
    pred = dict(spec.get("predictor") or {})
    pred.setdefault("type", "python")
    pred["path"] = "predictor.py"
    spec["predictor"] = pred
    files = {
        "predictor.py": predictor_source(predictor, pred["type"]),
        "requirements.txt": "".join(f"{r.strip()}\n" for r in requirements),
        "cortex.yaml": yaml.safe_dump([spec], sort_keys=True, default_flow_style=False),
    }
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(f"{name}\0{files[name]}\0".encode())
    target = (root or Path(tempfile.gettempdir()) / "kserve-bridge-projects") / digest.hexdigest()[:16]
    target.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (target / name).write_text(text, encoding="utf-8")
    return target
