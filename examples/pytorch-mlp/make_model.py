"""Train a 4-16-3 MLP on sklearn's bundled iris data; writes model/iris_mlp.pt (TorchScript).

The input standardisation is part of the scripted module, so the predictor feeds raw measurements.
"""
from pathlib import Path

import torch
from sklearn.datasets import load_iris

OUT = Path(__file__).resolve().parent / "model" / "iris_mlp.pt"


class IrisMLP(torch.nn.Module):
    def __init__(self, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        self.layers = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers((x - self.mean) / self.std)


if __name__ == "__main__":
    torch.manual_seed(0)
    features, target = load_iris(return_X_y=True)
    x, y = torch.tensor(features, dtype=torch.float32), torch.tensor(target)
    model = IrisMLP(x.mean(dim=0), x.std(dim=0))
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(200):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimiser.step()
    accuracy = (model(x).argmax(dim=1) == y).float().mean().item()
    OUT.parent.mkdir(exist_ok=True)
    torch.jit.script(model.eval()).save(str(OUT))
    print(f"wrote {OUT} (training accuracy {accuracy:.3f})")
