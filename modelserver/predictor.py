"""Load the user's predictor class and call it the way Cortex does.

Exactly one of PythonPredictor / TensorFlowPredictor / ONNXPredictor must be
defined. Signatures are checked once at load; arguments are matched by name
and optional ones are passed only when the method declares them.
"""
from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kserve_bridge.contract import CLIENT_ARG_OF_CLASS, PREDICTOR_KINDS
from kserve_bridge.errors import PredictorError

CLASS_FOR_TYPE = {t: kind.class_name for t, kind in PREDICTOR_KINDS.items()}
CLIENT_ARG = CLIENT_ARG_OF_CLASS
# method -> (arguments it may declare, arguments it must declare)
ALLOWED = {
    "predict": ({"payload", "query_params", "headers", "batch_id"}, set()),
    "post_predict": ({"response", "payload", "query_params", "headers"}, set()),
    "load_model": ({"model_path"}, {"model_path"}),
}


def load_predictor_class(path: Path, predictor_type: str) -> type:
    """Import the predictor file by path and return its one predictor class."""
    if not path.is_file():
        raise PredictorError(f"predictor file {path} does not exist")
    spec = importlib.util.spec_from_file_location("predictor", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["predictor"] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise PredictorError(f"importing {path.name} failed: {type(exc).__name__}: {exc}") from exc
    found = [name for name in CLIENT_ARG if isinstance(getattr(module, name, None), type)
             and getattr(module, name).__module__ == module.__name__]
    expected = CLASS_FOR_TYPE[predictor_type]
    if found != [expected]:
        got = ", ".join(found) or "none"
        raise PredictorError(f"{path.name} must define exactly one predictor class, {expected} for type "
                             f"{predictor_type!r} (found: {got})")
    cls = getattr(module, expected)
    check_signatures(cls)
    return cls


def parameters(func: Callable) -> dict[str, inspect.Parameter]:
    params = dict(inspect.signature(func).parameters)
    params.pop("self", None)
    return params


def describe(cls: type, name: str) -> str:
    return f"{cls.__name__}.{name}{inspect.signature(getattr(cls, name))}"


def check_signatures(cls: type) -> None:
    init_allowed = {"config", CLIENT_ARG[cls.__name__]}
    checks = {"__init__": (init_allowed, set()), **ALLOWED}
    if not callable(getattr(cls, "predict", None)):
        raise PredictorError(f"{cls.__name__} has no predict method")
    for name, (allowed, required) in checks.items():
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


def instantiate(cls: type, config: dict, client: Any) -> Any:
    try:
        return call_with(cls, config=config, **{CLIENT_ARG[cls.__name__]: client})
    except PredictorError:
        raise
    except Exception as exc:
        raise PredictorError(f"{cls.__name__}.__init__ failed: {type(exc).__name__}: {exc}") from exc
