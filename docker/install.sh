#!/bin/sh
# Installs kserve-bridge with its model server (tracing included) and the chosen framework backends into the active
# Python environment. The Dockerfile's builder stage runs it, and tests/test_dockerfile.py runs the
# same script in a fresh virtualenv.
# Usage: sh docker/install.sh [EXTRAS] [ACCEL]
#   EXTRAS: comma-separated, from sklearn, torch, onnx, onnx-gpu, tensorflow, tensorflow-gpu (default sklearn)
#   ACCEL:  cpu (default) or gpu: which torch build to take from PyTorch's index
# Run from the folder holding pyproject.toml.
set -eu
extras="${1:-sklearn}"
accel="${2:-cpu}"
case "$accel" in
  cpu) torch_index=https://download.pytorch.org/whl/cpu ;;  # the PyPI wheel pulls in ~2 GB of CUDA libraries
  gpu) torch_index=https://download.pytorch.org/whl/cu128 ;;
  *) echo "ACCEL must be cpu or gpu, not $accel" >&2; exit 2 ;;
esac
python -m pip install --upgrade "pip>=24"
case ",$extras," in
  *,torch,*|*,all,*)
    python -m pip install --index-url "$torch_index" "torch==2.13.0" ;;
esac
python -m pip install ".[server,tracing,$extras]"  # tracing: opentelemetry-proto (kserve.tracing), small
