"""A real Jupyter kernel runs a notebook whose predictor class uses a helper, a constant and
an import from other cells, and deploys it to moto's S3 server + the Kubernetes API double;
KServe's storage code fetches what was uploaded and the model server answers from it."""
from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.storage.conftest import BUCKET, fetch_and_serve

REPO = Path(__file__).resolve().parents[2]
URI = f"s3://{BUCKET}/notebooks"

CELLS = [
    "import math\nimport collections\nimport kserve_bridge",
    "SCALE = 3\nLABELS = {'small', 'large', 'medium'}",
    "def scaled(values):\n    return [round(math.sqrt(v) * SCALE, 3) for v in values]",
    "class Scaler:\n"
    "    def __init__(self, config):\n"
    "        self.threshold = config['threshold']\n\n"
    "    def predict(self, payload):\n"
    "        out = scaled(payload['values'])\n"
    "        return {'scaled': out, 'label': sorted(LABELS)[0 if max(out) > self.threshold else 1]}",
    # not writable as source (an OrderedDict built at run time): shipped serialised
    "TABLE = collections.OrderedDict((k, len(k)) for k in ['alpha', 'be'])\n\n"
    "class Lookup:\n"
    "    def __init__(self, config):\n        pass\n\n"
    "    def predict(self, payload):\n        return {w: TABLE.get(w) for w in payload}",
    "client = kserve_bridge.client(kubeconfig={kubeconfig!r}, storage_uri={uri!r})\n"
    "scaler = client.create_api({{'name': 'scaler', 'kind': 'RealtimeAPI', "
    "'predictor': {{'type': 'python', 'config': {{'threshold': 5}}}}}}, predictor=Scaler)\n"
    "lookup = client.create_api({{'name': 'lookup', 'kind': 'RealtimeAPI'}}, predictor=Lookup)\n"
    "print('IDS', scaler.deployment_id, lookup.deployment_id)",
]


def run_notebook(kubeconfig: Path) -> tuple[list[str], str]:
    """Execute the notebook in a fresh kernel; the deployment ids it printed and its stderr."""
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS[:-1]]
    nb.cells.append(nbformat.v4.new_code_cell(CELLS[-1].format(kubeconfig=str(kubeconfig), uri=URI)))
    NotebookClient(nb, timeout=180, kernel_name="python3").execute()
    streams = [o for o in nb.cells[-1].outputs if o.output_type == "stream"]
    out = "".join(o.text for o in streams if o.name == "stdout")
    err = "".join(o.text for o in streams if o.name == "stderr")
    ids = next(line.split()[1:] for line in out.splitlines() if line.startswith("IDS "))
    return ids, err


@pytest.mark.slow
def test_notebook_predictor_deploys_serves_and_redeploys_nothing(fake, kubeconfig, s3, serve, tmp_path,
                                                                  monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # the kernel imports this checkout
    ids, err = run_notebook(kubeconfig)
    scaler_id, lookup_id = ids
    assert "uploading 3 files" in err and "uploading 6 files" in err

    source = s3.read(f"notebooks/{scaler_id}/predictor.py").decode()
    assert "import math\n" in source and "SCALE = 3\n" in source
    assert "LABELS = {'large', 'medium', 'small'}\n" in source  # sorted: the same text in every kernel
    assert "def scaled(values):" in source and "class Scaler:" in source
    assert source.rstrip().endswith(
        'class PythonPredictor(Scaler):\n    """Scaler, under the name the model server loads."""')
    assert "kserve_bridge" not in source and "Lookup" not in source and "collections" not in source
    assert source.index("def scaled") < source.index("class Scaler")

    keys = s3.keys(f"notebooks/{lookup_id}/")
    assert {k.rsplit("/", 1)[1] for k in keys} >= {"predictor.py", "predictor.pkl", "predictor_source.py",
                                                   "predictor.versions.json"}
    assert "class Lookup:" in s3.read(f"notebooks/{lookup_id}/predictor_source.py").decode()
    assert "TABLE is a OrderedDict" in s3.read(f"notebooks/{lookup_id}/predictor.py").decode()

    # a new kernel: the same recovered source, so the same id and nothing uploaded (a serialised class
    # carries per-session identifiers, so only the source path is reproducible across kernels)
    again, err = run_notebook(kubeconfig)
    assert again[0] == scaler_id
    assert f"{URI}/{scaler_id} already holds deployment {scaler_id} (" in err and "): nothing to upload" in err
    assert f"to {URI}/{scaler_id}" not in err

    server = fetch_and_serve(fake.isvc("scaler"), tmp_path / "scaler", serve)
    answer = httpx.post(f"{server.url}/v1/models/scaler:predict", json={"values": [4, 16]}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"scaled": [6.0, 12.0], "label": "large"}

    server = fetch_and_serve(fake.isvc("lookup"), tmp_path / "lookup", serve)
    answer = httpx.post(f"{server.url}/v1/models/lookup:predict", json=["alpha", "x"], timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"alpha": 5, "x": None}
    assert json.loads(s3.read(f"notebooks/{lookup_id}/predictor.versions.json"))["python"]
