"""`convert -o DIR --kustomize`, built by the real `kubectl kustomize` (Argo CD and Flux run the same kustomize)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from kserve_bridge.cli import main

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = ["iris-sklearn", "traffic-splitter", "multi-model", "payload-logging"]
KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed (Debian: apt-get install kubectl)")
OPTIONS = ["--storage-uri", "s3://bucket/bundles", "--deployment-id", "d1", "--namespace", "models"]


def kustomize(folder: Path) -> list[dict]:
    built = subprocess.run([str(KUBECTL), "kustomize", str(folder)], capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    return list(yaml.safe_load_all(built.stdout))


def convert(project: Path, capsys: pytest.CaptureFixture, *extra: str) -> str:
    assert main(["convert", str(project), *OPTIONS, *extra]) == 0
    return capsys.readouterr().out


@needs_kubectl
@pytest.mark.parametrize("example", EXAMPLES)
def test_kustomize_builds_exactly_what_convert_prints(example: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    printed = list(yaml.safe_load_all(convert(REPO / "examples" / example, capsys)))
    out = tmp_path / "gitops"
    listed = convert(REPO / "examples" / example, capsys, "-o", str(out), "--kustomize").split()
    assert listed[-1] == str(out / "kustomization.yaml") and len(listed) == len(printed) + 1
    assert kustomize(out) == printed  # same objects, same order


@needs_kubectl
def test_a_canary_patch_in_git_survives_the_next_convert(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "gitops"
    convert(REPO / "examples" / "iris-sklearn", capsys, "-o", str(out), "--kustomize")
    kustomization = yaml.safe_load((out / "kustomization.yaml").read_text())
    kustomization["patches"] = [{"target": {"kind": "InferenceService", "name": "iris-classifier"},
                                 "patch": "- op: add\n  path: /spec/predictor/canaryTrafficPercent\n  value: 10\n"}]
    (out / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    (out / "inferenceservice-retired.yaml").write_text("kept: true\n")  # an API the spec no longer has
    kept = yaml.safe_load((out / "kustomization.yaml").read_text())
    kept["resources"].append("inferenceservice-retired.yaml")
    (out / "kustomization.yaml").write_text(yaml.safe_dump(kept))

    assert main(["convert", str(REPO / "examples" / "iris-sklearn"), *OPTIONS, "--deployment-id", "d2",
                 "-o", str(out), "--kustomize"]) == 0
    assert "inferenceservice-retired.yaml is no longer produced" in capsys.readouterr().err
    assert (out / "inferenceservice-retired.yaml").read_text() == "kept: true\n"  # left for the user to delete
    (isvc,) = kustomize(out)
    assert isvc["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert isvc["metadata"]["labels"]["kserve-bridge.io/deployment-id"] == "d2"


@pytest.mark.parametrize("content, words", [("resources: [a.yaml\n", "cannot read"),
                                            ("kind: Component\n", "is not a Kustomization")])
def test_an_unreadable_kustomization_is_left_untouched(content: str, words: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "kustomization.yaml").write_text(content)
    assert main(["convert", str(REPO / "examples" / "iris-sklearn"), "-o", str(tmp_path), "--kustomize"]) == 1
    assert words in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kustomization.yaml"]
    assert (tmp_path / "kustomization.yaml").read_text() == content


def test_kustomize_needs_an_output_folder(capsys: pytest.CaptureFixture) -> None:
    assert main(["convert", str(REPO / "examples" / "iris-sklearn"), "--kustomize"]) == 1
    assert "add -o DIR" in capsys.readouterr().err
