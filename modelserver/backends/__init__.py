"""Framework adapters, one module per framework, each imported only when used.

Each module exposes `load(path: Path, signature_key: str | None) -> object`.
`sklearn`/`pytorch` return the estimator / torch module itself; `onnx` and
`tensorflow` return a `TensorModel` (named numpy inputs in, named outputs out).
"""
from __future__ import annotations

import importlib
import math
import os
from pathlib import Path
from types import ModuleType
from typing import Protocol

import numpy as np
from numpy.typing import DTypeLike

from kserve_bridge.contract import PREDICTOR_KINDS
from kserve_bridge.errors import ModelInputError, PredictorError

# Backend module -> the pip extra that brings its framework.
EXTRA = {kind.backend: kind.framework for kind in PREDICTOR_KINDS.values() if kind.backend}


def backend(kind: str) -> ModuleType:
    """The adapter module for a predictor type (imports the framework)."""
    name = PREDICTOR_KINDS[kind].backend
    if name is None:
        raise PredictorError(f"a {kind} predictor loads its models itself (load_model)")
    return importlib.import_module(f"{__name__}.{name}")


def require(module: str, kind: str) -> ModuleType:
    """Import a framework or fail with the pip extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise PredictorError(f"the {kind} backend needs {module!r}, which is not installed: "
                             f"pip install 'kserve-bridge[{EXTRA[kind]}]' ({exc})") from exc


def cpu_budget(cgroup_root: Path = Path("/sys/fs/cgroup")) -> int:
    """CPUs this process may use: its CPU affinity, capped by the container's CPU limit
    (cgroup v2 `cpu.max` or v1 `cpu.cfs_quota_us`). Frameworks default to the node's cores,
    which oversubscribes a pod limited to a few CPUs."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = None
    try:
        limit, period = (cgroup_root / "cpu.max").read_text().split()[:2]
        quota = None if limit == "max" else int(limit) / int(period)
    except (OSError, ValueError):
        try:
            cfs_quota = int((cgroup_root / "cpu" / "cpu.cfs_quota_us").read_text())
            cfs_period = int((cgroup_root / "cpu" / "cpu.cfs_period_us").read_text())
            quota = cfs_quota / cfs_period if cfs_quota > 0 else None
        except (OSError, ValueError):
            pass
    return max(1, min(count, math.ceil(quota)) if quota else count)


def find_file(path: Path, suffixes: tuple[str, ...]) -> Path:
    """`path` itself, or the single model file with one of `suffixes` inside the folder `path`."""
    if path.is_file():
        return path
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in suffixes) if path.is_dir() else []
    if len(files) != 1:
        raise PredictorError(f"expected one model file ({', '.join(suffixes)}) at {path}, found "
                             f"{len(files) or 'none'}")
    return files[0]


def named_inputs(model_input: object, names: list[str], owner: str) -> dict[str, object]:
    """Cortex's input rule: a bare value for a single-input model, else {input_name: value}
    holding every input (Cortex: "missing key 'x' for model 'm'")."""
    if not isinstance(model_input, dict):
        if len(names) != 1:
            raise ModelInputError(f"expected model_input to be a dictionary with keys {names} for {owner}")
        return {names[0]: model_input}
    missing = [name for name in names if model_input.get(name) is None]
    if missing:
        raise ModelInputError(f"missing key {missing[0]!r} for {owner}; its inputs are {names}")
    return {name: model_input[name] for name in names}


def to_array(value: object, dtype: DTypeLike | None, shape: list | None, name: str, owner: str) -> np.ndarray:
    """Cortex's conversion: cast to the input's dtype, then reshape to its declared shape, where
    a symbolic or unknown dimension is free (reshaped only when at most one is free)."""
    try:
        if isinstance(value, np.ndarray) and dtype is not None and value.dtype != dtype:
            if np.issubdtype(value.dtype, np.number) != np.issubdtype(dtype, np.number):
                raise ValueError(f"expected dtype {np.dtype(dtype).name} but found {value.dtype.name}")
            value = value.astype(dtype)
        array = np.asarray(value, dtype=dtype)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ModelInputError(f"input {name!r} of {owner}: cannot convert to {np.dtype(dtype).name}: {exc}") \
            from exc
    if shape is None:
        return array
    target = [dim if isinstance(dim, int) and dim >= 0 else -1 for dim in shape]
    if target.count(-1) > 1:
        return array
    try:
        return array.reshape(target)
    except ValueError as exc:
        declared = [dim if isinstance(dim, int) else (dim or "?") for dim in shape]
        raise ModelInputError(f"input {name!r} of {owner} has shape {declared}: {array.size} value(s) of "
                              f"shape {list(array.shape)} do not fit it") from exc


class TensorModel(Protocol):
    """A model with named tensor inputs and outputs (ONNX, TensorFlow)."""

    input_names: list[str]

    def prepare(self, model_input: object) -> dict[str, np.ndarray]: ...

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...

    def format(self, outputs: dict[str, np.ndarray], numpy: bool = False) -> object: ...

    def metadata(self) -> dict: ...
