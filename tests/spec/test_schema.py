"""The checked-in JSON Schema matches the models and accepts/rejects what load_spec does."""
from __future__ import annotations

import json

import jsonschema
import pytest

from kserve_bridge.spec.schema import SCHEMA_FILE, schema_text
from tests.spec.test_valid_specs import VALID


def test_checked_in_schema_is_up_to_date():
    assert SCHEMA_FILE.read_text() == schema_text(), (
        "cortex.schema.json is stale: run python -c 'from kserve_bridge.spec.schema import *; "
        "SCHEMA_FILE.write_text(schema_text())'")


@pytest.fixture(scope="module")
def validator():
    return jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))


@pytest.mark.parametrize("data", VALID.values(), ids=VALID.keys())
def test_schema_accepts_valid_specs(validator, data):
    validator.validate(data)


@pytest.mark.parametrize("data", [
    [{"name": "a", "kind": "RealtimeAPI"}],
    [{"name": "a", "kind": "RealtimeAPI", "predictor": {"type": "java", "path": "p.py"}}],
    [{"name": "a", "kind": "RealtimeAPI", "predictor": {"type": "python", "path": "p.py", "typo": 1}}],
    [{"name": "a", "kind": "BatchAPI"}],
    [{"name": "a", "kind": "RealtimeAPI", "predictor": {"type": "python", "path": "p.py"},
      "autoscaling": {"max_replicas": 0}}],
])
def test_schema_rejects_invalid_specs(validator, data):
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(data)
