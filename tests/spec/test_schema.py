"""The checked-in JSON Schema matches the models and accepts/rejects what load_spec does."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pydantic
import pytest

from kserve_bridge.spec import load_spec
from kserve_bridge.spec.schema import SCHEMA_FILE, schema_text
from tests.spec.helpers import api
from tests.spec.test_resolution import LEGACY, RESOLVABLE
from tests.spec.test_valid_specs import VALID

EVERY_VALID = {**VALID, **{f"resolution: {k}": v for k, v in RESOLVABLE.items()},
               **{f"legacy: {k}": [api(predictor=v[0])] for k, v in LEGACY.items()}}


# The checked-in file is what pydantic 2.10+ writes; older generators (.venv-lowest: pydantic 2.9) say the
# same with other words (an `enum` beside `const`, 0.0 for 0): those runs check the code, not the file.
GENERATOR_OF_THE_FILE = pytest.mark.skipif(
    tuple(int(p) for p in pydantic.VERSION.split(".")[:2]) < (2, 10), reason="the schema file is pydantic 2.10+'s")


@GENERATOR_OF_THE_FILE
def test_checked_in_schema_is_up_to_date():
    assert SCHEMA_FILE.read_text() == schema_text(), (
        "cortex.schema.json is stale: run python -m kserve_bridge.spec.schema")


@pytest.fixture(scope="module")
def validator():
    return jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))


@pytest.mark.parametrize("data", EVERY_VALID.values(), ids=EVERY_VALID.keys())
def test_schema_accepts_valid_specs_and_their_resolved_form(validator, data):
    validator.validate(data)
    validator.validate(load_spec(data).resolved())


@pytest.mark.parametrize("data", [
    [{"name": "a", "kind": "RealtimeAPI"}],
    [{"name": "a", "kind": "RealtimeAPI", "predictor": {"type": "java", "path": "p.py"}}],
    [{"name": "a", "kind": "RealtimeAPI", "predictor": {"type": "python", "path": "p.py", "typo": 1}}],
    [{"name": "a", "kind": "BatchAPI"}],
    [{"name": "a", "kind": "RealtimeAPI", "predictor": {"type": "python", "path": "p.py"},
      "autoscaling": {"max_replicas": 0}}],
    [api(compute={"cpu": "lots"})],
    [api(autoscaling={"window": 60})],
    [api(update_strategy={"max_surge": "150"})],
    [api(predictor={"models": [{"name": "a"}]})],
    [api(kserve={"protocol": "v3"})],
    [{"name": "s", "kind": "TrafficSplitter", "apis": [{"name": "a", "weight": 101}]}],
    [{"name": "s", "kind": "TrafficSplitter", "apis": []}],
    "just a string",
])
def test_schema_rejects_invalid_specs(validator, data):
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(data)


EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*/cortex.y*ml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.parent.name for p in EXAMPLES])
def test_schema_accepts_the_examples(validator, path):
    import yaml
    validator.validate(yaml.safe_load(path.read_text()))
    validator.validate(load_spec(path).resolved())


@GENERATOR_OF_THE_FILE
def test_cli_schema_prints_the_checked_in_file(capsys):
    from kserve_bridge.cli import main
    assert main(["schema"]) == 0
    assert capsys.readouterr().out == SCHEMA_FILE.read_text()
