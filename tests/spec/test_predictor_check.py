"""`validate` reads predictor.py with Python's parser (never importing it) and reports, with file:line,
what Cortex found only in the cluster. Errors exit 2; warnings and notes keep exit 0."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from kserve_bridge.errors import SpecError
from kserve_bridge.spec import load_spec

from .helpers import run_cli

SPEC = """\
- name: api
  kind: RealtimeAPI
  predictor:
    type: {type}
    path: predictor.py
{extra}"""


def make(tmp_path: Path, predictor: str, type_: str = "python", extra: str = "") -> Path:
    (tmp_path / "cortex.yaml").write_text(SPEC.format(type=type_, extra=textwrap.indent(extra, "    ")))
    (tmp_path / "predictor.py").write_text(textwrap.dedent(predictor))
    return tmp_path


def errors(project: Path) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_spec(project)
    return [p.format().replace(str(project) + "/", "") for p in info.value.problems]


@pytest.mark.parametrize("source, expected", [
    ("class PythonPredictor:\n    def predict(self, payload)\n        return 1\n",
     "predictor.py:2: apis[0](api): syntax error: expected ':'"),
    ("def predict(payload):\n    return 1\n", "predictor.py: apis[0](api): no predictor class: define PythonPredictor"),
    ("class A:\n    def predict(self, payload): ...\nclass B:\n    def predict(self, payload): ...\n",
     "several classes with a predict method (A, B): name the predictor PythonPredictor"),
    ("class ONNXPredictor:\n    def predict(self, payload): ...\n",
     "must define exactly one predictor class, PythonPredictor for type 'python' (found: ONNXPredictor)"),
    ("class PythonPredictor:\n    def __init__(self, config, onnx_client): ...\n    def predict(self, payload): ...\n",
     "predictor.py:2: apis[0](api): PythonPredictor.__init__: unknown argument(s) onnx_client; allowed: config, "
     "job_spec, python_client"),
    ("class PythonPredictor:\n    def predict(self, payload, body): ...\n",
     "predictor.py:2: apis[0](api): PythonPredictor.predict: unknown argument(s) body"),
    ("class PythonPredictor:\n    def predict(self, *args): ...\n", "PythonPredictor.predict: *args is not supported"),
    ("class PythonPredictor:\n    def predict(self, payload): ...\n    def load_model(self): ...\n",
     "predictor.py:3: apis[0](api): PythonPredictor.load_model: missing argument(s) model_path"),
    ("class PythonPredictor:\n    def __init__(self, config): ...\n", "predictor.py:1: apis[0](api): PythonPredictor "
                                                                      "has no predict method"),
])
def test_predictor_mistakes_are_errors_with_file_and_line(tmp_path, source, expected):
    assert any(expected in line for line in errors(make(tmp_path, source))), errors(make(tmp_path, source))


GUIDE_LIKE = '''\
import joblib


class Predictor:
    def __init__(self, config):
        self.config = config
        self.model = joblib.load(config["model_path"])
        self.top = config.get("top", 5)

    def predict(self, payload):
        return self.model.recommend(payload["user_id"])[: self.config["limit"]]
'''


def test_config_reads_name_the_spec_line(tmp_path):
    project = make(tmp_path, GUIDE_LIKE, extra="config:\n  threshold: 3\n")
    found = errors(project)
    assert "predictor.py:7: apis[0](api): Predictor.__init__ reads config['model_path'], but predictor.config " \
           "(cortex.yaml:6) has no 'model_path'" in found
    assert "predictor.py:11: apis[0](api): Predictor.predict reads config['limit'], but predictor.config " \
           "(cortex.yaml:6) has no 'limit'" in found
    assert not any("'top'" in line for line in found)  # config.get is a read with a default
    project = make(tmp_path, GUIDE_LIKE, extra="config:\n  model_path: model.joblib\n  limit: 3\n")
    assert [a.name for a in load_spec(project).apis] == ["api"]


def test_every_problem_at_once_with_spec_errors(tmp_path):
    project = make(tmp_path, "class PythonPredictor:\n    def __init__(self, config):\n        self.config = config\n"
                             "    def predict(self, payload, body):\n        return self.config['x']\n",
                   extra="config: {}\n")
    with (project / "cortex.yaml").open("a") as spec:
        spec.write("  compute:\n    cpu: 1m\n")
    found = errors(project)
    assert any(line.startswith("cortex.yaml:8: apis[0](api).compute.cpu: must be at least 20m") for line in found)
    assert any("predictor.py:4: apis[0](api): PythonPredictor.predict: unknown argument(s) body" in line
               for line in found)
    assert any("predictor.py:5: apis[0](api): PythonPredictor.predict reads config['x'], but predictor.config "
               "(cortex.yaml:6) has no 'x'" in line for line in found)


def test_warnings_and_notes_keep_exit_0(tmp_path):
    project = make(tmp_path, "class Predictor:\n    def __init__(self, config):\n        self.p = config['model']\n"
                             "    def predict(self, payload):\n        return 1\n",
                   extra="config:\n  model: models/model.joblib\n  label: not a file name\n"
                         "models:\n  path: weights/\n")
    spec = load_spec(project)
    levels = {(p.level, p.line) for p in spec.notes}
    assert levels == {("note", 1), ("warning", 7), ("warning", 10)}, spec.notes
    code, out = run_cli(["validate", str(project)])
    assert code == 0, out
    assert "cortex.yaml:7: warning: apis[0](api).predictor.config.model: models/model.joblib is not in the project" \
           in out.replace(str(project) + "/", "")
    assert "predictor.py:1: note: apis[0](api): using class Predictor as the predictor (Cortex named it " \
           "PythonPredictor)" in out.replace(str(project) + "/", "")
    (project / "models").mkdir()
    (project / "models" / "model.joblib").write_bytes(b"x")
    (project / "weights").mkdir()
    assert [p.level for p in load_spec(project).notes] == ["note"]


@pytest.mark.parametrize("kind", ["tensorflow", "onnx"])
def test_framework_type_without_models(tmp_path, kind):
    loads_itself = "class Predictor:\n    def __init__(self, config):\n        pass\n" \
                   "    def predict(self, payload):\n        return 1\n"
    spec = load_spec(make(tmp_path, loads_itself, kind))
    assert [p.message for p in spec.notes if p.level == "note"][-1].startswith(
        f"no predictor.models: Predictor loads its own model; it is served with {kind} available")
    client = f"{kind}_client"
    cortex = {"tensorflow": "TensorFlowPredictor", "onnx": "ONNXPredictor"}[kind]
    asks = f"class {cortex}:\n    def __init__(self, {client}, config):\n        pass\n" \
           f"    def predict(self, payload):\n        return 1\n"
    assert f"predictor.py:2: apis[0](api): {cortex}.__init__ asks for {client}, which needs predictor.models " \
           "(path, paths or dir); set it, or load the model in the constructor yourself" in errors(
               make(tmp_path, asks, kind))


def test_inherited_predict(tmp_path):
    base = "class Base:\n    def predict(self, payload):\n        return 1\n\n\nclass Predictor(Base):\n    pass\n"
    assert "several classes with a predict method (Base, Predictor)" in errors(make(tmp_path, base))[0]
    imported = "from somewhere import Base\n\n\nclass Predictor(Base):\n    pass\n"
    assert load_spec(make(tmp_path, imported)).apis  # predict may come from the import: the server decides


def test_plain_data_without_project_skips_file_checks():
    spec = load_spec([{"name": "api", "kind": "RealtimeAPI", "predictor": {"type": "tensorflow",
                                                                          "path": "predictor.py"}}])
    assert spec.notes == []
