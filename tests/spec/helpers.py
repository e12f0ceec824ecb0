"""Small builders for spec tests."""
from __future__ import annotations

import copy
import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from kserve_bridge.cli import main
from kserve_bridge.errors import SpecError
from kserve_bridge.spec import load_spec


def api(**overrides) -> dict:
    """A minimal valid RealtimeAPI dict, with nested overrides merged in."""
    base = {"name": "iris", "kind": "RealtimeAPI", "predictor": {"type": "python", "path": "predictor.py"}}
    return merge(base, overrides)


def merge(base: dict, overrides: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def project(tmp_path: Path, text: str, files: tuple[str, ...] = ("predictor.py",)) -> Path:
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("class Predictor:  # any type: the one class with predict\n"
                                      "    def predict(self, payload):\n        return 1\n")
    (tmp_path / "cortex.yaml").write_text(text)
    return tmp_path


def problems(data) -> list[str]:
    """load_spec(data) must raise SpecError; returns its problems, formatted."""
    with pytest.raises(SpecError) as info:
        load_spec(data)
    return [p.format() for p in info.value.problems]


def run_cli(argv: list[str]) -> tuple[int, str]:
    """Run the CLI in-process; (exit code, stdout + stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue() + err.getvalue()


def assert_handled_cleanly(path: Path) -> None:
    """load_spec succeeds or raises SpecError with printable problems; the CLI exits 0/2 with no traceback."""
    try:
        load_spec(path)
    except SpecError as exc:
        assert exc.problems and all(p.format() for p in exc.problems)
    code, output = run_cli(["validate", str(path)])
    assert code in (0, 2) and "Traceback" not in output
