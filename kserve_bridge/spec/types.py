"""Annotated field types shared by the spec models."""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, BaseModel, Field, PlainSerializer, WithJsonSchema

from .units import format_duration, normalise_quantity, parse_duration


class SpecModel(BaseModel):
    """Strict base: unknown keys are errors, ints stay ints, no NaN."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, populate_by_name=True)


def _percent_or_int(value: Any) -> str | int:
    if isinstance(value, bool):
        raise ValueError("must be a non-negative integer or a percentage such as 25%")
    if isinstance(value, int) and 0 <= value <= 2**31 - 1:
        return value
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit() and int(value[:-1]) <= 100:
        return f"{int(value[:-1])}%"
    raise ValueError("must be a non-negative integer or a percentage between 0% and 100%")


def _none_to_empty(value: Any) -> Any:
    return {} if value is None else value


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
Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
StrMap = Annotated[dict[str, str], BeforeValidator(_none_to_empty)]
AnyMap = Annotated[dict[str, Any], BeforeValidator(_none_to_empty)]
