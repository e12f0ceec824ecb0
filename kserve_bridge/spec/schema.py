"""JSON Schema of the spec, generated from the pydantic models (checked in as cortex.schema.json).

Regenerate with `python -m kserve_bridge.spec.schema` after changing the models.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from pydantic import Field, TypeAdapter

from .legacy import add_to_schema
from .models import RealtimeAPI, TrafficSplitter

SCHEMA_FILE = Path(__file__).with_name("cortex.schema.json")


def spec_schema() -> dict:
    api = Annotated[RealtimeAPI | TrafficSplitter, Field(discriminator="kind")]
    schema = TypeAdapter(list[api] | api).json_schema(mode="validation")
    add_to_schema(schema["$defs"])  # the older spellings the loader accepts
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "kserve-bridge spec (Cortex-style cortex.yaml)"
    return schema


def schema_text() -> str:
    return json.dumps(spec_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # pragma: no cover
    SCHEMA_FILE.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")
