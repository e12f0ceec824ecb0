"""Tables of valid specs: parsed, defaulted, and stable under load -> resolved -> load."""
from __future__ import annotations

import pytest

from kserve_bridge.spec import load_spec
from tests.spec.helpers import api

VALID = {
    "minimal": [api()],
    "single mapping": api(),
    "tensorflow models.path": [api(predictor={"type": "tensorflow", "models": {"path": "model/",
                                                                               "signature_key": "serving_default"}})],
    "onnx paths": [api(predictor={"type": "onnx", "models": {"paths": [{"name": "a", "path": "a.onnx"},
                                                                       {"name": "b", "path": "s3://b/b.onnx"}],
                                                             "cache_size": 1, "disk_cache_size": 2}})],
    "python dir": [api(predictor={"models": {"dir": "gs://bucket/models/"}})],
    "pytorch batching": [api(predictor={"type": "pytorch", "models": {"path": "model.pt"},
                                        "server_side_batching": {"max_batch_size": 8, "batch_interval": "0.1s"},
                                        "threads_per_process": 8})],
    "sklearn everything": [api(predictor={"type": "sklearn", "models": {"path": "model.joblib"},
                                          "processes_per_replica": 2, "config": {"k": [1, 2]},
                                          "env": {"A": "1"}, "log_level": "debug", "shm_size": "64Mi",
                                          "image": "ghcr.io/me/img:1"},
                               compute={"cpu": 1, "mem": "2Gi", "gpu": 1},
                               autoscaling={"min_replicas": 0, "max_replicas": 5, "init_replicas": 1,
                                            "target_replica_concurrency": 2.5, "max_replica_concurrency": 10,
                                            "window": "30s", "downscale_stabilization_period": "2m"},
                               networking={"endpoint": "/v1/iris"},
                               update_strategy={"max_surge": 1, "max_unavailable": "0%"},
                               kserve={"canary_traffic_percent": 10, "timeout": 30, "protocol": "v2",
                                       "service_account": "sa", "annotations": {"a": "b"}})],
    "raw deployment": [api(kserve={"deployment_mode": "raw", "autoscaler_class": "hpa", "scale_metric": "cpu",
                                   "scale_target": 70})],
    "legacy model_path": [api(predictor={"type": "onnx", "model_path": "s3://b/m.onnx"})],
    "legacy models list": [api(predictor={"type": "tensorflow", "models": [
        {"name": "a", "model_path": "s3://b/a", "signature_key": "predict"}]})],
    "legacy multi_model_reloading": [api(predictor={"multi_model_reloading": {"path": "s3://b/m"}})],
    "legacy networking": [api(networking={"api_gateway": "public", "local_port": 8888},
                              monitoring={"model_type": "classification"})],
    "traffic splitter": [api(name="a"), api(name="b"), api(name="c"),
                         {"name": "split", "kind": "TrafficSplitter",
                          "apis": [{"name": "a", "weight": 70}, {"name": "b", "weight": 30},
                                   {"name": "c", "weight": 10, "shadow": True}]}],
}


@pytest.mark.parametrize("data", VALID.values(), ids=VALID.keys())
def test_valid_spec_round_trips(data):
    spec = load_spec(data)
    resolved = spec.resolved()
    again = load_spec(resolved)
    assert again.resolved() == resolved


def test_cortex_defaults_are_filled():
    (resolved,) = load_spec([api()]).resolved()
    auto = resolved["autoscaling"]
    assert auto == {"min_replicas": 1, "max_replicas": 100, "init_replicas": 1, "max_replica_concurrency": 1024,
                    "target_replica_concurrency": 1.0, "window": "1m", "downscale_stabilization_period": "5m",
                    "upscale_stabilization_period": "1m", "max_downscale_factor": 0.75, "max_upscale_factor": 1.5,
                    "downscale_tolerance": 0.05, "upscale_tolerance": 0.05}
    assert resolved["compute"] == {"cpu": "200m", "gpu": 0, "inf": 0, "mem": None}
    assert resolved["update_strategy"] == {"max_surge": "25%", "max_unavailable": "25%"}
    assert resolved["networking"]["endpoint"] == "/iris"
    pred = resolved["predictor"]
    assert (pred["processes_per_replica"], pred["threads_per_process"], pred["log_level"], pred["config"],
            pred["env"]) == (1, 1, "info", {}, {})
    assert resolved["kserve"]["deployment_mode"] == "Serverless" and resolved["kserve"]["protocol"] == "v1"


def test_target_concurrency_defaults_to_processes_times_threads():
    spec = load_spec([api(predictor={"processes_per_replica": 2, "threads_per_process": 3})])
    assert spec.resolved()[0]["autoscaling"]["target_replica_concurrency"] == 6.0


def test_legacy_spellings_normalise():
    spec = load_spec([api(predictor={"type": "tensorflow", "model_path": "s3://b/m", "signature_key": "k"})])
    models = spec.realtime[0].predictor.models
    assert (models.path, models.signature_key) == ("s3://b/m", "k")
    spec = load_spec([api(predictor={"models": [{"name": "a", "model_path": "s3://x"}]})])
    assert spec.realtime[0].predictor.models.paths[0].path == "s3://x"


@pytest.mark.parametrize("value,expected", [
    ("200m", "200m"), (1, "1"), (0.5, "500m"), ("1G", "1G"), ("512Mi", "512Mi"), ("1.5Gi", "1536Mi"),
    ("2048Ki", "2Mi"), ("0.1", "100m"), ("1e3", "1k"), (2.25, "2250m"), ("1000m", "1"),
])
def test_cpu_and_memory_quantities_normalise(value, expected):
    from kserve_bridge.spec.units import normalise_quantity
    assert normalise_quantity(value) == expected


@pytest.mark.parametrize("value,seconds", [("0.1s", 0.1), ("100ms", 0.1), ("1m30s", 90), ("5m", 300),
                                           ("1h", 3600), ("0", 0)])
def test_durations(value, seconds):
    from kserve_bridge.spec.units import parse_duration
    assert parse_duration(value) == pytest.approx(seconds)


def test_mode_aliases():
    for alias, mode in (("raw", "RawDeployment"), ("Serverless", "Serverless"), ("knative", "Serverless"),
                        ("standard", "RawDeployment")):
        assert load_spec([api(kserve={"deployment_mode": alias})]).realtime[0].kserve.deployment_mode == mode


def test_project_files_checked(tmp_path):
    (tmp_path / "predictor.py").write_text("class PythonPredictor:\n    def predict(self, payload): ...\n")
    (tmp_path / "lib").mkdir()
    spec = load_spec([api(predictor={"python_path": "lib"})], project_dir=tmp_path)
    assert spec.project_dir == tmp_path
