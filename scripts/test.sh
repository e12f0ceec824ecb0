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
