"""Project bundles: reproducible bytes, a clean archive, links that leave the project, and `kserve-bridge package`."""
from __future__ import annotations

import os
import shutil
import tarfile
from pathlib import Path

import pytest

from kserve_bridge.cli import main
from kserve_bridge.errors import BridgeError
from kserve_bridge.package import package_project, project_digest, project_files

REPO = Path(__file__).resolve().parents[2]
IRIS = REPO / "examples" / "iris-sklearn"


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


def test_archive_is_clean_and_named_by_content(project: Path, tmp_path: Path) -> None:
    (project / "__pycache__").mkdir()
    (project / "__pycache__" / "x.pyc").write_bytes(b"junk")
    archive = package_project(project, tmp_path / "a")
    assert project_digest(project)[:12] in archive.name
    with tarfile.open(archive) as tar:
        assert tar.getnames() == ["cortex.yaml", "model/weights.bin", "predictor.py"]
        assert {m.mtime for m in tar.getmembers()} == {0}
    (project / "predictor.py").write_text("changed\n")
    assert package_project(project, tmp_path / "b").name != archive.name


def test_symlink_escaping_the_project_is_refused(project: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not ship")
    (project / "leak.txt").symlink_to(secret)
    with pytest.raises(BridgeError, match="leaves the project"):
        list(project_files(project))
    with pytest.raises(BridgeError, match="leaves the project"):
        package_project(project, tmp_path / "out")


def test_symlink_inside_the_project_is_shipped(project: Path) -> None:
    (project / "alias.bin").symlink_to(project / "model" / "weights.bin")
    assert "alias.bin" in [name for name, _ in project_files(project)]


def test_goldens_are_excluded_from_the_bundle() -> None:
    names = [name for name, _ in project_files(IRIS)]
    assert "cortex.yaml" in names and not any(n.startswith("expected/") for n in names)


def test_package_cli(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["package", str(IRIS), "-o", str(tmp_path / "a")]) == 0
    first = Path(capsys.readouterr().out.strip())
    assert main(["package", str(IRIS), "-o", str(tmp_path / "b")]) == 0
    second = Path(capsys.readouterr().out.strip())
    assert first.name == second.name and first.read_bytes() == second.read_bytes()
    assert first.name.startswith("iris-sklearn-") and first.name.endswith(".tar.gz")
    assert list((tmp_path / "a").glob("iris-sklearn-*.tar.gz"))


def test_package_refuses_an_invalid_project(bad_spec: Path, tmp_path: Path) -> None:
    assert main(["package", str(bad_spec.parent), "-o", str(tmp_path / "dist")]) == 2
    assert not (tmp_path / "dist").exists()
