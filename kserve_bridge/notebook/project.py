"""Turn an in-memory predictor class into a project directory (the notebook path).

A class from a file-backed module ships that module's source. A class defined in a
notebook or script (`__main__`) ships a predictor.py rebuilt from the session: its
source plus the imports, helpers and constants it uses. Only when that is impossible
is the class serialised (predictor.pkl, loaded by a small predictor.py), with the
recoverable source alongside for reading.

The directory is named after a hash of everything written to it, so the same class
source, requirements and spec always give the same files (and the same deployment id).
"""
from __future__ import annotations

import hashlib
import inspect
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import yaml

from ..contract import DEPENDENCY_FILES, PREDICTOR_KINDS
from ..errors import PredictorError
from . import serialized
from .recover import Unrecoverable, definition_source, recover_module

# The class name the model server looks up in predictor.py for each predictor type.
CLASS_NAMES = {t: kind.class_name for t, kind in PREDICTOR_KINDS.items()}


def predictor_source(predictor: type, predictor_type: str = "python") -> str:
    """Readable source defining `predictor` under the class name the server expects
    (raises `Unrecoverable` when it cannot be rebuilt from the session)."""
    module = sys.modules.get(predictor.__module__)
    source = ""
    if module is not None and module.__name__ != "__main__" and getattr(module, "__file__", None):
        try:
            source = inspect.getsource(module)
        except (OSError, TypeError):
            source = ""
    if f"class {predictor.__name__}" not in source:
        source = recover_module(predictor)
    return source.rstrip() + "\n" + _alias(predictor, predictor_type)


def _alias(predictor: type, predictor_type: str) -> str:
    """A subclass under the name the server looks up (a plain alias would keep the old __name__)."""
    expected = CLASS_NAMES.get(predictor_type)
    if not expected or expected == predictor.__name__:
        return ""
    name = predictor.__name__
    return f'\n\nclass {expected}({name}):\n    """{name}, under the name the model server loads."""\n'



def predictor_files(predictor: type, predictor_type: str = "python") -> dict[str, str | bytes]:
    """predictor.py from source, else the serialised class with whatever source exists."""
    if not inspect.isclass(predictor):
        raise PredictorError(f"predictor must be a class, got {type(predictor).__name__}")
    try:
        return {"predictor.py": predictor_source(predictor, predictor_type)}
    except Unrecoverable as exc:
        reason = str(exc)
    data, versions = serialized.serialize(predictor)
    expected = CLASS_NAMES.get(predictor_type, "PythonPredictor")
    try:
        readable = definition_source(predictor)
    except Unrecoverable:
        readable = f"# the source of {predictor.__qualname__} was not available in the session\n"
    return {"predictor.py": serialized.loader_source(predictor, reason, expected),
            "predictor_source.py": readable,
            serialized.PICKLE_FILE: data,
            serialized.VERSIONS_FILE: json.dumps(versions, indent=1, sort_keys=True) + "\n"}


def write_project(api_spec: dict, predictor: type, requirements: Sequence[str] = (),
                  root: Path | None = None) -> Path:
    """A deterministic project dir with predictor.py, requirements.txt and cortex.yaml."""
    spec = dict(api_spec)
    pred = dict(spec.get("predictor") or {})
    pred.setdefault("type", "python")
    pred["path"] = "predictor.py"
    spec["predictor"] = pred
    files: dict[str, str | bytes] = {
        **predictor_files(predictor, pred["type"]),
        DEPENDENCY_FILES["pip"]: "".join(f"{r.strip()}\n" for r in requirements),
        "cortex.yaml": yaml.safe_dump([spec], sort_keys=True, default_flow_style=False),
    }
    digest = hashlib.sha256()
    for name in sorted(files):
        content = files[name]
        digest.update(f"{name}\0".encode() + (content.encode() if isinstance(content, str) else content) + b"\0")
    target = (root or Path(tempfile.gettempdir()) / "kserve-bridge-projects") / digest.hexdigest()[:16]
    target.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if isinstance(content, str):
            (target / name).write_text(content, encoding="utf-8")
        else:
            (target / name).write_bytes(content)
    return target
