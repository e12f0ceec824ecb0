"""examples/metaflow-pipeline/flow.py run as a user runs it (`python flow.py run`, Metaflow's
local runtime) against the Kubernetes API double, moto's S3 server and a real Prometheus:
the first run deploys, a later one rolls a new model out as a judged canary, a worse model
is rolled back and fails the run; the artifacts say what was released."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.cluster.recorded import Series
from tests.pipelines.conftest import REPO

pytest.importorskip("metaflow")
FLOW = REPO / "examples" / "metaflow-pipeline" / "flow.py"
API = "iris-metaflow"
ARTIFACTS = """
import json
from metaflow import Flow, namespace
namespace(None)
run = Flow("IrisReleaseFlow").latest_run
data = run["deploy"].task.data
print(json.dumps({"successful": run.successful, **{k: getattr(data, k) for k in
    ("model_version", "deployment_id", "url", "outcome", "rollout_report", "released")}}))
"""


def run_flow(env: dict, cwd, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(FLOW), "--no-pylint", "run", "--api", API, *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=600)


def artifacts(env: dict, cwd) -> dict:
    out = subprocess.run([sys.executable, "-c", ARTIFACTS], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.timeout(1200)  # several whole pipeline runs (each may take 600 s): above pytest's 300 s
def test_flow_deploys_then_rolls_out_a_judged_canary(fake, s3, pipeline_env, live_prometheus, tmp_path):
    prometheus = live_prometheus(Series(f"{API}-predictor-00001", 20, 0.001),
                                 Series(f"{API}-predictor-00002", 5, 0.001),
                                 Series(f"{API}-predictor-00003", 5, errors=0.05))
    env = {**pipeline_env, "PROMETHEUS_URL": prometheus}
    rollout = ["--steps", "50,100", "--interval", "1", "--window", "60s"]

    first = run_flow(env, tmp_path, *rollout)
    assert first.returncode == 0, first.stdout + first.stderr
    v1 = artifacts(env, tmp_path)
    isvc = fake.isvc(API)
    assert v1["outcome"] == "deployed" and v1["successful"]
    assert v1["deployment_id"] == isvc["metadata"]["labels"]["kserve-bridge.io/deployment-id"]
    assert isvc["spec"]["predictor"]["model"]["storageUri"] == f"s3://models/apis/{v1['deployment_id']}"
    assert any(k.startswith(f"apis/{v1['deployment_id']}/") for k in s3.keys())
    assert v1["url"] == f"http://{API}.models.example.com"

    second = run_flow(env, tmp_path, "--regularization", "0.5", *rollout)
    assert second.returncode == 0, second.stdout + second.stderr
    v2 = artifacts(env, tmp_path)
    assert v2["model_version"] != v1["model_version"] and v2["deployment_id"] != v1["deployment_id"]
    assert v2["outcome"] == "promoted", v2["rollout_report"]
    actions = [d["action"] for d in v2["rollout_report"]["decisions"]]
    assert actions == ["plan", "advance", "advance", "promote"]  # observed at 10% (deploy) and 50%
    assert v2["rollout_report"]["canary"] == f"{API}-predictor-00002"
    assert "canaryTrafficPercent" not in fake.isvc(API)["spec"]["predictor"]
    assert f"{v2['model_version']}" in json.dumps(fake.isvc(API)["spec"]["predictor"])

    third = run_flow(env, tmp_path, "--regularization", "0.25", *rollout)
    assert third.returncode != 0 and "was not released (rolled_back)" in third.stdout + third.stderr
    v3 = artifacts(env, tmp_path)
    assert v3["outcome"] == "rolled_back" and not v3["released"] and not v3["successful"]
    assert "canary worse" in v3["rollout_report"]["decisions"][-1]["reason"]
    assert fake.isvc(API)["spec"]["predictor"]["canaryTrafficPercent"] == 0
