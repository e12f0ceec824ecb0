"""PyTorch models: TorchScript archives or whole pickled modules; CUDA when available.

Also torch's thread count: OpenMP keeps it per thread, so a `torch.set_num_threads(n)` in the
predictor's __init__ (the load thread) must be repeated in every predict thread (`follow_threads`).
Neither function imports torch: they act only when the predictor already did.
"""
from __future__ import annotations

import sys
import threading
from pathlib import Path

from . import find_file, require

_this_thread = threading.local()


def load(path: Path, signature_key: str | None = None) -> object:
    torch = require("torch", "pytorch")
    file = find_file(path, (".pt", ".pth", ".torchscript", ".pt2"))
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        model = torch.jit.load(str(file), map_location=device)
    except RuntimeError:  # not TorchScript: a full pickled module
        model = torch.load(str(file), map_location=device, weights_only=False)
    model.eval()
    return model


def thread_count() -> int | None:
    """torch's thread count in this thread (read after the predictor loaded), None when torch is not loaded."""
    torch = sys.modules.get("torch")
    return torch.get_num_threads() if torch is not None else None


def follow_threads(count: int | None) -> None:
    """Apply the load-time thread count `count` in this (predict) thread, once per thread."""
    if count is not None and getattr(_this_thread, "torch_threads", None) != count:
        sys.modules["torch"].set_num_threads(count)
        _this_thread.torch_threads = count
