"""Issue 13 items 7 and 11 at the model server's start: dependency files outside the project are refused
(never run), and with a read-only root filesystem requirements install into the writable packages folder."""
from __future__ import annotations

import base64
import hashlib
import importlib
import os
import sys
import zipfile
from pathlib import Path

import pytest

from kserve_bridge.contract import ServerSettings
from kserve_bridge.errors import PredictorError
from modelserver.project import PACKAGES_ENV, SKIP_DEPS_ENV, prepare_project


@pytest.fixture
def isolated(monkeypatch):
    """prepare_project changes cwd, sys.path and os.environ: give each test its own copies."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(os, "environ", dict(os.environ))
    monkeypatch.delenv(SKIP_DEPS_ENV, raising=False)
    cwd = os.getcwd()
    yield
    os.chdir(cwd)


def settings(**dependencies: str) -> ServerSettings:
    return ServerSettings(api_name="a", predictor_type="python", predictor_path="predictor.py", endpoint="/a",
                          dependencies={"pip": "requirements.txt", "shell": "dependencies.sh", **dependencies})


@pytest.mark.parametrize("field,name", [("shell", "evil.sh"), ("pip", "evil.txt")])
def test_dependency_file_outside_the_project_is_refused(tmp_path, isolated, field, name):
    marker = tmp_path / "ran"
    (tmp_path / "evil.sh").write_text(f"touch {marker}\n")
    (tmp_path / "evil.txt").write_text("definitely-not-a-package-xyz==1\n")
    project = tmp_path / "project"
    project.mkdir()
    for rel in (f"../{name}", str(tmp_path / name)):
        with pytest.raises(PredictorError, match="escapes the project directory"):
            prepare_project(project, settings(**{field: rel}))
    assert not marker.exists()


def _wheel(folder: Path, name: str = "tinypkg_h13", version: str = "1.0") -> Path:
    """A minimal pure-Python wheel, written by hand (pip installs it with --no-index, no network)."""
    dist = f"{name}-{version}.dist-info"
    files = {f"{name}/__init__.py": b"VALUE = 42\n",
             f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
             f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = "".join(f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},"
                     f"{len(data)}\n" for path, data in files.items()) + f"{dist}/RECORD,,\n"
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for member, data in {**files, f"{dist}/RECORD": record.encode()}.items():
            zf.writestr(member, data)
    return path


def test_requirements_install_into_the_packages_folder(tmp_path, isolated):
    project = tmp_path / "project"
    project.mkdir()
    wheel = _wheel(project)
    (project / "requirements.txt").write_text(f"--no-index\n{wheel}\n")
    packages = tmp_path / "scratch" / "packages"
    os.environ[PACKAGES_ENV] = str(packages)
    prepare_project(project, settings())
    assert (packages / "tinypkg_h13" / "__init__.py").is_file()
    assert sys.path.index(str(packages)) > sys.path.index(str(project.resolve()))  # the project's files win
    assert os.environ["PYTHONPATH"].split(os.pathsep)[0] == str(packages)  # workers inherit it
    assert importlib.import_module("tinypkg_h13").VALUE == 42
    sys.modules.pop("tinypkg_h13", None)
