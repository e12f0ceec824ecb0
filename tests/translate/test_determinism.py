"""Same input, same bytes: translation, rendering, packaging and the deployment id."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from kserve_bridge.errors import BridgeError
from kserve_bridge.manifest import render
from kserve_bridge.package import package_project, project_files
from kserve_bridge.translator import translate
from tests.translate.specs import SPECS

REPO = Path(__file__).resolve().parents[2]
SPEC = """- name: demo
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "demo"
    (root / "model").mkdir(parents=True)
    (root / "cortex.yaml").write_text(SPEC)
    (root / "predictor.py").write_text("class PythonPredictor:\n    def predict(self, payload):\n        return 1\n")
    (root / "model" / "weights.bin").write_bytes(bytes(range(256)) * 64)
    return root


def dep_id(project_dir: Path) -> str:
    return translate(project_dir)[0]["metadata"]["labels"]["kserve-bridge.io/deployment-id"]


def test_translate_and_render_are_byte_identical() -> None:
    for spec in SPECS.values():
        assert render(translate(spec, storage_uri="s3://b/p")) == render(translate(spec, storage_uri="s3://b/p"))


def test_package_is_reproducible(project: Path, tmp_path: Path) -> None:
    first = package_project(project, tmp_path / "a")
    for path in project.rglob("*"):
        os.utime(path, (1_000_000, 1_000_000))
    (project / "__pycache__").mkdir()
    (project / "__pycache__" / "x.pyc").write_bytes(b"junk")
    second = package_project(project, tmp_path / "b")
    assert first.name == second.name and first.name.startswith("demo-")
    assert first.read_bytes() == second.read_bytes()
    copy = tmp_path / "copy" / "demo"
    shutil.copytree(project, copy)
    assert package_project(copy, tmp_path / "c").read_bytes() == first.read_bytes()


def test_deployment_id_follows_files_and_spec(project: Path) -> None:
    original = dep_id(project)
    assert dep_id(project) == original and len(original) == 12
    (project / "model" / "weights.bin").write_bytes(b"retrained")
    changed_file = dep_id(project)
    assert changed_file != original
    (project / "cortex.yaml").write_text(SPEC + "  compute:\n    cpu: 1\n")
    assert dep_id(project) not in (original, changed_file)


def test_ids_differ_per_api_and_override_pins(project: Path) -> None:
    (project / "cortex.yaml").write_text(SPEC + SPEC.replace("demo", "other"))
    ids = {o["metadata"]["labels"]["kserve-bridge.io/deployment-id"] for o in translate(project)}
    assert len(ids) == 2
    pinned = translate(project, deployment_id="pinned")
    assert {o["metadata"]["labels"]["kserve-bridge.io/deployment-id"] for o in pinned} == {"pinned"}


def test_symlink_escaping_the_project_is_refused(project: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not ship")
    (project / "leak.txt").symlink_to(secret)
    with pytest.raises(BridgeError, match="leaves the project"):
        list(project_files(project))
    with pytest.raises(BridgeError):
        package_project(project, tmp_path / "out")


def test_symlink_inside_the_project_is_shipped(project: Path) -> None:
    (project / "alias.bin").symlink_to(project / "model" / "weights.bin")
    assert "alias.bin" in [name for name, _ in project_files(project)]


def test_goldens_are_excluded_from_the_bundle() -> None:
    names = [name for name, _ in project_files(REPO / "examples" / "iris-sklearn")]
    assert "cortex.yaml" in names and not any(n.startswith("expected/") for n in names)


def test_render_never_emits_anchors() -> None:
    shared = {"drop": ["ALL"]}
    text = render([{"a": shared, "b": shared}])
    assert "&" not in text and "*" not in text and text.count("drop:") == 2
