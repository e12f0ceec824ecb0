"""Field-by-field mapping of Cortex specs onto KServe/Knative/Istio objects."""
from __future__ import annotations

import json

from kserve_bridge.contract import DEPLOYMENT_ID_LABEL, SETTINGS_ENV, ServerSettings
from kserve_bridge.translator import explain, translate

from .specs import api

K = "autoscaling.knative.dev/"


def one(spec: list[dict], **kw) -> dict:
    return translate(spec, deployment_id="abc123", **kw)[0]


def env_of(container: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container["env"]}


def test_default_model_uses_runtime_and_carries_settings():
    isvc = one([api(predictor={"env": {"FOO": "bar"}})], storage_uri="s3://b/p", namespace="ml")
    model = isvc["spec"]["predictor"]["model"]
    assert model["modelFormat"] == {"name": "kserve-bridge"} and model["runtime"] == "kserve-bridge-sklearn"
    assert model["storageUri"] == "s3://b/p" and model["protocolVersion"] == "v1"
    env = env_of(model)
    assert env["FOO"] == "bar"
    settings = ServerSettings.model_validate_json(env[SETTINGS_ENV])
    assert settings.api_name == "demo" and settings.deployment_id == "abc123"
    assert isvc["metadata"]["labels"][DEPLOYMENT_ID_LABEL] == "abc123"
    assert isvc["metadata"]["namespace"] == "ml"


def test_custom_image_runs_model_server_args():
    isvc = one([api(predictor={"image": "reg/ms:1"})], storage_uri="gs://x/y")
    (container,) = isvc["spec"]["predictor"]["containers"]
    assert container["name"] == "kserve-container" and container["image"] == "reg/ms:1"
    assert container["args"] == ["--model_dir", "/mnt/models", "--model_name", "demo", "--http_port", "8080"]
    assert env_of(container)["STORAGE_URI"] == "gs://x/y"
    assert "model" not in isvc["spec"]["predictor"]


def test_compute_and_shm():
    inf = one([api(compute={"inf": 1}, predictor={"image": "me/neuron:1"})])["spec"]["predictor"]["containers"][0][
        "resources"]
    assert inf["limits"]["aws.amazon.com/neuron"] == "1"
    isvc = one([api(compute={"cpu": "500m", "mem": "2Gi", "gpu": 1}, predictor={"shm_size": "1Gi"})])
    pred = isvc["spec"]["predictor"]
    res = pred["model"]["resources"]
    assert res["requests"]["cpu"] == "500m" and res["limits"]["memory"] == "2Gi"
    assert res["limits"]["nvidia.com/gpu"] == "1"
    assert {v["name"]: v for v in pred["volumes"]}["dshm"]["emptyDir"]["medium"] == "Memory"
    assert {"name": "dshm", "mountPath": "/dev/shm"} in pred["model"]["volumeMounts"]


def test_serverless_autoscaling_annotations():
    spec = [api(predictor={"processes_per_replica": 2, "threads_per_process": 3},
                autoscaling={"min_replicas": 0, "max_replicas": 4, "max_replica_concurrency": 32,
                             "window": "30s", "downscale_stabilization_period": "10m"})]
    isvc = one(spec)
    ann, pred = isvc["metadata"]["annotations"], isvc["spec"]["predictor"]
    assert (pred["minReplicas"], pred["maxReplicas"], pred["containerConcurrency"]) == (0, 4, 32)
    assert ann[K + "min-scale"] == "0" and ann[K + "max-scale"] == "4"
    assert ann[K + "target"] == "6"  # processes * threads
    assert ann[K + "window"] == "30s" and ann[K + "scale-down-delay"] == "10m"
    assert ann[K + "class"] == "kpa.autoscaling.knative.dev"
    assert ann["serving.kserve.io/deploymentMode"] == "Serverless"


def test_raw_deployment_uses_hpa():
    isvc = one([api(kserve={"deployment_mode": "RawDeployment"})])
    ann, pred = isvc["metadata"]["annotations"], isvc["spec"]["predictor"]
    assert ann["serving.kserve.io/autoscalerClass"] == "hpa"
    assert not any(k.startswith(K) for k in ann)
    assert pred["scaleMetric"] == "cpu" and "containerConcurrency" not in pred


def test_kserve_passthrough_fields():
    isvc = one([api(kserve={"canary_traffic_percent": 10, "timeout": 60, "service_account": "sa",
                            "annotations": {"a/b": "c"}, "labels": {"team": "ml"}})])
    pred = isvc["spec"]["predictor"]
    assert (pred["canaryTrafficPercent"], pred["timeout"], pred["serviceAccountName"]) == (10, 60, "sa")
    assert isvc["metadata"]["annotations"]["a/b"] == "c" and isvc["metadata"]["labels"]["team"] == "ml"


