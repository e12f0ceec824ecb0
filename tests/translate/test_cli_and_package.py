"""convert/package CLI, determinism of YAML and tarballs, kustomize build, goldens."""
from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from kserve_bridge.cli import main
from kserve_bridge.errors import BridgeError
from kserve_bridge.package import package_project, project_digest
from kserve_bridge.manifest import render
from kserve_bridge.translator import translate

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.parent for p in (REPO / "examples").glob("*/cortex.yaml"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "predictor.py").write_text("class PythonPredictor:\n    def predict(self, payload):\n        return 1\n")
    (root / "cortex.yaml").write_text("- name: demo\n  kind: RealtimeAPI\n  predictor:\n"
                                      "    type: python\n    path: predictor.py\n")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "x.pyc").write_bytes(b"junk")
    return root


def test_render_is_byte_identical(project: Path):
    first = render(translate(project / "cortex.yaml", storage_uri="s3://b/p"))
    assert first == render(translate(project / "cortex.yaml", storage_uri="s3://b/p"))
    assert [d["kind"] for d in yaml.safe_load_all(first)] == ["InferenceService"]


def test_convert_stdout_dir_and_explain(project: Path, tmp_path: Path, capsys):
    assert main(["convert", str(project / "cortex.yaml"), "--storage-uri", "s3://b/p", "--namespace", "ns"]) == 0
    doc = yaml.safe_load(capsys.readouterr().out)
    assert doc["metadata"]["namespace"] == "ns" and doc["spec"]["predictor"]["model"]["storageUri"] == "s3://b/p"
    out = tmp_path / "out"
    assert main(["convert", str(project), "-o", str(out)]) == 0
    assert [p.name for p in out.iterdir()] == ["inferenceservice-demo.yaml"]
    assert main(["convert", str(project), "--explain"]) == 0
    assert "demo:" in capsys.readouterr().out


def test_convert_bad_spec_exits_2_without_traceback(tmp_path: Path):
    bad = tmp_path / "cortex.yaml"
    bad.write_text("- name: Bad_Name\n  kind: RealtimeAPI\n")
    proc = subprocess.run([sys.executable, "-m", "kserve_bridge", "convert", str(bad)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "problem" in proc.stderr


def test_package_is_deterministic_and_clean(project: Path, tmp_path: Path):
    a = package_project(project, tmp_path / "a")
    (project / "predictor.py").touch()  # mtime changes must not matter
    b = package_project(project, tmp_path / "b")
    assert a.read_bytes() == b.read_bytes() and a.name == b.name
    assert project_digest(project)[:12] in a.name
    with tarfile.open(a) as tar:
        assert tar.getnames() == ["cortex.yaml", "predictor.py"]
        assert {m.mtime for m in tar.getmembers()} == {0}
    (project / "predictor.py").write_text("changed\n")
    assert package_project(project, tmp_path / "c").name != a.name


def test_package_refuses_escaping_symlink(project: Path, tmp_path: Path):
    (tmp_path / "secret").write_text("s")
    (project / "leak").symlink_to(tmp_path / "secret")
    with pytest.raises(BridgeError, match="leaves the project"):
        package_project(project, tmp_path / "out")


def test_package_cli(project: Path, tmp_path: Path, capsys):
    assert main(["package", str(project), "-o", str(tmp_path / "o")]) == 0
    assert list((tmp_path / "o").glob("proj-*.tar.gz"))


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kustomize_base_builds():
    proc = subprocess.run(["kubectl", "kustomize", str(REPO / "manifests" / "base")], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    kinds = {d["kind"] for d in yaml.safe_load_all(proc.stdout) if d}
    assert {"ClusterServingRuntime", "Namespace", "ServiceAccount", "Role", "RoleBinding", "PeerAuthentication",
            "AuthorizationPolicy", "PodMonitor"} <= kinds


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_goldens_match(example: Path):
    if not (example / "expected").is_dir():
        pytest.skip("no goldens yet")
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        from update_goldens import expected_files
    finally:
        sys.path.remove(str(REPO / "scripts"))
    wanted = expected_files(example)
    have = {p.name: p.read_text() for p in (example / "expected").glob("*.yaml")}
    assert have == wanted, "goldens differ: run python scripts/update_goldens.py"
