"""Load the user's predictor class and call it the way Cortex does.

The class is the Cortex one for the type (PythonPredictor / TensorFlowPredictor /
ONNXPredictor), else the file's only class with a `predict` method
(kserve_bridge/contract.py holds the rule and the argument table, shared with
`validate`). Signatures are checked once at load; arguments are
matched by name and optional ones are passed only when the method declares them.
"""
from __future__ import annotations

import importlib.util
import inspect
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kserve_bridge.contract import CLIENT_ARG, METHOD_ARGS, PREDICTOR_KINDS, allowed_args, pick_class
from kserve_bridge.errors import PredictorError

log = logging.getLogger("modelserver")
TYPE_OF_CLASS: dict[str, str] = {}  # class name -> the first predictor type it serves (PythonPredictor: python)
for _type, _kind in PREDICTOR_KINDS.items():
    TYPE_OF_CLASS.setdefault(_kind.class_name, _type)


def load_predictor_class(path: Path, predictor_type: str) -> type:
    """Import the predictor file by path and return its predictor class."""
    if not path.is_file():
        raise PredictorError(f"predictor file {path} does not exist")
    spec = importlib.util.spec_from_file_location("predictor", path)
    if spec is None or spec.loader is None:
        raise PredictorError(f"cannot import {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules["predictor"] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise PredictorError(f"importing {path.name} failed: {type(exc).__name__}: {exc}") from exc
    classes = {name: callable(getattr(value, "predict", None)) for name, value in vars(module).items()
               if isinstance(value, type) and value.__module__ == module.__name__}
    try:
        name, note = pick_class(classes, predictor_type)
    except PredictorError as exc:
        raise PredictorError(f"{path.name}: {exc}") from None
    if note:
        log.info("%s: %s", path.name, note)
    cls = getattr(module, name)
    check_signatures(cls, predictor_type)
    return cls


def parameters(func: Callable) -> dict[str, inspect.Parameter]:
    params = dict(inspect.signature(func).parameters)
    params.pop("self", None)
    return params


def describe(cls: type, name: str) -> str:
    return f"{cls.__name__}.{name}{inspect.signature(getattr(cls, name))}"


def check_signatures(cls: type, predictor_type: str | None = None) -> None:
    kind = predictor_type or TYPE_OF_CLASS.get(cls.__name__, "python")
    if not callable(getattr(cls, "predict", None)):
        raise PredictorError(f"{cls.__name__} has no predict method")
    for name in METHOD_ARGS:
        allowed, required = allowed_args(name, kind)
        method = cls.__dict__.get(name) if name == "__init__" else getattr(cls, name, None)
        if method is None:
            continue
        params = parameters(method)
        kinds = {p.kind for p in params.values()}
        if inspect.Parameter.VAR_POSITIONAL in kinds:
            raise PredictorError(f"{describe(cls, name)}: *args is not supported; declare arguments by name "
                                 f"(allowed: {', '.join(sorted(allowed))})")
        named = {n for n, p in params.items() if p.kind != inspect.Parameter.VAR_KEYWORD}
        unknown, missing = named - allowed, required - named
        if unknown or missing:
            problem = (f"unknown argument(s) {', '.join(sorted(unknown))}" if unknown
                       else f"missing argument(s) {', '.join(sorted(missing))}")
            raise PredictorError(f"{describe(cls, name)}: {problem}; allowed: {', '.join(sorted(allowed))}")


def asks_for_client(cls: type, predictor_type: str) -> bool:
    init = cls.__dict__.get("__init__")
    return init is not None and CLIENT_ARG[predictor_type] in parameters(init)


def bind(func: Callable, *names: str) -> Callable[..., Any]:
    """`func` as a callable taking `names` by keyword and passing on only those it declares
    (all of them if it takes **kwargs). The signature is inspected once, not per request."""
    params = parameters(func)
    if any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return func
    wanted = tuple(name for name in names if name in params)
    return lambda **available: func(**{name: available[name] for name in wanted})


def call_with(func: Callable, **available: Any) -> Any:
    """Call `func` once with the available arguments it declares."""
    return bind(func, *available)(**available)


def instantiate(cls: type, config: dict, client: Any, predictor_type: str | None = None) -> Any:
    """The predictor object, given what Cortex passed: config, the type's client, job_spec (None)."""
    kind = predictor_type or TYPE_OF_CLASS.get(cls.__name__, "python")
    try:
        return call_with(cls, config=config, job_spec=None, **{CLIENT_ARG[kind]: client})
    except PredictorError:
        raise
    except Exception as exc:
        raise PredictorError(f"{cls.__name__}.__init__ failed: {type(exc).__name__}: {exc}") from exc
