"""Older spellings (issue 18): one table (spec/legacy.py) drives the loader, the JSON schema and the
notes `validate` prints; defaults that depend on other fields are resolved once, on the spec model."""
from __future__ import annotations

import json
import re

import jsonschema
import pytest
import yaml

from kserve_bridge.contract import PREDICTOR_KINDS
from kserve_bridge.spec import load_spec
from kserve_bridge.spec.legacy import RENAMED, RESHAPED
from kserve_bridge.spec.schema import SCHEMA_FILE
from kserve_bridge.translator import translate
from tests.spec.helpers import api, problems, run_cli

# One spec fragment per table entry, written the old way, and the same fragment the modern way.
SAMPLES = {
    ("Predictor", "multi_model_reloading"): ({"predictor": {"multi_model_reloading": {"path": "s3://b/m"}}},
                                             {"predictor": {"models": {"path": "s3://b/m"}}}),
    ("Predictor", "model_path"): ({"predictor": {"model_path": "s3://b/m"}},
                                  {"predictor": {"models": {"path": "s3://b/m"}}}),
    ("Predictor", "signature_key"): (
        {"predictor": {"type": "tensorflow", "models": {"path": "s3://b/m"}, "signature_key": "k"}},
        {"predictor": {"type": "tensorflow", "models": {"path": "s3://b/m", "signature_key": "k"}}}),
    ("ModelPath", "model_path"): ({"predictor": {"models": {"paths": [{"name": "a", "model_path": "s3://b/a"}]}}},
                                  {"predictor": {"models": {"paths": [{"name": "a", "path": "s3://b/a"}]}}}),
    ("KServeOptions", "timeout"): ({"kserve": {"timeout": 30}}, {"kserve": {"request_timeout": 30}}),
    ("Predictor", "models"): ({"predictor": {"models": [{"name": "a", "path": "s3://b/a"}]}},
                              {"predictor": {"models": {"paths": [{"name": "a", "path": "s3://b/a"}]}}}),
    ("KServeOptions", "deployment_mode"): ({"kserve": {"deployment_mode": "knative"}},
                                           {"kserve": {"deployment_mode": "Serverless"}}),
}
ENTRIES = [(r.model, r.old, r.modern) for r in RENAMED] + [(s.model, s.field, s.modern) for s in RESHAPED]


def test_every_table_entry_has_a_sample() -> None:
    assert set(SAMPLES) == {(model, key) for model, key, _ in ENTRIES}


@pytest.mark.parametrize("model, key, modern", ENTRIES, ids=[f"{m}.{k}" for m, k, _ in ENTRIES])
def test_older_spelling_loads_validates_and_is_noted(model, key, modern, tmp_path) -> None:
    old, new = SAMPLES[(model, key)]
    # the loader: the old spelling means exactly what the modern one does
    assert load_spec([api(**old)]).resolved() == load_spec([api(**new)]).resolved()
    # the JSON schema accepts it
    jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text())).validate([api(**old)])
    # validate: exit 0, a note at the key's line naming the modern spelling
    text = yaml.safe_dump([api(**old)], sort_keys=False)
    (tmp_path / "cortex.yaml").write_text(text)
    kind = PREDICTOR_KINDS[load_spec([api(**new)]).realtime[0].predictor.type]
    (tmp_path / "predictor.py").write_text(f"class {kind.class_name}:\n"
                                           f"    def __init__(self, {kind.client_arg}, config):\n"
                                           "        pass\n\n    def predict(self, payload):\n        return payload\n")
    code, output = run_cli(["validate", str(tmp_path)])
    assert code == 0, output
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.strip().startswith(f"{key}:"))
    notes = [row for row in output.splitlines() if row.startswith("note: ") and f".{key}:" in row]
    assert notes and f"cortex.yaml:{line}:" in notes[0]
    expected = modern or load_spec([api(**new)]).realtime[0].kserve.deployment_mode
    assert f"use {expected}" in notes[0]
    # the modern spelling gets no note
    (tmp_path / "cortex.yaml").write_text(yaml.safe_dump([api(**new)], sort_keys=False))
    assert "note:" not in run_cli(["validate", str(tmp_path)])[1]


@pytest.mark.parametrize("data, message", [
    ({"predictor": {"model_path": "s3://a", "models": {"path": "s3://b"}}}, "set models.path only"),
    ({"predictor": {"models": {"paths": [{"name": "a", "path": "s3://a", "model_path": "s3://b"}]}}},
     "set path only"),
    ({"kserve": {"timeout": 3, "request_timeout": 4}}, "set request_timeout only"),
    ({"predictor": {"models": {"path": "s3://a"}, "multi_model_reloading": {"path": "s3://b"}}},
     "set models only"),
])
def test_both_spellings_at_once_is_an_error(data, message) -> None:
    assert any(message in p for p in problems([api(**data)]))


def test_an_error_in_an_older_spelling_names_that_spelling() -> None:
    assert any(re.search(r"kserve\.timeout: .*greater than or equal to 1", p)
               for p in problems([api(kserve={"timeout": 0})]))


def test_defaults_resolved_once_for_rules_translator_and_resolved_view() -> None:
    data = api(predictor={"processes_per_replica": 2, "threads_per_process": 3}, autoscaling={"min_replicas": 2})
    rt = load_spec([data]).realtime[0]
    assert (rt.initial_replicas, rt.target_concurrency) == (2, 6.0)
    resolved = load_spec([data]).resolved()[0]["autoscaling"]
    assert (resolved["init_replicas"], resolved["target_replica_concurrency"]) == (2, 6.0)
    annotations = translate([data], deployment_id="abc")[0]["metadata"]["annotations"]
    assert annotations["autoscaling.knative.dev/initial-scale"] == "2"
    assert annotations["autoscaling.knative.dev/target"] == "6"
    too_low = api(autoscaling={"min_replicas": 2, "init_replicas": 1})
    assert any("init_replicas: must lie between" in p for p in problems([too_low]))
