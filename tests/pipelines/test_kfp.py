"""kserve_bridge.kfp and examples/kfp-pipeline/pipeline.py with the real kfp: the compiler
writes the pipeline spec, kfp.local's SubprocessRunner runs it (`python pipeline.py --local`)
against the Kubernetes API double, moto's S3 server and a real Prometheus."""
from __future__ import annotations

import json
import os
import subprocess

import pytest
import yaml

from tests.cluster.recorded import Series
from tests.pipelines.conftest import REPO

PIPELINE = REPO / "examples" / "kfp-pipeline" / "pipeline.py"
API = "iris-kfp"


def run(python: str, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([python, str(PIPELINE), *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)


def test_pipeline_compiles_to_a_spec_with_both_components(kfp_python, tmp_path):
    target = tmp_path / "iris_release.yaml"
    done = run(kfp_python, {**os.environ, "PYTHONPATH": str(REPO)}, "--output", str(target))
    assert done.returncode == 0, done.stderr
    spec = yaml.safe_load(target.read_text())
    assert spec["pipelineInfo"]["name"] == "iris-release"
    assert set(spec["components"]) == {"comp-train", "comp-deploy", "comp-canary-rollout"}
    rollout = spec["components"]["comp-canary-rollout"]
    assert rollout["outputDefinitions"]["artifacts"]["report"]["artifactType"]["schemaTitle"] == "system.Artifact"
    deploy = spec["components"]["comp-deploy"]["outputDefinitions"]["parameters"]
    assert set(deploy) == {"deployment_id", "url", "outcome"}
    executors = spec["deploymentSpec"]["executors"]
    assert "kserve-bridge[cluster]" in " ".join(executors["exec-deploy"]["container"]["command"])
    tasks = spec["root"]["dag"]["tasks"]
    assert tasks["canary-rollout"]["dependentTasks"] == ["deploy"]


@pytest.mark.timeout(1200)  # several whole pipeline runs (each may take 600 s): above pytest's 300 s
def test_local_run_deploys_then_rolls_out_a_judged_canary(kfp_python, fake, s3, pipeline_env, live_prometheus,
                                                          tmp_path):
    prometheus = live_prometheus(Series(f"{API}-predictor-00001", 20, 0.001),
                                 Series(f"{API}-predictor-00002", 5, 0.001))
    common = ["--local", "--pipeline-root", str(tmp_path / "root"), "--arg", f"prometheus={prometheus}",
              "--arg", "steps=[50, 100]", "--arg", "interval=1", "--arg", "window=60s"]

    first = run(kfp_python, pipeline_env, *common)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    v1 = json.loads(first.stdout.strip().splitlines()[-1])
    isvc = fake.isvc(API)
    assert v1["outcome"] == "no_canary" and v1["url"] == f"http://{API}.models.example.com"
    assert v1["deployment_id"] == isvc["metadata"]["labels"]["kserve-bridge.io/deployment-id"]
    assert isvc["spec"]["predictor"]["model"]["storageUri"] == f"s3://models/apis/{v1['deployment_id']}"
    assert s3.read(f"apis/{v1['deployment_id']}/model_version").decode() == v1["model_version"]

    second = run(kfp_python, pipeline_env, *common, "--arg", "regularization=0.5")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    v2 = json.loads(second.stdout.strip().splitlines()[-1])
    assert v2["outcome"] == "promoted" and v2["model_version"] != v1["model_version"]
    assert v2["deployment_id"] != v1["deployment_id"]
    with open(v2["report"]) as report:
        decisions = json.load(report)["decisions"]
    assert [d["action"] for d in decisions] == ["plan", "advance", "advance", "promote"]
    assert "canaryTrafficPercent" not in fake.isvc(API)["spec"]["predictor"]
    assert fake.isvc(API)["spec"]["predictor"]["model"]["storageUri"].endswith(v2["deployment_id"])
