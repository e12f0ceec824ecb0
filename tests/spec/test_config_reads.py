"""`config["key"]` reads checked against predictor.config: an error only when the read surely runs on
predictor.config itself, a warning on doubt, nothing when the code guards it. The shapes of Cortex's own
predictors (cortexlabs/cortex v0.19.0-v0.31.1; scripts/check_cortex_predictors.py) are written anew
here: a part of the config kept in self.config and read with fixed and dynamic keys, a read in an `if`
chain's tests, reads in a loop, `config.get` with a default (tests/spec/test_predictor_check.py); the
others are the doubts a static check must not call errors."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from kserve_bridge.errors import SpecError
from kserve_bridge.spec import load_spec

SPEC = """\
- name: api
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    config:
      threshold: 0.5
      models:
        iris: {labels: [a, b, c]}
"""


def problems(tmp_path: Path, predictor: str, spec: str = SPEC) -> list[tuple[str, int | None, str]]:
    """(level, line, message) of every config-read problem; errors and warnings alike."""
    (tmp_path / "cortex.yaml").write_text(spec)
    (tmp_path / "predictor.py").write_text(textwrap.dedent(predictor))
    try:
        found = load_spec(tmp_path).notes
    except SpecError as exc:
        found = exc.problems
    return [(p.level, p.line, p.message.replace(f"{tmp_path}/", "")) for p in found if "reads config" in p.message]


# Cortex's TensorFlow multi-model example: a part of the config kept in self.config.
PART_KEPT = '''
class PythonPredictor:
    def __init__(self, config):
        self.config = config["models"]
        self.labels = self.config["iris"]["labels"]

    def predict(self, payload, query_params):
        return self.config[query_params["model"]]
'''


def test_a_part_of_the_config_kept_in_self_config_is_followed(tmp_path):
    assert problems(tmp_path, PART_KEPT) == []
    assert problems(tmp_path, PART_KEPT.replace('["iris"]', '["setosa"]')) == [
        ("error", 5, "PythonPredictor.__init__ reads config['models']['setosa'], but predictor.config.models "
                     "(cortex.yaml:6) has no 'setosa'")]


@pytest.mark.parametrize("shape, predictor", [
    ("a membership test guards it", '''
        class PythonPredictor:
            def __init__(self, config):
                self.device = config["device"] if "device" in config else "cpu"
            def predict(self, payload):
                return 1
    '''),
    ("a try catches KeyError", '''
        class PythonPredictor:
            def __init__(self, config):
                try:
                    self.limit = config["limit"]
                except KeyError:
                    self.limit = 10
            def predict(self, payload):
                return 1
    '''),
    ("self.config is something else", '''
        class PythonPredictor:
            def __init__(self, config):
                self.config = {"limit": 3}
            def predict(self, payload):
                return self.config["limit"]
    '''),
    ("config is rebound", '''
        import json
        class PythonPredictor:
            def __init__(self, config):
                config = json.load(open("settings.json"))
                self.limit = config["limit"]
            def predict(self, payload):
                return 1
    '''),
    ("the class writes the key first", '''
        class PythonPredictor:
            def __init__(self, config):
                config["limit"] = 10
                self.limit = config["limit"]
            def predict(self, payload):
                return 1
    '''),
    ("a global named config", '''
        config = {"limit": 3}
        class PythonPredictor:
            def predict(self, payload):
                return config["limit"]
    '''),
])
def test_reads_that_cannot_fail_or_are_not_predictor_config_are_not_reported(tmp_path, shape, predictor):
    assert problems(tmp_path, predictor) == [], shape


@pytest.mark.parametrize("shape, predictor, line", [
    ("in a branch", '''
        class PythonPredictor:
            def __init__(self, config):
                if config["threshold"] > 1:
                    self.scale = config["scale"]
            def predict(self, payload):
                return 1
    ''', 5),
    ("in a helper the server does not call", '''
        class PythonPredictor:
            def __init__(self, config):
                self.config = config
            def predict(self, payload):
                return 1
            def debug(self):
                return self.config["verbose"]
    ''', 8),
    ("the class may add keys", '''
        class PythonPredictor:
            def __init__(self, config):
                config.setdefault("limit", 10)
                self.limit = config["limit"]
            def predict(self, payload):
                return 1
    ''', 5),
])
def test_reads_that_may_not_run_are_warnings(tmp_path, shape, predictor, line):
    found = problems(tmp_path, predictor)
    assert [(level, at) for level, at, _ in found] == [("warning", line)], (shape, found)
    assert "(if that read runs" in found[0][2]


def test_a_read_in_a_base_class_of_the_file_is_followed(tmp_path):
    predictor = '''
        class Base:
            def __init__(self, config):
                self.config = config["models"]

        class PythonPredictor(Base):
            def predict(self, payload):
                return self.config["iris"]["colour"]
    '''
    assert problems(tmp_path, predictor) == [
        ("error", 8, "PythonPredictor.predict reads config['models']['iris']['colour'], but "
                     "predictor.config.models.iris (cortex.yaml:6) has no 'colour'")]


def test_an_if_chain_reads_its_first_test_always_and_a_loop_body_maybe(tmp_path):
    """As Cortex's PyTorch examples choose a device: the first test always runs (an error when the key is
    missing), a later `elif` test or a loop body may not (warnings; with an error they are not shown)."""
    chain = '''
        class PythonPredictor:
            def __init__(self, config):
                if config["device"] == "gpu":
                    self.device = "cuda"
                elif config["accelerator"] == "inf":
                    self.device = "inf"
            def predict(self, payload):
                return 1
    '''
    assert [(level, line) for level, line, _ in problems(tmp_path, chain)] == [("error", 4)]
    assert [(level, line) for level, line, _ in problems(tmp_path, chain.replace('"device"', '"threshold"'))] \
        == [("warning", 6)]
    loop = '''
        class PythonPredictor:
            def __init__(self, config):
                for name in config["models"]:
                    self.warm = config["warmup"]
            def predict(self, payload):
                return 1
    '''
    assert [(level, line) for level, line, _ in problems(tmp_path, loop)] == [("warning", 5)]


# Cortex's guides: the predictor reads config["model_path"], the spec has no predictor.config at all.
READS_MODEL_PATH = '''
class PythonPredictor:
    def __init__(self, config):
        self.path = config["model_path"]

    def predict(self, payload):
        return self.path
'''


def test_a_spec_without_predictor_config_gets_a_warning_that_says_what_fails(tmp_path):
    no_config = SPEC[:SPEC.index("    config:")]
    assert problems(tmp_path, READS_MODEL_PATH, no_config) == [
        ("warning", 4, "PythonPredictor.__init__ reads config['model_path'], but predictor.config is not set in "
                       "cortex.yaml: loading fails with KeyError: 'model_path'; set predictor.config.model_path")]


def test_a_certain_keyerror_is_an_error_unless_an_unread_look_alike_may_be_the_key_meant(tmp_path):
    """Cortex's own test/.../image-classifier-resnet50/cortex_gpu.yaml (v0.25-v0.28) sets `path` where its
    predictor reads `model_path`: a warning naming both (a misspelling too). Without a look-alike, or when the
    class reads the look-alike as well, nothing else can be meant: an error."""
    for alike in ("path", "model_pth"):
        spec = SPEC.replace("      threshold: 0.5\n", f"      {alike}: s3://bucket/model\n")
        assert problems(tmp_path, READS_MODEL_PATH, spec) == [
            ("warning", 4, "PythonPredictor.__init__ reads config['model_path'], but predictor.config "
                           "(cortex.yaml:6) has no 'model_path': loading fails with KeyError: 'model_path'; it has "
                           f"{alike!r}, which the predictor never reads: rename it to 'model_path' if that is the "
                           "key meant")]
    reads_both = READS_MODEL_PATH.replace('config["model_path"]', 'config["model_path"] + config.get("path", "")')
    spec = SPEC.replace("      threshold: 0.5\n", "      path: s3://bucket/model\n")
    for predictor, config in ((READS_MODEL_PATH, SPEC), (reads_both, spec)):
        assert problems(tmp_path, predictor, config) == [
            ("error", 4, "PythonPredictor.__init__ reads config['model_path'], but predictor.config (cortex.yaml:6) "
                         "has no 'model_path'")]
