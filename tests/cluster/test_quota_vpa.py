"""`deploy` warns (with figures) when an API at max_replicas would not fit the namespace's ResourceQuota;
`get` shows the VerticalPodAutoscaler's recommendation beside the requests. Against the fake API server."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from kserve_bridge.cli import main
from kserve_bridge.cluster.quota import shortfalls

QUOTA_KEY = ("", "v1", "models", "resourcequotas", "team-quota")
VPA_KEY = ("autoscaling.k8s.io", "v1", "models", "verticalpodautoscalers", "iris-predictor")
SPEC = """- name: iris
  kind: RealtimeAPI
  predictor: {type: python, path: predictor.py}
  compute: {cpu: 500m, mem: 1Gi}
  autoscaling: {min_replicas: 1, max_replicas: 5}
  kserve:
    deployment_mode: RawDeployment
    vertical_scaling: {mode: recommend, max: {cpu: 2, mem: 4Gi}}
"""


@pytest.fixture
def vpa_project(project: Path) -> Path:
    (project / "cortex.yaml").write_text(SPEC)
    return project


def quota(hard: dict, used: dict) -> dict:
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "team-quota", "namespace": "models"},
            "spec": {"hard": hard}, "status": {"hard": hard, "used": used}}


def pod(name: str, cpu: str, memory: str, api: str = "iris") -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "models", "labels": {
        "serving.kserve.io/inferenceservice": api}}, "spec": {"containers": [
            {"name": "kserve-container", "resources": {"requests": {"cpu": cpu, "memory": memory}}}]}}


def deploy(kubeconfig, project, *extra: str) -> int:
    return main(["deploy", str(project), "--kubeconfig", str(kubeconfig), "--no-upload", *extra])


def test_deploy_warns_with_figures_and_still_applies(fake, kubeconfig, vpa_project, capsys):
    fake.write(QUOTA_KEY, quota({"requests.cpu": "2", "requests.memory": "8Gi", "pods": "4",
                                 "count/inferenceservices.serving.kserve.io": "3"},
                                {"requests.cpu": "500m", "requests.memory": "1Gi", "pods": "1",
                                 "count/inferenceservices.serving.kserve.io": "1"}))
    assert deploy(kubeconfig, vpa_project) == 0
    out, err = capsys.readouterr()
    assert ("iris at max_replicas 5 would not fit ResourceQuota team-quota: requests.cpu needs 2500m "
            "(5 x 500m), 1500m left of 2 (500m used)") in err
    assert "pods needs 5, 3 left of 4 (1 used)" in err
    assert "requests.memory" not in err and "count/inferenceservices" not in err  # those fit
    assert "applying anyway" in err
    assert "InferenceService/iris created" in out and "VerticalPodAutoscaler/iris-predictor created" in out
    assert fake.objects[VPA_KEY]["spec"]["targetRef"]["name"] == "iris-predictor"


def test_stop_on_quota_applies_nothing(fake, kubeconfig, vpa_project, capsys):
    fake.write(QUOTA_KEY, quota({"requests.memory": "4Gi"}, {"requests.memory": "0"}))
    assert deploy(kubeconfig, vpa_project, "--stop-on-quota") == 1
    err = capsys.readouterr().err
    assert "requests.memory needs 5Gi (5 x 1Gi), 4Gi left of 4Gi (0 used)" in err and "not applied" in err
    assert fake.isvc("iris") is None and not [r for r in fake.requests if r[0] == "PATCH"]


def test_no_quota_or_enough_quota_says_nothing(fake, kubeconfig, vpa_project, capsys):
    assert deploy(kubeconfig, vpa_project) == 0
    assert "warning" not in capsys.readouterr().err
    fake.write(QUOTA_KEY, quota({"requests.cpu": "10", "limits.memory": "64Gi"}, {"requests.cpu": "1"}))
    assert deploy(kubeconfig, vpa_project, "--stop-on-quota") == 0
    assert "warning" not in capsys.readouterr().err


def test_running_api_is_credited_with_its_pods(fake, kubeconfig, vpa_project, capsys):
    assert deploy(kubeconfig, vpa_project) == 0
    for i in range(3):  # the API runs 3 pods; `used` counts them
        fake.write(("", "v1", "models", "pods", f"iris-{i}"), pod(f"iris-{i}", "500m", "1Gi"))
    fake.write(("", "v1", "models", "pods", "other-0"), pod("other-0", "500m", "1Gi", api="other"))
    fake.write(QUOTA_KEY, quota({"requests.cpu": "3", "pods": "5", "count/inferenceservices.serving.kserve.io": "1"},
                                {"requests.cpu": "2", "pods": "4", "count/inferenceservices.serving.kserve.io": "1"}))
    capsys.readouterr()
    assert deploy(kubeconfig, vpa_project) == 0
    err = capsys.readouterr().err
    # cpu: left 3 - 2 + 1.5 (its own pods) = 2.5, needs 2.5: fits; pods: 5 - 4 + 3 = 4 < 5; the isvc exists already
    assert "requests.cpu" not in err and "count/inferenceservices" not in err
    assert "pods needs 5, 4 left of 5 (4 used)" in err


def test_shortfalls_read_spec_hard_when_status_is_not_there_yet():
    isvc = {"kind": "InferenceService", "metadata": {"name": "a"}, "spec": {"predictor": {
        "maxReplicas": 2, "model": {"resources": {"limits": {"nvidia.com/gpu": "1"}}}}}}
    (short,) = shortfalls([isvc], [{"metadata": {"name": "q"}, "spec": {"hard": {"requests.nvidia.com/gpu": "1"}}}],
                          {}, set())
    assert (short.resource, short.need, short.left, short.per_replica) == ("requests.nvidia.com/gpu", 2, 1, 1)
    assert short.used == Decimal(0)


def test_get_shows_the_vpa_recommendation_beside_the_requests(fake, kubeconfig, vpa_project, capsys):
    assert deploy(kubeconfig, vpa_project) == 0
    capsys.readouterr()
    assert main(["get", "iris", "--kubeconfig", str(kubeconfig)]) == 0
    out = capsys.readouterr().out
    assert "requests:               cpu 500m, memory 1Gi" in out
    assert "vpa:                    iris-predictor (updateMode Off)" in out
    assert "vpa recommendation:     none yet" in out
    vpa = fake.objects[VPA_KEY]
    fake.write(VPA_KEY, {**vpa, "status": {"recommendation": {"containerRecommendations": [
        {"containerName": "istio-proxy", "target": {"cpu": "10m"}},
        {"containerName": "kserve-container", "target": {"cpu": "350m", "memory": "600Mi"},
         "lowerBound": {"cpu": "200m", "memory": "400Mi"}, "upperBound": {"cpu": "1", "memory": "2Gi"}}]}}})
    assert main(["get", "iris", "--kubeconfig", str(kubeconfig)]) == 0
    out = capsys.readouterr().out
    assert "vpa recommendation:     cpu 350m, memory 600Mi" in out
    assert "vpa range:              cpu 200m, memory 400Mi .. cpu 1, memory 2Gi" in out


def test_get_without_a_vpa_shows_only_the_requests(fake, kubeconfig, project, capsys):
    assert deploy(kubeconfig, project) == 0
    capsys.readouterr()
    assert main(["get", "iris", "--kubeconfig", str(kubeconfig)]) == 0
    out = capsys.readouterr().out
    assert "requests:               cpu 200m" in out and "vpa" not in out


def test_delete_removes_the_vpa_too(fake, kubeconfig, vpa_project, capsys):
    assert deploy(kubeconfig, vpa_project) == 0
    assert main(["delete", "iris", "--kubeconfig", str(kubeconfig)]) == 0
    out = capsys.readouterr().out
    assert "VerticalPodAutoscaler/iris-predictor deleted" in out
    assert VPA_KEY not in fake.objects and fake.isvc("iris") is None


def test_limit_range_defaults_count_for_requests_the_spec_leaves_out(fake, kubeconfig, project, capsys):
    """The `project` spec sets no memory and max_replicas 100: each pod gets the LimitRange's default."""
    fake.write(("", "v1", "models", "limitranges", "limits"), {
        "apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "limits", "namespace": "models"},
        "spec": {"limits": [{"type": "Container", "defaultRequest": {"memory": "256Mi"},
                             "default": {"memory": "512Mi", "cpu": "1"}}]}})
    fake.write(QUOTA_KEY, quota({"requests.memory": "16Gi", "limits.memory": "100Gi", "limits.cpu": "50"}, {}))
    assert deploy(kubeconfig, project) == 0
    err = capsys.readouterr().err
    assert "iris at max_replicas 100 would not fit" in err
    assert "requests.memory needs 25Gi (100 x 256Mi), 16Gi left of 16Gi (0 used)" in err
    assert "limits.cpu needs 100 (100 x 1), 50 left of 50 (0 used)" in err
    assert "limits.memory" not in err  # 100 x 512Mi = 50Gi fits


def test_python_client_warns_too(fake, kubeconfig):
    import kserve_bridge
    from kserve_bridge.cluster.quota import QuotaWarning

    fake.write(QUOTA_KEY, quota({"count/inferenceservices.serving.kserve.io": "0"}, {}))
    client = kserve_bridge.client(kubeconfig=str(kubeconfig))
    spec = {"name": "greeter", "kind": "RealtimeAPI", "predictor": {"type": "python", "path": "predictor.py"}}
    with pytest.warns(QuotaWarning, match="count/inferenceservices.serving.kserve.io needs 1, 0 left of 0"):
        client.create_api(spec, predictor=Greeter, upload=False)
    assert fake.isvc("greeter") is not None  # warned, still applied


class Greeter:
    def predict(self, payload):
        return "hi"
