"""`kserve-bridge convert` and `package` from the command line."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kserve_bridge.cli import main

REPO = Path(__file__).resolve().parents[2]
IRIS = REPO / "examples" / "iris-sklearn"
SPLIT = REPO / "examples" / "traffic-splitter"
BAD = """- name: Bad_Name
  kind: RealtimeAPI
  predictor:
    type: cobol
    path: predictor.py
  autoscaling:
    min_replicas: 5
    max_replicas: 2
"""


@pytest.fixture
def bad_spec(tmp_path: Path) -> Path:
    path = tmp_path / "cortex.yaml"
    path.write_text(BAD)
    (tmp_path / "predictor.py").write_text("")
    return path


def test_convert_to_stdout(capsys: pytest.CaptureFixture) -> None:
    assert main(["convert", str(IRIS), "--namespace", "ns", "--storage-uri", "s3://b/iris",
                 "--deployment-id", "d1"]) == 0
    (obj,) = list(yaml.safe_load_all(capsys.readouterr().out))
    assert obj["kind"] == "InferenceService" and obj["metadata"]["namespace"] == "ns"
    assert obj["spec"]["predictor"]["model"]["storageUri"] == "s3://b/iris"
    assert obj["metadata"]["labels"]["kserve-bridge.io/deployment-id"] == "d1"


def test_convert_output_dir_matches_goldens(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    assert main(["convert", str(SPLIT), "-o", str(out), "--storage-uri",
                 "gs://kserve-bridge-examples/traffic-splitter", "--deployment-id", "golden"]) == 0
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(p.name for p in (SPLIT / "expected").iterdir())
    for name in written:
        assert (out / name).read_text() == (SPLIT / "expected" / name).read_text()
    assert len(capsys.readouterr().out.splitlines()) == len(written)


def test_convert_explain(capsys: pytest.CaptureFixture) -> None:
    assert main(["convert", "--explain", str(IRIS)]) == 0
    out = capsys.readouterr().out
    assert "iris-classifier:" in out and "not carried over:" in out and "autoscaling.window" in out


def test_bad_spec_exits_2_with_every_problem(bad_spec: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["convert", str(bad_spec)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "predictor.type" in captured.err and "min_replicas" in captured.err
    assert "Traceback" not in captured.err


def test_bad_spec_in_a_real_process(bad_spec: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "kserve_bridge", "convert", str(bad_spec)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    assert "predictor.type" in proc.stderr and "Traceback" not in proc.stderr and proc.stdout == ""


def test_missing_path_is_an_error_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["convert", str(tmp_path / "nope")]) != 0
    assert "Traceback" not in capsys.readouterr().err


def test_package_cli(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["package", str(IRIS), "-o", str(tmp_path / "a")]) == 0
    first = Path(capsys.readouterr().out.strip())
    assert main(["package", str(IRIS), "-o", str(tmp_path / "b")]) == 0
    second = Path(capsys.readouterr().out.strip())
    assert first.name == second.name and first.read_bytes() == second.read_bytes()
    assert first.name.startswith("iris-sklearn-") and first.name.endswith(".tar.gz")


def test_package_refuses_an_invalid_project(bad_spec: Path, tmp_path: Path) -> None:
    assert main(["package", str(bad_spec.parent), "-o", str(tmp_path / "dist")]) == 2
    assert not (tmp_path / "dist").exists()
