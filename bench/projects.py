"""Cortex-style project dirs (cortex.yaml + predictor.py + model) for kserve-bridge's server.

The predictor is what a Cortex user writes: it loads the model in __init__ and predicts on
the request's rows. With server-side batching on, `predict` receives a list of payloads.
"""
from __future__ import annotations

from pathlib import Path

from .models import Workload

PREDICTOR = '''\
"""Benchmark predictor ({kind}), written as a Cortex user would."""
{imports}


def _rows(payload):
    if isinstance(payload, dict):  # v1: {{"instances": rows}}; v2 (REST, gRPC): {{input name: rows}}
        return payload["instances"] if "instances" in payload else next(iter(payload.values()))
    return payload


class PythonPredictor:
    def __init__(self, config):
{load}

    def _run(self, rows):
{run}

    def predict(self, payload):
        if isinstance(payload, list):  # server-side batching: one payload per request
            sizes = [len(_rows(p)) for p in payload]
            out = self._run([row for p in payload for row in _rows(p)])
            chunks, start = [], 0
            for size in sizes:
                chunks.append({{"predictions": out[start:start + size]}})
                start += size
            return chunks
        return {{"predictions": self._run(_rows(payload))}}
'''

CODE = {
    "sklearn": ("import joblib\nimport numpy as np",
                '        self.model = joblib.load(config["model"])',
                "        return self.model.predict(np.asarray(rows)).tolist()"),
    "torch": ("import numpy as np\nimport torch",
              '        torch.set_num_threads(1)\n        self.model = torch.jit.load(config["model"])',
              "        with torch.inference_mode():\n"
              "            return self.model(torch.from_numpy(np.asarray(rows, dtype=np.float32))).tolist()"),
    "onnx": ("import numpy as np\nimport onnxruntime as ort",
             '        self.session = ort.InferenceSession(config["model"], providers=["CPUExecutionProvider"])',
             '        return self.session.run(None, {"input": np.asarray(rows, dtype=np.float32)})[0].tolist()'),
}


def write_project(workload: Workload, root: Path, batching: bool,
                  max_batch_size: int = 64, batch_interval: str = "0.005s", processes: int = 1) -> Path:
    """Write the project for `workload` under root and return its directory."""
    suffix = f"-x{processes}" if processes > 1 else ""
    project = root / f"{workload.name}-{'batched' if batching else 'plain'}{suffix}"
    project.mkdir(parents=True, exist_ok=True)
    imports, load, run = CODE[workload.kind]
    (project / "predictor.py").write_text(PREDICTOR.format(kind=workload.kind, imports=imports,
                                                           load=load, run=run))
    lines = [f"- name: {workload.name}", "  kind: RealtimeAPI", "  predictor:", "    type: python",
             "    path: predictor.py", "    config:", f"      model: {workload.model_path}"]
    if processes > 1:
        lines.insert(4, f"    processes_per_replica: {processes}")
    if batching:
        lines += ["    server_side_batching:", f"      max_batch_size: {max_batch_size}",
                  f"      batch_interval: {batch_interval}"]
    (project / "cortex.yaml").write_text("\n".join(lines) + "\n")
    return project
