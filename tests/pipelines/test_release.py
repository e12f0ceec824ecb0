"""kserve_bridge.release in-process (what the Metaflow and KFP steps call): the first version is
deployed, the same one again changes nothing, a new one waits as a canary without a Prometheus
and is judged to promotion with one; the project goes to moto's S3 server, the objects to the
Kubernetes API double."""
from __future__ import annotations

import kserve_bridge
from kserve_bridge.cluster.release import CANARY, DEPLOYED, UNCHANGED
from tests.cluster.recorded import Series

SPEC = {"name": "iris-rel", "kind": "RealtimeAPI", "predictor": {"type": "python", "path": "predictor.py"}}
STEPS = {"steps": [50, 100], "interval": 0.5, "window": "60s"}


def test_release_outcomes(fake, kubeconfig, s3, live_prometheus, tmp_path, monkeypatch):
    monkeypatch.setenv("KSERVE_BRIDGE_STORAGE_URI", "s3://models/apis")
    project = tmp_path / "project"
    project.mkdir()
    (project / "predictor.py").write_text("class PythonPredictor:\n    def __init__(self, config):\n        pass\n\n"
                                          "    def predict(self, payload):\n        return 1\n")
    client = kserve_bridge.client(kubeconfig=str(kubeconfig))
    prometheus = live_prometheus(Series("iris-rel-predictor-00001", 20, 0.001),
                                 Series("iris-rel-predictor-00002", 5, 0.001))

    first = kserve_bridge.release(client, SPEC, project, canary=20, prometheus=prometheus, **STEPS)
    assert (first.outcome, first.ok) == (DEPLOYED, True) and first.url == "http://iris-rel.models.example.com"
    assert s3.keys(f"apis/{first.deployment_id}/") and first.report["decisions"] == []
    again = kserve_bridge.release(client, SPEC, project, canary=20, prometheus=prometheus, **STEPS)
    assert (again.outcome, again.deployment_id) == (UNCHANGED, first.deployment_id)

    (project / "predictor.py").write_text((project / "predictor.py").read_text().replace("return 1", "return 2"))
    waiting = kserve_bridge.release(client, SPEC, project, canary=20)
    assert (waiting.outcome, waiting.report["share"]) == (CANARY, 20) and waiting.ok
    assert waiting.deployment_id != first.deployment_id
    assert fake.isvc("iris-rel")["spec"]["predictor"]["canaryTrafficPercent"] == 20

    judged = kserve_bridge.release(client, SPEC, project, canary=20, prometheus=prometheus, **STEPS)
    assert judged.outcome == "promoted", judged.report
    assert [d["action"] for d in judged.report["decisions"]] == ["plan", "advance", "advance", "promote"]
    assert "canaryTrafficPercent" not in fake.isvc("iris-rel")["spec"]["predictor"]
