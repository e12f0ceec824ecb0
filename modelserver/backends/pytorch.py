"""PyTorch models: TorchScript archives or whole pickled modules; CUDA when available."""
from __future__ import annotations

from pathlib import Path

from . import find_file, require


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
