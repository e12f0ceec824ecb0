"""Recovering a session-defined predictor class as source (cells simulated the way IPython
registers them: compiled under a pseudo file name whose lines live in `linecache`)."""
from __future__ import annotations

import json
import linecache
import typing

import pytest

from kserve_bridge.contract import CORTEX_CLASS as CLASS_FOR_TYPE
from kserve_bridge.contract import ServerSettings
from kserve_bridge.errors import PredictorError
from kserve_bridge.notebook import serialized
from kserve_bridge.notebook.project import CLASS_NAMES, predictor_files, write_project
from kserve_bridge.notebook.recover import Unrecoverable, free_names, literal_source, recover_module
from modelserver.predictor import load_predictor_class

PREDICTOR_TYPES = typing.get_args(ServerSettings.model_fields["predictor_type"].annotation)


def run_cells(*cells: str) -> dict:
    """Execute cells in one fresh `__main__`-like namespace, as a kernel does."""
    namespace: dict = {"__name__": "__main__", "_ih": ["", *cells]}  # IPython's input history
    for number, cell in enumerate(cells):
        filename = f"<ipython-input-{number}-{abs(hash(cell)) % 10**8}>"
        linecache.cache[filename] = (len(cell), None, cell.splitlines(keepends=True), filename)
        exec(compile(cell, filename, "exec"), namespace)
    return namespace


CELLS = (
    "import math\nimport os.path as osp\nfrom json import dumps as to_json\n",
    "FACTOR = 2.5\nNAMES = frozenset({'b', 'a'})\nLIMITS = {'low': (0, 1), 'high': [2, None]}\n",
    "def helper(x):\n    return math.floor(x * FACTOR) + _offset()\n\n\ndef _offset():\n    return len(NAMES)\n",
    "alias = helper\n",
    "class Model:\n    NAME = 'm'\n\n    def __init__(self, config):\n        self.config = config\n\n"
    "    @staticmethod\n    def fmt(v):\n        return to_json(v)\n\n"
    "    def predict(self, payload):\n        local = 1\n"
    "        return {'y': alias(payload) + local, 'limits': LIMITS['low'], 'ext': osp.splitext('a.b')[1]}\n",
)


def test_recovers_class_with_imports_helpers_constants_and_aliases():
    ns = run_cells(*CELLS)
    source = recover_module(ns["Model"])
    assert "import math\nimport os.path as osp\nfrom json import dumps as to_json\n" in source
    assert "FACTOR = 2.5\n" in source and "NAMES = frozenset({'a', 'b'})\n" in source
    assert "LIMITS = {'low': (0, 1), 'high': [2, None]}\n" in source
    assert source.index("def helper") < source.index("alias = helper") < source.index("class Model")
    assert "def _offset" in source and "local = 1" in source
    rebuilt: dict = {"__name__": "predictor"}
    exec(compile(source, "predictor.py", "exec"), rebuilt)
    assert rebuilt["Model"]({}).predict(3) == {"y": 10, "limits": (0, 1), "ext": ".b"}
    assert rebuilt["Model"].fmt([1]) == "[1]"


def test_recovery_is_the_same_text_for_the_same_cells():
    assert recover_module(run_cells(*CELLS)["Model"]) == recover_module(run_cells(*CELLS)["Model"])


def test_free_names_are_globals_only_in_order_of_use():
    src = "class A(Base):\n    x = K\n    def f(self, a):\n        b = a\n        return g(b, self, len)\n"
    assert free_names(src) == ["Base", "K", "g", "len"]


@pytest.mark.parametrize("value, text", [
    (float("nan"), 'float("nan")'), ((1,), "(1,)"), (set(), "set()"), ({3, 1, 2}, "{1, 2, 3}"),
    (b"x", "b'x'"), ({"k": [True, None]}, "{'k': [True, None]}"),
])
def test_literals(value, text):
    assert literal_source(value) == text


def test_values_that_are_not_source_fall_back_to_the_serialised_class(tmp_path):
    ns = run_cells("import collections\nCOUNTS = collections.Counter('aab')\n",
                   "class Counts:\n    def __init__(self, config):\n        pass\n\n"
                   "    def predict(self, payload):\n        return COUNTS[payload]\n")
    with pytest.raises(Unrecoverable, match="COUNTS is a Counter"):
        recover_module(ns["Counts"])
    files = predictor_files(ns["Counts"], "python")
    assert "class Counts:" in files["predictor_source.py"]
    assert "COUNTS is a Counter" in files["predictor.py"]
    versions = json.loads(files[serialized.VERSIONS_FILE])
    assert versions["python"] and versions["cloudpickle"]
    for name, content in files.items():
        (tmp_path / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    cls = load_predictor_class(tmp_path / "predictor.py", "python")
    assert cls({}).predict("a") == 2

    versions["python"] = "2.7"
    (tmp_path / serialized.VERSIONS_FILE).write_text(json.dumps(versions))
    with pytest.raises(PredictorError, match=r"needs python 2\.7 \(this image has 3\.\d+\)"):
        load_predictor_class(tmp_path / "predictor.py", "python")


def test_undefined_names_and_local_classes_are_reported():
    ns = run_cells("class Broken:\n    def predict(self, payload):\n        return missing_helper(payload)\n")
    with pytest.raises(Unrecoverable, match="uses missing_helper, which is not defined"):
        recover_module(ns["Broken"])

    def make():
        class Inner:
            def predict(self, payload):
                return payload
        return Inner
    with pytest.raises(Unrecoverable, match="defined inside a function"):
        recover_module(make())


# issue 18: every predictor type the contract knows has a class name, the one the server loads,
# and a session class under another name deploys as that type (pytorch and sklearn were missing).
@pytest.mark.parametrize("predictor_type", PREDICTOR_TYPES)
def test_every_predictor_type_writes_a_project_the_server_loads(predictor_type, tmp_path):
    assert CLASS_NAMES[predictor_type] == CLASS_FOR_TYPE[predictor_type]
    client_arg = {"tensorflow": "tensorflow_client, ", "onnx": "onnx_client, "}.get(predictor_type, "")
    ns = run_cells("OFFSET = 1\n", f"class MyModel:\n    def __init__(self, {client_arg}config):\n"
                   "        self.config = config\n\n    def predict(self, payload):\n        return payload + OFFSET\n")
    spec = {"name": "m", "kind": "RealtimeAPI", "predictor": {"type": predictor_type}}
    root = write_project(spec, ns["MyModel"], root=tmp_path)
    cls = load_predictor_class(root / "predictor.py", predictor_type)
    assert cls.__name__ == CLASS_FOR_TYPE[predictor_type]
    args = [object()] if client_arg else []
    assert cls(*args, {}).predict(1) == 2
