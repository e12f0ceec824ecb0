"""Annotated field types shared by the spec models."""
from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, PlainSerializer, WithJsonSchema

from .units import format_duration, normalise_quantity, parse_duration


class SpecModel(BaseModel):
    """Strict base: unknown keys are errors, ints stay ints, no NaN."""

    # protected_namespaces: Cortex's `model_type` (monitoring) is a field; pydantic before 2.10 warned on `model_*`
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, populate_by_name=True,
                              protected_namespaces=())


def _percent_or_int(value: Any) -> str | int:
    if isinstance(value, bool):
        raise ValueError("must be a non-negative integer or a percentage such as 25%")
    if isinstance(value, int) and 0 <= value <= 2**31 - 1:
        return value
    digits = value[:-1] if isinstance(value, str) and value.endswith("%") else ""
    if digits.isascii() and digits.isdigit() and int(digits) <= 100:
        return f"{int(digits)}%"
    raise ValueError("must be a non-negative integer or a percentage between 0% and 100%")


def _none_to_empty(value: Any) -> Any:
    return {} if value is None else value


def _json_data(value: Any, where: str = "") -> Any:
    """Free-form data must survive JSON (it reaches the model server that way): no NaN, no objects."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"keys must be strings (at {where or 'top level'})")
            _json_data(item, f"{where}.{key}" if where else key)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _json_data(item, f"{where}[{i}]")
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"a NaN or infinite number cannot be passed on as JSON (at {where})")
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**4000:
        raise ValueError(f"integer too large (at {where})")
    elif value is not None and not isinstance(value, (str, int, float, bool)):
        raise ValueError(f"must hold only YAML data (mappings, lists, strings, numbers, booleans, null); "
                         f"found {type(value).__name__} at {where}")
    return value


Quantity = Annotated[
    str,
    BeforeValidator(normalise_quantity),
    WithJsonSchema({"anyOf": [{"type": "string", "pattern": r"^[0-9.eE+-]+(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$"},
                              {"type": "number", "minimum": 0}],
                    "description": "Kubernetes quantity, e.g. 500m, 1, 2Gi, 512M"}),
]
Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+)$",
                    "description": "Go duration, e.g. 100ms, 10s, 1m30s"}),
]
SurgeValue = Annotated[
    str | int,
    BeforeValidator(_percent_or_int),
    WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": r"^\d+%$"}]}),
]
StrMap = Annotated[dict[str, str], BeforeValidator(_none_to_empty),
                   WithJsonSchema({"type": ["object", "null"], "additionalProperties": {"type": "string"},
                                   "description": "string to string; null means empty"})]
AnyMap = Annotated[dict[str, Any], BeforeValidator(_none_to_empty), AfterValidator(_json_data),
                   WithJsonSchema({"type": ["object", "null"], "description": "free mapping; null means empty"})]
