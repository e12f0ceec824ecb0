"""kserve.monitoring.drift on a real model server: per-bin counts from Cortex JSON, v1 instances (objects and
lists) and v2 inputs (by name and by column), the prediction from the answer, and the reference shares."""
from __future__ import annotations

import re

import httpx
import pytest

from tests.modelserver.conftest import make_project

SPEC = """
- name: drifty
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
  kserve:
    monitoring:
      drift: {reference: data/reference.csv, features: [x, color, prediction], bins: 4, prediction_key: label}
"""
PREDICTOR = """
import numpy as np

def label(x):
    return "big" if isinstance(x, (int, float)) and x > 5 else "small"

class PythonPredictor:
    def __init__(self, config):
        pass

    def predict(self, payload):
        if "instances" in payload:  # v1
            return [label(r["x"] if isinstance(r, dict) else r[0]) for r in payload["instances"]]
        if "input-0" in payload:  # v2: {name: array}
            return np.array([label(float(v)) for v in payload["input-0"][:, 0]])
        return {"label": label(payload.get("x")), "score": 1}  # Cortex JSON
"""
# x: 0..9 twice -> quartile edges 2, 4, 7; color: red 10, green 6, blue 4; prediction: big 8, small 12
REFERENCE = "x,color,prediction\n" + "".join(
    f"{x},{'red' if i < 10 else 'green' if i < 16 else 'blue'},{'big' if x > 5 else 'small'}\n"
    for i, x in enumerate([*range(10), *range(10)]))


def observations(url: str) -> dict[tuple[str, str], float]:
    text = httpx.get(url + "/metrics", timeout=60).text
    return {(m.group(1), m.group(2)): float(m.group(3)) for m in re.finditer(
        r'^kserve_bridge_feature_observations_total\{api="drifty",bin="([^"]*)",feature="([^"]*)"\} (\S+)$',
        text, re.M)}


@pytest.fixture(scope="module")
def server(tmp_path_factory, module_servers):
    project = make_project(tmp_path_factory.mktemp("drift") / "p", SPEC, PREDICTOR,
                           **{"data/reference.csv": REFERENCE})
    return module_servers(project)


def test_every_bin_exists_at_start_with_the_reference_share(server):
    counts = observations(server.url)
    assert set(counts) == {(b, "x") for b in ("(-inf,2]", "(2,4]", "(4,7]", "(7,+inf)", "(missing)")} | {
        (b, "color") for b in ("red", "green", "blue", "(other)", "(missing)")} | {
        (b, "prediction") for b in ("small", "big", "(other)", "(missing)")}
    text = httpx.get(server.url + "/metrics", timeout=60).text
    shares = {(m.group(2), m.group(1)): float(m.group(3)) for m in re.finditer(
        r'^kserve_bridge_feature_reference_ratio\{api="drifty",bin="([^"]*)",feature="([^"]*)"\} (\S+)$', text, re.M)}
    assert shares[("x", "(-inf,2]")] == 0.3 and shares[("x", "(2,4]")] == 0.2 and shares[("x", "(missing)")] == 0
    assert (shares[("color", "red")], shares[("color", "green")], shares[("color", "blue")]) == (0.5, 0.3, 0.2)
    assert (shares[("prediction", "big")], shares[("prediction", "small")]) == (0.4, 0.6)


def test_counts_from_cortex_v1_and_v2_requests(server):
    before = observations(server.url)
    url = server.url
    assert httpx.post(f"{url}/drifty", json={"x": 1, "color": "red"}).json()["label"] == "small"
    assert httpx.post(f"{url}/drifty", json={"x": "abc", "color": "purple"}).status_code == 200
    assert httpx.post(f"{url}/drifty", json={"x": 8}).status_code == 200
    v1 = httpx.post(f"{url}/v1/models/drifty:predict", json={"instances": [{"x": 8, "color": "blue"}, [3, "green"]]})
    assert v1.json() == {"predictions": ["big", "small"]}
    v2 = httpx.post(f"{url}/v2/models/drifty/infer", json={"inputs": [
        {"name": "input-0", "shape": [2, 1], "datatype": "FP32", "data": [6.5, 4.5]},
        {"name": "color", "shape": [2], "datatype": "BYTES", "data": ["green", "pink"]}]})
    assert v2.status_code == 200, v2.text
    assert httpx.post(f"{url}/drifty", content=b"{not json", headers={"Content-Type": "application/json"}
                      ).status_code == 400  # not answered: not counted
    added = {k: v - before[k] for k, v in observations(url).items() if v != before[k]}
    assert added == {
        ("(-inf,2]", "x"): 1, ("(missing)", "x"): 1, ("(7,+inf)", "x"): 2, ("(2,4]", "x"): 1, ("(4,7]", "x"): 2,
        ("red", "color"): 1, ("(other)", "color"): 2, ("(missing)", "color"): 1, ("blue", "color"): 1,
        ("green", "color"): 2,
        ("small", "prediction"): 4, ("big", "prediction"): 3}
