#!/usr/bin/env bash
# Install everything the test suite needs into .venv, then run it.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install.sh
python -m ruff check .   # lint first: a finding fails the run (config in pyproject.toml)
python -m mypy           # types of kserve_bridge and modelserver (config in pyproject.toml)
python -m pytest "$@"
if [ $# -eq 0 ] && [ -x "$pipelines_venv/bin/python" ]; then
  # again at the floors of our ranges, with kfp, Metaflow and MLflow (the venv install.sh made beside .venv)
  "$pipelines_venv/bin/python" -m pytest tests/cluster tests/pipelines tests/mlflow
fi
if [ $# -eq 0 ] && [ -x "$lowest_venv/bin/python" ]; then
  # at the floors of the bare install and the server, sklearn and cluster extras (scripts/lock_lowest.py);
  # that venv has no torch, TensorFlow or ONNX: the examples that need one are left to .venv
  "$lowest_venv/bin/python" -m pytest tests/spec tests/translate tests/test_cli_fast.py tests/test_contract.py \
    tests/cluster tests/examples --deselect "tests/examples/test_examples.py::test_serve_and_predict[onnx-classifier]" \
    --deselect "tests/examples/test_examples.py::test_serve_and_predict[pytorch-mlp]" \
    --deselect "tests/examples/test_examples.py::test_serve_and_predict[text-summarizer]"
fi
