"""scripts/check_cortex_predictors.py over a small git repository shaped like Cortex's (its shapes written
anew here, not copied): a project with a default spec and a variant whose config renamed the key its
predictor reads, at a release tag, plus the guides' predictors. Zero errors, each config-read warning
printed and counted; a spec that certainly lacks a key is an error and makes the scan exit 1."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PREDICTOR = '''\
class PythonPredictor:
    def __init__(self, config):
        self.device = config["device"]
        self.path = config["model_path"]

    def predict(self, payload):
        return self.path
'''
SPEC = """\
- name: classifier
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    config:
      {key}: s3://bucket/classifier
      device: {device}
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args], check=True,
                   capture_output=True)


def scan(repo: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "scripts" / "check_cortex_predictors.py"), str(repo),
                           "--tags", "v0.25.0..v0.25.0"], capture_output=True, text=True, timeout=300)


def test_scan_counts_no_error_for_a_renamed_key_and_one_for_a_missing_key(tmp_path):
    project = tmp_path / "cortex" / "test" / "classifier"
    project.mkdir(parents=True)
    (project / "predictor.py").write_text(PREDICTOR)
    (project / "cortex.yaml").write_text(SPEC.format(key="model_path", device="cpu"))
    (project / "cortex_gpu.yaml").write_text(SPEC.format(key="path", device="gpu"))
    repo = project.parents[1]
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "classifier")
    git(repo, "tag", "v0.25.0")

    done = scan(repo)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "files: 3, checks: 4, errors: 0, config-read warnings: 3, batch config reads: 0"
    assert "v0.25.0 warning: test/classifier/predictor.py:4: warning: apis[0](classifier): PythonPredictor.__init__ " \
           "reads config['model_path'], but predictor.config has no 'model_path': loading fails with KeyError: " \
           "'model_path'; it has 'path', which the predictor never reads: rename it to 'model_path' if that is " \
           "the key meant [cortex_gpu.yaml]" in lines
    assert sum(line.startswith("guide ") and "is not set" in line for line in lines) == 2

    (project / "cortex_gpu.yaml").write_text(SPEC.format(key="model_path", device="gpu").replace("device", "gpu"))
    git(repo, "commit", "-qam", "a variant without device")
    git(repo, "tag", "-f", "v0.25.0")
    done = scan(repo)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "v0.25.0 error: test/classifier/predictor.py:3: apis[0](classifier): PythonPredictor.__init__ reads " \
           "config['device'], but predictor.config has no 'device' [cortex_gpu.yaml]" in done.stdout.splitlines()
    assert done.stdout.splitlines()[-1].startswith("files: 3, checks: 4, errors: 1, ")
