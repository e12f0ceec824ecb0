#!/bin/sh
# Installs kserve-bridge with its model server and the chosen framework backends into the active
# Python environment. The Dockerfile's builder stage runs it, and tests/test_dockerfile.py runs the
# same script in a fresh virtualenv.
# Usage: sh docker/install.sh [EXTRAS]   EXTRAS: comma-separated, from sklearn, torch, onnx, tensorflow
#                                         (default sklearn); run from the folder holding pyproject.toml.
set -eu
extras="${1:-sklearn}"
python -m pip install --upgrade "pip>=24"
case ",$extras," in
  *,torch,*|*,all,*)
    # The CPU build from PyTorch's own index: the PyPI wheel pulls in ~2 GB of CUDA libraries.
    python -m pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0" ;;
esac
python -m pip install ".[server,$extras]"
