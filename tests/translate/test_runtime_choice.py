"""Every API lands on a runtime whose image has its framework (and its GPU build when it asks for a GPU)."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kserve_bridge.cli import main
from kserve_bridge.runtimes import BY_NAME
from kserve_bridge.translator import explain, translate
from tests.translate.specs import api

REPO = Path(__file__).resolve().parents[2]


def runtime_of(spec) -> str:
    return translate(spec)[0]["spec"]["predictor"]["model"]["runtime"]


def make_project(tmp_path: Path, spec: list[dict], files: dict[str, str]) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "cortex.yaml").write_text(yaml.safe_dump(spec))
    files = {"predictor.py": "", **files}
    if "class PythonPredictor" not in files["predictor.py"]:
        files["predictor.py"] += "\n\nclass PythonPredictor:\n    def predict(self, payload):\n        return payload\n"
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


@pytest.mark.parametrize(("example", "runtime"), [
    ("iris-sklearn", "kserve-bridge-sklearn"), ("pytorch-mlp", "kserve-bridge-torch"),
    ("onnx-classifier", "kserve-bridge-onnx"), ("text-summarizer", "kserve-bridge-tensorflow"),
])
def test_each_example_gets_the_runtime_with_its_framework(example: str, runtime: str) -> None:
    assert runtime_of(REPO / "examples" / example) == runtime


@pytest.mark.parametrize(("example", "runtime"), [
    ("pytorch-mlp", "kserve-bridge-torch-gpu"), ("onnx-classifier", "kserve-bridge-onnx-gpu"),
    ("text-summarizer", "kserve-bridge-tensorflow-gpu"),
])
def test_a_gpu_variant_gets_the_gpu_runtime(tmp_path: Path, example: str, runtime: str) -> None:
    source = REPO / "examples" / example
    subprocess.run(["cp", "-r", f"{source}/.", str(tmp_path)], check=True)
    spec = yaml.safe_load((tmp_path / "cortex.yaml").read_text())
    spec[0].setdefault("compute", {})["gpu"] = 1
    (tmp_path / "cortex.yaml").write_text(yaml.safe_dump(spec))
    isvc = translate(tmp_path)[0]
    assert isvc["spec"]["predictor"]["model"]["runtime"] == runtime
    assert isvc["spec"]["predictor"]["model"]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert BY_NAME[runtime].accelerator == "gpu"


def test_a_python_predictor_that_imports_torch_in_a_helper_module_gets_torch(tmp_path: Path) -> None:
    project = make_project(tmp_path, [api()], {
        "predictor.py": "from lib.net import build\n\nclass PythonPredictor:\n    def __init__(self, config):\n"
                        "        self.net = build()\n\n    def predict(self, payload):\n        return payload\n",
        "lib/__init__.py": "", "lib/net.py": "import json\n\ndef build():\n    import torch.nn as nn\n"
                                            "    return nn.Linear(2, 2)\n"})
    assert runtime_of(project) == "kserve-bridge-torch"
    assert "lib/net.py:4 imports torch" in explain(project)


def test_requirements_name_a_framework(tmp_path: Path) -> None:
    requirements = "# serving\ntensorflow-cpu==2.18.0 ; python_version>'3'\n"
    project = make_project(tmp_path, [api()], {"requirements.txt": requirements})
    assert runtime_of(project) == "kserve-bridge-tensorflow"
    assert "requirements.txt lists tensorflow" in explain(project)


def test_two_cpu_frameworks_get_the_full_image_and_no_framework_the_smallest(tmp_path: Path) -> None:
    both = make_project(tmp_path / "both", [api()], {"predictor.py": "import torch\nimport onnxruntime\n"})
    assert runtime_of(both) == "kserve-bridge"
    assert set(BY_NAME["kserve-bridge"].frameworks) >= {"torch", "onnx"}
    plain = make_project(tmp_path / "plain", [api()], {})
    assert runtime_of(plain) == "kserve-bridge-sklearn"
    assert "no framework imported" in explain(plain)


def test_gpu_without_a_gpu_framework_warns(tmp_path: Path) -> None:
    project = make_project(tmp_path / "a", [api(compute={"gpu": 1})], {"predictor.py": "import sklearn\n"})
    assert runtime_of(project) == "kserve-bridge-sklearn"
    assert "has no GPU build" in explain(project)
    mixed = make_project(tmp_path / "b", [api(compute={"gpu": 1})], {"predictor.py": "import torch, tensorflow\n"})
    assert runtime_of(mixed) == "kserve-bridge-torch-gpu"
    assert "no GPU image holds tensorflow, torch together" in explain(mixed)


def test_overrides_win(tmp_path: Path) -> None:
    project = make_project(tmp_path, [api(kserve={"runtime": "my-runtime"})], {"predictor.py": "import torch\n"})
    assert runtime_of(project) == "my-runtime"
    image = make_project(tmp_path / "img", [api(predictor={"image": "me/server:1"})],
                         {"predictor.py": "import torch\n"})
    predictor = translate(image)[0]["spec"]["predictor"]
    assert "model" not in predictor and predictor["containers"][0]["image"] == "me/server:1"


def test_an_import_no_image_has_warns_in_validate_and_explain(tmp_path: Path, capsys) -> None:
    project = make_project(tmp_path, [api()], {"predictor.py": "import os\nimport numpy\nimport xgboost\n"})
    assert main(["validate", str(project)]) == 0
    err = capsys.readouterr().err
    assert "predictor.py:3: imports xgboost" in err and "add xgboost to it" in err
    assert "numpy" not in err and " os" not in err
    assert "predictor.py:3: imports xgboost" in explain(project)
    (project / "requirements.txt").write_text("xgboost>=2\n")
    assert main(["validate", str(project)]) == 0
    assert "xgboost" not in capsys.readouterr().err


def test_inferentia_is_refused_without_a_custom_image(tmp_path: Path, capsys) -> None:
    project = make_project(tmp_path, [api(compute={"inf": 1})], {})
    assert main(["validate", str(project)]) == 2
    err = capsys.readouterr().err
    assert "compute.inf" in err and "Inferentia" in err and "Traceback" not in err
    custom = make_project(tmp_path / "c", [api(compute={"inf": 1}, predictor={"image": "me/neuron:1"})], {})
    assert main(["validate", str(custom)]) == 0


def test_serve_names_the_cluster_runtime_and_missing_local_frameworks(tmp_path: Path) -> None:
    project = make_project(tmp_path, [api()], {"predictor.py": "import torch\nimport not_installed_anywhere_xyz\n"})
    code = ("import sys; from kserve_bridge.cli.serve import _say_runtime; from kserve_bridge.spec import load_spec;"
            f"s = load_spec({str(project)!r}); _say_runtime(s.apis[0], s.project_dir)")
    err = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stderr
    assert "runs on kserve-bridge-torch (predictor.py:1 imports torch)" in err
    assert "predictor.py:2 imports not_installed_anywhere_xyz, which this Python environment lacks" in err
    torch_here = importlib.util.find_spec("torch") is not None  # .venv has it; .venv-lowest does not
    assert ("imports torch, which this Python environment lacks" in err) is not torch_here


def import_warnings(project: Path, *site: Path) -> str:
    """`validate`'s import warnings in a fresh process whose environment also holds `site`."""
    path = ":".join([str(REPO), *map(str, site)])
    done = subprocess.run([sys.executable, "-m", "kserve_bridge", "validate", str(project)], capture_output=True,
                          text=True, env={"PYTHONPATH": path, "PATH": "/usr/bin:/bin"}, timeout=120)
    assert done.returncode == 0, done.stderr
    return "\n".join(line for line in done.stderr.splitlines() if "imports " in line)


