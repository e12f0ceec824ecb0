"""`kserve-bridge convert` from the command line: stdout, output folder, --explain and clean failures."""
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


@pytest.mark.parametrize("target", [IRIS, IRIS / "cortex.yaml"], ids=["folder", "spec-file"])
def test_convert_to_stdout(target: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["convert", str(target), "--namespace", "ns", "--storage-uri", "s3://b/iris",
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


def test_convert_output_dir_without_storage_uri(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["convert", str(project), "-o", str(out)]) == 0
    assert [p.name for p in out.iterdir()] == ["inferenceservice-demo.yaml"]


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
    assert "problem" in proc.stderr


def test_missing_path_is_an_error_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["convert", str(tmp_path / "nope")]) != 0
    assert "Traceback" not in capsys.readouterr().err
