"""JSON Schema of the spec, generated from the pydantic models (checked in as cortex.schema.json).

Regenerate with `python -m kserve_bridge.spec.schema` after changing the models.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter

from .models import RealtimeAPI, TrafficSplitter

SCHEMA_FILE = Path(__file__).with_name("cortex.schema.json")


def spec_schema() -> dict:
    api = Annotated[Union[RealtimeAPI, TrafficSplitter], Field(discriminator="kind")]
    schema = TypeAdapter(Union[list[api], api]).json_schema(mode="validation")
    _add_legacy_spellings(schema["$defs"])
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "kserve-bridge spec (Cortex-style cortex.yaml)"
    return schema


def _add_legacy_spellings(defs: dict[str, Any]) -> None:
    """The loader accepts Cortex v0.19-v0.25 spellings; so must the schema."""
    pred = defs["Predictor"]["properties"]
    pred["model_path"] = {"type": "string", "minLength": 1, "description": "Cortex <= v0.24 spelling of models.path"}
    pred["signature_key"] = {"type": "string", "description": "Cortex <= v0.24 spelling of models.signature_key"}
    pred["models"]["anyOf"].insert(1, {"type": "array", "items": {"$ref": "#/$defs/ModelPath"}, "minItems": 1})
    pred["multi_model_reloading"] = {"anyOf": pred["models"]["anyOf"],
                                     "description": "Cortex v0.25 spelling of models (python predictors)"}
    model_path = defs["ModelPath"]
    model_path["properties"]["model_path"] = {**model_path["properties"]["path"],
                                              "description": "Cortex <= v0.24 spelling of path"}
    model_path["required"] = ["name"]
    model_path["oneOf"] = [{"required": ["path"]}, {"required": ["model_path"]}]
    opts = defs["KServeOptions"]
    opts["properties"]["timeout"] = {**opts["properties"]["request_timeout"],
                                     "description": "older spelling of request_timeout"}
    opts["not"] = {"required": ["timeout", "request_timeout"]}
    mode = opts["properties"]["deployment_mode"]
    mode["enum"] = [s for m in ("Serverless", "Knative", "RawDeployment", "Raw", "Standard")
                    for s in (m, m.lower())]


def schema_text() -> str:
    return json.dumps(spec_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # pragma: no cover
    SCHEMA_FILE.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")
