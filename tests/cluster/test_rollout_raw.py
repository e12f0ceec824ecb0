"""RawDeployment mode: `spec.canary` (KServe's list of canary predictors with
trafficPercent) driven by the same commands, against the Kubernetes API test double and
a real Prometheus with recorded model-server metrics; objects strict-valid against the
real CRD."""
from __future__ import annotations

import subprocess

import pytest
import yaml

from kserve_bridge.cli import main
from kserve_bridge.cluster.canary import Thresholds, auto_rollout
from kserve_bridge.cluster.kube import Kube
from kserve_bridge.cluster.rollout.metrics import Prometheus
from tests.cluster.conftest import ISVC_KEY
from tests.cluster.recorded import START, Clock


def raw_isvc(name: str = "raw", share: int | None = 10, canaries: int = 1) -> dict:
    container = {"name": "kserve-container", "image": "example/model:1"}
    obj = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
           "metadata": {"name": name, "annotations": {"serving.kserve.io/deploymentMode": "RawDeployment"}},
           "spec": {"predictor": {"minReplicas": 2, "maxReplicas": 4, "containers": [container]}}}
    if share is not None:
        obj["spec"]["canary"] = [
            {"predictor": {"name": f"v{i + 2}", "minReplicas": 1,
                           "containers": [dict(container, image=f"example/model:{i + 2}")]},
             "trafficPercent": share} for i in range(canaries)]
    return obj


def cli(kubeconfig, *args: str) -> int:
    return main(["canary", *args, "--kubeconfig", str(kubeconfig)])


def strict_valid(shared_dir, tmp_path, *objects: dict) -> None:
    path = tmp_path / "objects.yaml"
    clean = [{k: v for k, v in o.items() if k != "status"} for o in objects]
    for o in clean:
        o["metadata"] = {k: v for k, v in o["metadata"].items() if k in ("name", "namespace", "annotations")}
    path.write_text(yaml.safe_dump_all(clean))
    run = subprocess.run([str(shared_dir / "tools" / "k8s-strict-validate"), str(path)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_start_status_rollback_promote_by_hand(fake, kubeconfig, capsys, shared_dir, tmp_path):
    fake.install_gateway_api()
    fake.write(ISVC_KEY + ("raw",), raw_isvc())
    assert cli(kubeconfig, "status", "raw") == 0
    out = capsys.readouterr().out
    assert "RawDeployment, canary raw-v2-predictor, stable raw-predictor" in out
    assert "raw-v2-predictor 10%, raw-predictor 90%" in out
    assert cli(kubeconfig, "start", "raw", "--percent", "30") == 0
    assert "spec.canary trafficPercent 30%" in capsys.readouterr().out
    assert fake.isvc("raw")["spec"]["canary"][0]["trafficPercent"] == 30
    assert fake.isvc("raw")["status"]["canaryStatuses"] == [{"name": "v2", "ready": True, "trafficPercent": 30}]
    assert cli(kubeconfig, "rollback", "raw") == 0
    assert fake.isvc("raw")["spec"]["canary"][0]["trafficPercent"] == 0
    writes = len([r for r in fake.requests if r[0] != "GET"])
    assert cli(kubeconfig, "promote", "raw", "--dry-run") == 0
    assert '"canary": null' in capsys.readouterr().out
    assert len([r for r in fake.requests if r[0] != "GET"]) == writes
    before = fake.isvc("raw")
    assert cli(kubeconfig, "promote", "raw") == 0
    after = fake.isvc("raw")
    assert "canary" not in after["spec"]
    assert after["spec"]["predictor"]["name"] == "v2"
    assert after["spec"]["predictor"]["containers"][0]["image"] == "example/model:2"
    assert (after["spec"]["predictor"]["minReplicas"], after["spec"]["predictor"]["maxReplicas"]) == (2, 4)
    strict_valid(shared_dir, tmp_path, raw_isvc(), before, after)


def test_not_ready_canary_gets_no_traffic_in_status(fake, kubeconfig, capsys):
    fake.raw_canary_ready = False
    fake.write(ISVC_KEY + ("raw",), raw_isvc())
    assert cli(kubeconfig, "status", "raw") == 0
    assert "raw-v2-predictor 0% (not ready), raw-predictor 100%" in capsys.readouterr().out


def test_two_canaries_are_refused(fake, kubeconfig, capsys):
    fake.write(ISVC_KEY + ("raw",), raw_isvc(canaries=2))
    assert cli(kubeconfig, "start", "raw", "--percent", "20") == 1
    assert "2 entries in spec.canary: rollouts drive exactly one" in capsys.readouterr().err


def test_auto_without_canary_entry_aborts(fake, kubeconfig, capsys):
    fake.write(ISVC_KEY + ("raw",), raw_isvc(share=None))
    assert cli(kubeconfig, "auto", "raw", "--prometheus", "http://127.0.0.1:9") == 4
    assert "deploy a new version after `kserve-bridge canary start`" in capsys.readouterr().out


def test_auto_promotes_a_healthy_raw_canary_on_model_server_metrics(fake, kubeconfig, recorded):
    fake.install_gateway_api()
    fake.write(ISVC_KEY + ("raw",), raw_isvc())
    clock = Clock(START)
    result = auto_rollout(Kube(kubeconfig=str(kubeconfig)), "raw", Prometheus(recorded), [10, 50, 100], 60,
                          Thresholds(min_requests=100), window="60s", sleep=clock.sleep, clock=clock)
    assert (result.outcome, result.mode) == ("promoted", "raw"), [d.describe() for d in result.decisions]
    assert "modelserver metrics" in result.decisions[0].reason
    advance = result.decisions[1]
    assert advance.canary.revision == "raw-v2-predictor" and advance.stable.revision == "raw-predictor"
    assert "kserve_bridge_requests_total" in advance.canary.queries["requests"]
    assert advance.canary.requests == pytest.approx(300, rel=0.05)
    assert fake.isvc("raw")["spec"]["predictor"]["name"] == "v2" and "canary" not in fake.isvc("raw")["spec"]


def test_replaced_raw_canary_is_rolled_back(fake, kubeconfig, recorded):
    fake.install_gateway_api()
    fake.write(ISVC_KEY + ("raw",), raw_isvc())
    clock = Clock(START)
    replaced = raw_isvc()
    replaced["spec"]["canary"][0]["predictor"]["containers"][0]["image"] = "example/model:3"
    clock.on_sleep.append(lambda n: n == 1 and fake.write(ISVC_KEY + ("raw",), replaced))
    result = auto_rollout(Kube(kubeconfig=str(kubeconfig)), "raw", Prometheus(recorded), [10, 50, 100], 60,
                          Thresholds(min_requests=100), window="60s", sleep=clock.sleep, clock=clock)
    assert result.exit_code == 5 and "was replaced" in result.decisions[-1].reason
    assert fake.isvc("raw")["spec"]["canary"][0]["trafficPercent"] == 0
