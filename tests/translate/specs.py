"""A table of specs that together touch every field the translator maps (no project dir needed)."""
from __future__ import annotations

import copy
from typing import Any

DEMO_SPEC = """- name: demo
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
"""  # cortex.yaml of the `project` fixture (conftest.py)


def api(name: str = "demo", **sections: Any) -> dict:
    """A RealtimeAPI dict; keyword sections (predictor, compute, autoscaling, kserve, ...) are merged in."""
    out: dict = {"name": name, "kind": "RealtimeAPI", "predictor": {"type": "python", "path": "predictor.py"}}
    for key, value in sections.items():
        out[key] = {**out.get(key, {}), **copy.deepcopy(value)} if isinstance(value, dict) else value
    return out


def _splitter(shadow: bool) -> list[dict]:
    targets = [{"name": "blue", "weight": 80}, {"name": "green", "weight": 20}]
    if shadow:
        targets.append({"name": "mirror", "weight": 50, "shadow": True})
    apis = [api("blue"), api("green")] + ([api("mirror")] if shadow else [])
    return apis + [{"name": "ab", "kind": "TrafficSplitter", "networking": {"endpoint": "/ab/"}, "apis": targets}]


SPECS: dict[str, list[dict]] = {
    "defaults": [api()],
    "serverless-explicit": [api(kserve={"deployment_mode": "serverless"})],
    "raw": [api(kserve={"deployment_mode": "RawDeployment"})],
    "raw-alias-memory": [api(kserve={"deployment_mode": "raw", "scale_metric": "memory", "scale_target": 70})],
    "raw-keda": [api(kserve={"deployment_mode": "RawDeployment", "autoscaler_class": "keda"})],
    "raw-external": [api(kserve={"deployment_mode": "RawDeployment", "autoscaler_class": "external"})],
    "raw-update-strategy": [api(kserve={"deployment_mode": "RawDeployment"},
                                update_strategy={"max_surge": 2, "max_unavailable": 0})],
    "scale-to-zero": [api(autoscaling={"min_replicas": 0, "max_replicas": 3})],
    "init-zero": [api(autoscaling={"min_replicas": 0, "init_replicas": 0, "max_replicas": 2})],
    "init-between": [api(autoscaling={"min_replicas": 1, "init_replicas": 3, "max_replicas": 5})],
    "autoscaling-all": [api(autoscaling={"min_replicas": 2, "max_replicas": 20, "max_replica_concurrency": 64,
                                         "target_replica_concurrency": 8, "window": "30s",
                                         "downscale_stabilization_period": "10m",
                                         "upscale_stabilization_period": "2m", "max_upscale_factor": 3,
                                         "max_downscale_factor": 0.5, "upscale_tolerance": 0.1,
                                         "downscale_tolerance": 0.1})],
    "target-non-integer": [api(autoscaling={"target_replica_concurrency": 2.5})],
    "target-from-workers": [api(predictor={"processes_per_replica": 2, "threads_per_process": 4})],
    "hpa-class-cpu": [api(kserve={"autoscaler_class": "hpa", "scale_target": 60})],
    "kpa-rps": [api(kserve={"scale_metric": "rps", "scale_target": 150})],
    "gpu": [api(compute={"cpu": "2", "gpu": 1, "mem": "8Gi"})],
    "inf": [api(compute={"inf": 1, "mem": "4G"}, predictor={"image": "registry.example.com/neuron-server:1"})],
    "no-cpu": [api(compute={"cpu": None})],
    "shm": [api(predictor={"shm_size": "1Gi"})],
    "canary": [api(kserve={"canary_traffic_percent": 10})],
    "image": [api(predictor={"image": "registry.example.com/team/server:1.2"})],
    "image-shm-gpu": [api(predictor={"image": "img:1", "shm_size": "256Mi"}, compute={"gpu": 2})],
    "timeout": [api(kserve={"timeout": 120})],
    "request-timeout-token": [api(kserve={"request_timeout": 900, "service_account": "sa",
                                          "service_account_token": True})],
    "service-account": [api(kserve={"service_account": "model-reader"})],
    "protocol-v2": [api(kserve={"protocol": "v2", "runtime": "custom-runtime"})],
    "protocol-grpc-v2": [api(kserve={"protocol": "grpc-v2", "deployment_mode": "RawDeployment"})],
    "protocol-grpc-v2-image": [api(kserve={"protocol": "grpc-v2", "deployment_mode": "RawDeployment"},
                                   predictor={"image": "registry.example.com/team/server:1.2"})],
    "multi-model-paths": [api(predictor={"models": {"paths": [{"name": "a", "path": "models/a"},
                                                               {"name": "b", "path": "s3://bucket/b"}],
                                         "cache_size": 1, "disk_cache_size": 2}})],
    "multi-model-dir": [api(predictor={"type": "tensorflow", "models": {"dir": "gs://bucket/models",
                                                                        "signature_key": "serving_default"},
                                       "tensorflow_serving_image": "tf/serving:2"})],
    "remote-s3": [api(predictor={"type": "onnx", "models": {"path": "s3://bucket/model.onnx"}})],
    "remote-gs": [api(predictor={"type": "sklearn", "models": {"path": "gs://bucket/model.joblib"}})],
    "remote-https": [api(predictor={"type": "pytorch", "models": {"path": "https://example.com/m.pt"}})],
    "legacy-model-path": [api(predictor={"type": "onnx", "model_path": "s3://bucket/legacy.onnx"})],
    "batching-env-config": [api(predictor={"server_side_batching": {"max_batch_size": 8, "batch_interval": "0.1s"},
                                           "env": {"B": "2", "A": "1"}, "config": {"k": [1, 2], "n": {"x": 1}},
                                           "python_path": "src", "log_level": "debug"})],
    "splitter": _splitter(shadow=False),
    "splitter-shadow": _splitter(shadow=True),
    "unrestricted": [api(kserve={"restricted_security": False})],
    "scratch-size": [api(kserve={"scratch_size": "4Gi"})],
    "annotations-labels": [api(kserve={"annotations": {"example.com/team": "ml"},
                                       "labels": {"team": "ml", "tier": "gold"}})],
    "storage-uri-in-spec": [api(kserve={"storage_uri": "s3://bucket/project"})],
    "legacy-networking-monitoring": [api(networking={"api_gateway": "public", "local_port": 8888,
                                                     "endpoint": "v1/demo/"},
                                         monitoring={"model_type": "regression"})],
    "long-name": [api("a" * 63)],
    "logger-http": [api(kserve={"logger": {"url": "http://broker-ingress.knative-eventing/team-a/default",
                                           "mode": "all", "metadata_headers": ["x-request-id", "X-Caller"],
                                           "metadata_annotations": ["example.com/team"]}})],
    "alerts": [api(kserve={"alerts": {"latency_p99": "250ms", "error_rate": 0.01}})],
    "logger-bucket": [api(kserve={"logger": {"url": "s3://audit-bucket/records", "mode": "response",
                                             "storage": {"path": "v1", "format": "parquet", "key": "creds",
                                                         "service_account": "auditor",
                                                         "parameters": {"region": "eu-west-1"}},
                                             "batch_size": 100, "batch_interval": "30s",
                                             "marshaller_url": "http://marshaller.audit:8080/marshal"}})],
    "vpa-recommend": [api(kserve={"deployment_mode": "RawDeployment", "vertical_scaling": {"mode": "recommend"}})],
    "vpa-auto-memory": [api(kserve={"deployment_mode": "RawDeployment", "vertical_scaling": {
        "mode": "auto", "controlled_resources": ["memory"], "min": {"mem": "256Mi"}, "max": {"mem": "4Gi"}}})],
    "vpa-initial-keda": [api(kserve={"deployment_mode": "RawDeployment", "autoscaler_class": "keda",
                                     "vertical_scaling": {"mode": "initial", "min": {"cpu": "100m", "mem": "128Mi"},
                                                          "max": {"cpu": 4, "mem": "8Gi"}}})],
    "vpa-off": [api(kserve={"vertical_scaling": {"mode": "off"}})],
}
