"""Prepare an unpacked project before the predictor is imported.

chdir into it, load `.env`, extend sys.path, apply the predictor's env, and
install requirements.txt / run dependencies.sh unless already satisfied
(set KSERVE_BRIDGE_SKIP_DEPS=1 to skip both).
"""
from __future__ import annotations

import importlib
import logging
import os
import subprocess
import sys
from pathlib import Path

from kserve_bridge.contract import DEPENDENCY_FILES, ServerSettings
from kserve_bridge.errors import PredictorError

SKIP_DEPS_ENV = "KSERVE_BRIDGE_SKIP_DEPS"
PACKAGES_ENV = "KSERVE_BRIDGE_PACKAGES_DIR"  # set by the translator when the root filesystem is read-only
log = logging.getLogger("modelserver")


def prepare_project(project_dir: Path, settings: ServerSettings) -> None:
    project_dir = project_dir.resolve()
    os.chdir(project_dir)
    dotenv = project_dir / ".env"
    if dotenv.is_file():
        from dotenv import load_dotenv
        load_dotenv(dotenv, override=False)
    os.environ.update(settings.env)
    packages = os.environ.get(PACKAGES_ENV)
    if packages:  # before the project's folders, so that these come first on the path
        use_packages_dir(Path(packages))
    for folder in (project_dir, project_dir / settings.python_path if settings.python_path else None):
        if folder is not None and str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    files = {**DEPENDENCY_FILES, **settings.dependencies}
    if os.environ.get(SKIP_DEPS_ENV, "") in ("1", "true", "yes"):
        log.info("%s is set: not installing %s / running %s", SKIP_DEPS_ENV, files["pip"], files["shell"])
        return
    install_requirements(inside(project_dir, files["pip"]))
    run_dependencies_script(inside(project_dir, files["shell"]))


def inside(project_dir: Path, rel: str) -> Path:
    """`project_dir / rel`, refusing what resolves outside the project (validate reports it first)."""
    target = (project_dir / rel).resolve()
    if target != project_dir and project_dir not in target.parents:
        raise PredictorError(f"{rel} escapes the project directory {project_dir}; dependency files must live "
                             "inside the project")
    return target


def use_packages_dir(folder: Path) -> None:
    """Put a writable folder first on the import path (this process and the workers it starts)."""
    folder.mkdir(parents=True, exist_ok=True)
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(folder) not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(folder)] + paths)


def unmet_requirements(requirements: Path) -> list[str]:
    """Requirement lines not satisfied by the running interpreter."""
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import InvalidRequirement, Requirement

    unmet = []
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            req = Requirement(line)
            if not req.specifier.contains(version(req.name), prereleases=True):
                unmet.append(line)
        except (InvalidRequirement, PackageNotFoundError):
            unmet.append(line)  # options (-r, --index-url) and missing packages: let pip decide
    return unmet


def install_requirements(requirements: Path) -> None:
    if not requirements.is_file():
        return
    unmet = unmet_requirements(requirements)
    if not unmet:
        log.info("%s: every requirement already satisfied", requirements.name)
        return
    log.info("installing %s (unmet: %s)", requirements.name, ", ".join(unmet))
    target = os.environ.get(PACKAGES_ENV)  # read-only root filesystem: install into the writable folder
    where = ["--target", target, "--upgrade"] if target else []
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-input", *where, "-r", str(requirements)],
                          check=False)
    if done.returncode:
        raise PredictorError(f"pip install -r {requirements.name} failed with exit code {done.returncode}")
    importlib.invalidate_caches()  # the import system must see the packages just installed


def run_dependencies_script(script: Path) -> None:
    if not script.is_file():
        return
    log.info("running %s", script.name)
    done = subprocess.run(["bash", str(script)], cwd=script.parent, check=False)
    if done.returncode:
        raise PredictorError(f"{script.name} failed with exit code {done.returncode}")
