"""The CLI's spec path imports no heavy framework (cold start matters; no timing assertions here)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ["torch", "tensorflow", "kserve", "fastapi", "uvicorn", "pandas", "grpc", "onnxruntime", "sklearn",
         "kubernetes", "kfp", "metaflow"]
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "iris-sklearn"


@pytest.mark.parametrize("argv", [["--help"], ["validate", str(EXAMPLE)], ["validate", "--show-resolved", str(EXAMPLE)],
                                  ["validate", "/nonexistent/cortex.yaml"], ["schema"], ["convert", str(EXAMPLE)],
                                  ["convert", "--explain", str(EXAMPLE)]])
def test_cli_imports_no_heavy_modules(argv):
    code = ("import sys\nfrom kserve_bridge.cli import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            f"print('HEAVY=' + ','.join(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "HEAVY=", proc.stdout.splitlines()[-1]


def test_importtime_of_validate_lists_no_heavy_module():
    """The same check through `python -X importtime`, which sees every module imported, even if removed later."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "kserve_bridge", "validate", str(EXAMPLE)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in proc.stderr.splitlines()
                if line.startswith("import time:")}
    assert "kserve_bridge" in imported and "pydantic" in imported
    assert not imported & set(HEAVY), imported & set(HEAVY)


def test_server_settings_from_env_skip_the_spec_models():
    """In the pod the model server reads KSERVE_BRIDGE_SETTINGS; that path must not build the spec's models."""
    code = ("import sys\nfrom kserve_bridge.contract import ServerSettings\n"
            "s = ServerSettings(api_name='a', predictor_type='python', predictor_path='p.py', endpoint='/a')\n"
            "assert ServerSettings.from_env(s.to_env()) == s\n"
            "print(sorted(m for m in sys.modules if m.startswith(('kserve_bridge.spec', 'ruamel'))))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
