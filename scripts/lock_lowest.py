"""Write scripts/lock-lowest.txt: the lowest versions pyproject.toml's ranges allow, resolved together.

    pip install uv && python scripts/lock_lowest.py

What it pins: the bare install and the server, sklearn and cluster extras at the floors of our own
ranges (uv's `lowest-direct`: every range we declare at its lowest, what they pull in at the newest
that fits), numpy below 2 (scikit-learn 1.3, our floor, predates numpy 2; kserve allows numpy 1.26),
and the test tools at the dev extra's floors. CI installs the lock into .venv-lowest
(scripts/install.sh) and runs the spec, translation, CLI, cluster and served-example tests there
(scripts/test.sh): a floor that stops working fails CI. kubernetes 29 and the pipeline tools are
tested at their floors in .venv-pipelines too (scripts/constraints-lowest.txt).
"""
from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parent.parent
EXTRAS = ("server", "sklearn", "cluster")
TEST_TOOLS = ("pytest", "pytest-timeout", "hypothesis", "jsonschema", "httpx", "kubernetes-validate", "tritonclient",
              "moto")
BELOW_NUMPY_2 = "numpy<2"


def test_tool_requirements() -> list[str]:
    """The dev extra's requirement of each test tool, as pyproject.toml spells it."""
    dev = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    named = {re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0].lower(): r for r in dev}
    return [named[tool] for tool in TEST_TOOLS]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        tools, numpy = Path(tmp, "tests.in"), Path(tmp, "numpy.txt")
        tools.write_text("\n".join(test_tool_requirements()) + "\n")
        numpy.write_text(BELOW_NUMPY_2 + "\n")
        command = ["uv", "pip", "compile", "--quiet", "--python-version", "3.11", "--resolution", "lowest-direct",
                   "pyproject.toml", str(tools), *(f"--extra={e}" for e in EXTRAS), "--constraint", str(numpy),
                   "--no-header", "--no-annotate", "--output-file", "scripts/lock-lowest.txt"]
        if subprocess.run(command, cwd=REPO).returncode:
            return 1
    lock = REPO / "scripts" / "lock-lowest.txt"
    lock.write_text("# Written by scripts/lock_lowest.py (the lowest versions our ranges allow); do not edit.\n"
                    + lock.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
