"""Whatever the input, load_spec and the CLI end in success or SpecError: never another exception."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kserve_bridge.errors import SpecError
from kserve_bridge.spec import load_spec
from tests.spec.helpers import api, assert_handled_cleanly, run_cli

HOSTILE_TEXTS = {
    "empty": "",
    "only comment": "# nothing\n",
    "binary": "\x00\x01\x02garbage\xff",
    "tabs": "- name: a\n\tkind: RealtimeAPI\n",
    "list of strings": "- a\n- b\n",
    "huge int": "- name: a\n  kind: RealtimeAPI\n  autoscaling:\n    max_replicas: " + "9" * 5000 + "\n",
    "nan": "- name: a\n  kind: RealtimeAPI\n  autoscaling:\n    max_upscale_factor: .nan\n",
    "anchor bomb": "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                   "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                   "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n",
    "deep nesting": "[" * 5000 + "]" * 5000,
    "duplicate keys": "- name: a\n  name: b\n  kind: RealtimeAPI\n",
    "non-string keys": "- {1: 2, [a]: b, name: a, kind: RealtimeAPI}\n",
    "merge keys": "- &base {name: a, kind: RealtimeAPI, predictor: {type: python, path: p.py}}\n"
                  "- <<: *base\n  name: b\n",
    "bom": "\ufeff- name: a\n  kind: RealtimeAPI\n",
    "long string": "- name: " + "a" * 100000 + "\n  kind: RealtimeAPI\n",
    "wrong types everywhere": "- name: [1]\n  kind: {x: 1}\n  predictor: 3\n  compute: [a]\n  autoscaling: x\n",
    "timestamps and binary": "- name: 2001-12-14\n  kind: !!binary aGVsbG8=\n",
    "python tag": "- !!python/object/apply:os.system ['echo pwned']\n",
    "unclosed": "- name: 'a\n",
}


@pytest.mark.parametrize("text", HOSTILE_TEXTS.values(), ids=HOSTILE_TEXTS.keys())
def test_hostile_file_gives_problems_not_tracebacks(tmp_path, text):
    path = tmp_path / "cortex.yaml"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    assert_handled_cleanly(path)


def test_cli_subprocess_bad_spec_exit_2_no_traceback(tmp_path):
    path = tmp_path / "cortex.yaml"
    path.write_text(HOSTILE_TEXTS["wrong types everywhere"])
    proc = subprocess.run([sys.executable, "-m", "kserve_bridge", "validate", str(path)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"{path}:1: apis[0].name: must be a string" in proc.stderr
    assert f"{path}:2: apis[0].kind: unknown kind" in proc.stderr


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20)
FIELDS = ["name", "kind", "predictor", "type", "path", "models", "paths", "dir", "autoscaling", "min_replicas",
          "max_replicas", "compute", "cpu", "mem", "networking", "endpoint", "kserve", "apis", "weight", "shadow",
          "server_side_batching", "batch_interval", "env", "config", "window"]


@st.composite
def mutated_specs(draw):
    spec = [api(), {"name": "s", "kind": "TrafficSplitter", "apis": [{"name": "iris", "weight": 100}]}]
    for _ in range(draw(st.integers(1, 5))):
        target = spec[draw(st.integers(0, 1))]
        while isinstance(target, dict) and draw(st.booleans()):
            nested = [v for v in target.values() if isinstance(v, (dict, list))]
            if not nested:
                break
            target = draw(st.sampled_from(nested))
            if isinstance(target, list):
                target = target[0] if target and isinstance(target[0], dict) else {}
        if isinstance(target, dict):
            target[draw(st.sampled_from(FIELDS))] = draw(json_values)
    return spec


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_specs())
def test_mutated_specs_only_succeed_or_raise_spec_error(spec):
    try:
        load_spec(spec)
    except SpecError as exc:
        assert exc.problems


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_random_documents_only_succeed_or_raise_spec_error(data):
    try:
        load_spec(data)
    except SpecError:
        pass


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200) | mutated_specs().map(json.dumps))
def test_random_text_through_cli(tmp_path, text):
    path = tmp_path / "cortex.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    assert run_cli(["validate", str(path)])[0] in (0, 2)