def test_restricted_security_on_and_off():
    on = one([api()])["spec"]["predictor"]
    assert on["securityContext"]["runAsNonRoot"] is True
    ctx = on["model"]["securityContext"]
    assert ctx["allowPrivilegeEscalation"] is False and ctx["capabilities"] == {"drop": ["ALL"]}
    off = one([api(kserve={"restricted_security": False})])["spec"]["predictor"]
    assert "securityContext" not in off and "securityContext" not in off["model"]


def test_traffic_splitter_graph_and_shadow():
    spec = [api("blue"), api("green"), api("mirror"),
            {"name": "ab", "kind": "TrafficSplitter", "networking": {"endpoint": "/ab"},
             "apis": [{"name": "blue", "weight": 70}, {"name": "green", "weight": 30},
                      {"name": "mirror", "weight": 25, "shadow": True}]}]
    objs = {(o["kind"], o["metadata"]["name"]): o for o in translate(spec, deployment_id="x", namespace="ns")}
    graph = objs[("InferenceGraph", "ab")]
    root = graph["spec"]["nodes"]["root"]
    assert root["routerType"] == "Splitter"
    assert [(s["serviceName"], s["weight"]) for s in root["steps"]] == [("blue", 70), ("green", 30)]
    vs = objs[("VirtualService", "ab-shadow")]["spec"]["http"][0]
    assert vs["mirror"]["host"] == "mirror-predictor.ns.svc.cluster.local"
    assert vs["mirrorPercentage"] == {"value": 25.0}


def test_deployment_id_is_a_content_hash(tmp_path):
    (tmp_path / "predictor.py").write_text("class PythonPredictor: pass\n")
    first = translate([api()], storage_uri="s3://b")  # no project dir: hash of the API alone
    assert len(first[0]["metadata"]["labels"][DEPLOYMENT_ID_LABEL]) == 12
    changed = translate([api(predictor={"config": {"k": 1}})], storage_uri="s3://b")
    assert first[0]["metadata"]["labels"][DEPLOYMENT_ID_LABEL] != changed[0]["metadata"]["labels"][DEPLOYMENT_ID_LABEL]


def test_explain_lists_mapped_and_dropped():
    text = explain([api(kserve={"deployment_mode": "RawDeployment"})])
    assert "autoscaling.min_replicas" in text and "not carried over:" in text
    assert "autoscaling.max_replica_concurrency" in text.split("not carried over:")[1]
    assert "placeholder" in text  # no storage URI given


def test_settings_json_is_compact_and_sorted():
    env = env_of(one([api()])["spec"]["predictor"]["model"])
    assert env[SETTINGS_ENV] == json.dumps(json.loads(env[SETTINGS_ENV]), sort_keys=True, separators=(",", ":"))


def test_grpc_v2_exposes_h2c_beside_http_in_raw_deployment():
    """KServe's convention: protocolVersion grpc-v2 and a container port named h2c (8081), which KServe's
    RawDeployment Service gives appProtocol kubernetes.io/h2c; the HTTP port stays for probes and /metrics."""
    ports = [{"name": "http1", "containerPort": 8080, "protocol": "TCP"},
             {"name": "h2c", "containerPort": 8081, "protocol": "TCP"}]
    raw = {"protocol": "grpc-v2", "deployment_mode": "RawDeployment"}
    model = one([api(kserve=raw)])["spec"]["predictor"]["model"]
    assert model["protocolVersion"] == "grpc-v2" and model["ports"] == ports
    assert ServerSettings.model_validate_json(env_of(model)[SETTINGS_ENV]).protocol == "grpc-v2"
    (container,) = one([api(kserve=raw, predictor={"image": "reg/ms:1"})])["spec"]["predictor"]["containers"]
    assert container["ports"] == ports
    assert "ports" not in one([api(kserve={"protocol": "v2"})])["spec"]["predictor"]["model"]  # the runtime's


def test_grpc_v2_in_serverless_mode_is_a_spec_error():
    import pytest

    from kserve_bridge.errors import SpecError
    from kserve_bridge.spec import load_spec
    with pytest.raises(SpecError, match="grpc-v2 needs deployment_mode RawDeployment") as caught:
        load_spec([api(kserve={"protocol": "grpc-v2"})])
    assert "kserve.protocol" in str(caught.value)