def test_a_listed_distribution_not_installed_here_provides_its_guessed_import(tmp_path: Path) -> None:
    """mlflow-skinny (not installed here) is a build of mlflow: `import mlflow` needs nothing more."""
    project = make_project(tmp_path, [api()], {"predictor.py": "import mlflow\nimport zebra_utils\n",
                                               "requirements.txt": "mlflow-skinny==2.9.2\nzebra-tools\n"})
    found = import_warnings(project)
    assert "mlflow" not in found.replace("mlflow-skinny", "")
    assert "predictor.py:2: imports zebra_utils" in found  # the name says nothing: warned, saying it is unsure
    assert "zebra-tools provides it (not installed here, so what it provides is guessed" in found


@pytest.mark.parametrize("metadata", ["top_level.txt", "RECORD"])
def test_an_installed_distribution_says_which_imports_it_provides(tmp_path: Path, metadata: str) -> None:
    """A distribution whose name says nothing of its import name, installed by pip: its metadata decides."""
    pytest.importorskip("setuptools")  # pip builds the distribution with it, offline (--no-build-isolation)
    source = tmp_path / "src"
    (source / "zebra_utils").mkdir(parents=True)
    (source / "zebra_utils" / "__init__.py").write_text("")
    (source / "setup.py").write_text("from setuptools import setup\nsetup(name='zebra-tools', version='1.0', "
                                     "packages=['zebra_utils'])\n")
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "--target", str(site), str(source)], check=True, capture_output=True, timeout=300)
    if metadata == "RECORD":
        for top_level in site.glob("*.dist-info/top_level.txt"):
            top_level.unlink()  # as flit and hatchling install: RECORD only
    project = make_project(tmp_path / "project", [api()], {"predictor.py": "import zebra_utils\n",
                                                           "requirements.txt": "zebra-tools\n"})
    assert "zebra_utils" in import_warnings(project)  # not installed: the name is no clue
    assert import_warnings(project, site) == ""
