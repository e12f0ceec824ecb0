"""Resolution: every field through a project dir, Cortex defaults one by one, legacy spellings,
quantities and durations as the loader (not just units.py) sees them."""
from __future__ import annotations

import pytest

from kserve_bridge import SpecError, load_spec
from kserve_bridge.spec import RealtimeAPI
from tests.spec.helpers import api


def splitter(*targets: tuple, name: str = "split") -> dict:
    return {"name": name, "kind": "TrafficSplitter",
            "apis": [{"name": t[0], "weight": t[1], **({"shadow": t[2]} if len(t) > 2 else {})} for t in targets]}

RESOLVABLE = {
    "minimal": [api()],
    "single-mapping": api(),
    "every-field": [api(
        predictor={"type": "python", "path": "predictor.py", "models": {"dir": "models", "cache_size": 1,
                   "disk_cache_size": 2}, "processes_per_replica": 1, "threads_per_process": 8,
                   "server_side_batching": {"max_batch_size": 8, "batch_interval": "100ms"},
                   "config": {"a": [1, {"b": None}]}, "env": {"MY_VAR": "x"}, "python_path": "src",
                   "image": "ghcr.io/me/img:1", "log_level": "debug", "shm_size": "64Mi",
                   "dependencies": {"pip": "reqs.txt", "conda": "c.txt", "shell": "s.sh"}},
        networking={"endpoint": "/v1/iris"},
        compute={"cpu": 2, "gpu": 1, "inf": 0, "mem": "1G"},
        autoscaling={"min_replicas": 0, "max_replicas": 10, "init_replicas": 2, "max_replica_concurrency": 64,
                     "target_replica_concurrency": 4.5, "window": "1m30s",
                     "downscale_stabilization_period": "10m", "upscale_stabilization_period": "0s",
                     "max_downscale_factor": 0.5, "max_upscale_factor": 2, "downscale_tolerance": 0.1,
                     "upscale_tolerance": 0},
        update_strategy={"max_surge": 1, "max_unavailable": "0%"},
        monitoring={"model_type": "regression", "key": "score"},
        kserve={"deployment_mode": "serverless", "storage_uri": "s3://b/p", "runtime": "custom",
                "protocol": "v2", "canary_traffic_percent": 10, "timeout": 30, "service_account": "sa",
                "autoscaler_class": "hpa", "scale_metric": "cpu", "scale_target": 80,
                "restricted_security": False, "istio": False, "annotations": {"a": "b"}, "labels": {"c": "d"}})],
    "raw-mode-keda-scale-to-zero": [api(autoscaling={"min_replicas": 0},
                                        kserve={"deployment_mode": "raw", "autoscaler_class": "keda"})],
    "tensorflow-paths": [api(predictor={"type": "tensorflow", "models": {"signature_key": "serving_default",
                             "paths": [{"name": "a", "path": "s3://bucket/a", "signature_key": "predict"},
                                       {"name": "b", "path": "models/b"}]}})],
    "onnx-path": [api(predictor={"type": "onnx", "models": {"path": "gs://bucket/model.onnx"}})],
    "pytorch-sklearn": [api(name="pt", predictor={"type": "pytorch"}),
                        api(name="sk", predictor={"type": "sklearn", "models": {"path": "models/a"}})],
    "splitter-with-shadow": [api(name="a"), api(name="b"), api(name="c"),
                             splitter(("a", 70), ("b", 30), ("c", 100, True))],
    "legacy-api-gateway": [api(networking={"api_gateway": "public", "local_port": 8888})],
    "nullable-maps": [api(predictor={"type": "python", "path": "predictor.py", "config": None, "env": None})],
    "cpu-null": [api(compute={"cpu": None})],
}


@pytest.mark.parametrize("data", RESOLVABLE.values(), ids=RESOLVABLE.keys())
def test_round_trip_with_project_files(data, project):
    (project / "predictor.py").write_text("class Predictor:  # the one class with predict: fits every type\n"
                                          "    def predict(self, payload):\n        return payload\n")
    spec = load_spec(data, project_dir=project)
    resolved = spec.resolved()
    again = load_spec(resolved, project_dir=project)
    assert again.resolved() == resolved
    assert [a.name for a in again.apis] == [a.name for a in spec.apis]


def test_round_trip_through_a_file(project):
    import yaml
    spec = load_spec(RESOLVABLE["every-field"], project_dir=project)
    (project / "cortex.yaml").write_text(yaml.safe_dump(spec.resolved()))
    assert load_spec(project).resolved() == spec.resolved()


# Cortex's documented defaults (cortex-details.md, section 1), path -> value after resolving.
CORTEX_DEFAULTS = {
    ("networking", "endpoint"): "/iris",
    ("predictor", "processes_per_replica"): 1, ("predictor", "threads_per_process"): 1,
    ("predictor", "log_level"): "info", ("predictor", "config"): {}, ("predictor", "env"): {},
    ("predictor", "server_side_batching"): None, ("predictor", "shm_size"): None,
    ("predictor", "models"): None, ("predictor", "python_path"): None, ("predictor", "image"): None,
    ("predictor", "dependencies"): {"pip": "requirements.txt", "conda": "conda-packages.txt",
                                    "shell": "dependencies.sh"},
    ("compute", "cpu"): "200m", ("compute", "gpu"): 0, ("compute", "inf"): 0, ("compute", "mem"): None,
    ("autoscaling", "min_replicas"): 1, ("autoscaling", "max_replicas"): 100,
    ("autoscaling", "init_replicas"): 1, ("autoscaling", "max_replica_concurrency"): 1024,
    ("autoscaling", "target_replica_concurrency"): 1.0, ("autoscaling", "window"): "1m",
    ("autoscaling", "downscale_stabilization_period"): "5m", ("autoscaling", "upscale_stabilization_period"): "1m",
    ("autoscaling", "max_downscale_factor"): 0.75, ("autoscaling", "max_upscale_factor"): 1.5,
    ("autoscaling", "downscale_tolerance"): 0.05, ("autoscaling", "upscale_tolerance"): 0.05,
    ("update_strategy", "max_surge"): "25%", ("update_strategy", "max_unavailable"): "25%",
    ("kserve", "deployment_mode"): "Serverless", ("kserve", "protocol"): "v1",
    ("kserve", "canary_traffic_percent"): None,
}


@pytest.mark.parametrize("path,expected", CORTEX_DEFAULTS.items(), ids=[".".join(p) for p in CORTEX_DEFAULTS])
def test_cortex_defaults(path, expected):
    resolved = load_spec([api()]).resolved()[0]
    assert resolved[path[0]][path[1]] == expected


def test_derived_defaults_follow_their_sources():
    resolved = load_spec([api(predictor={"processes_per_replica": 2, "threads_per_process": 3},
                              autoscaling={"min_replicas": 4})]).resolved()[0]
    assert resolved["autoscaling"]["target_replica_concurrency"] == 6.0
    assert resolved["autoscaling"]["init_replicas"] == 4
    assert load_spec([splitter(("iris", 100)), api()]).resolved()[0]["networking"]["endpoint"] == "/split"


LEGACY = {
    "model_path": ({"model_path": "s3://b/m"}, {"path": "s3://b/m"}),
    "signature_key-at-predictor": ({"type": "tensorflow", "model_path": "s3://b/m", "signature_key": "k"},
                                   {"path": "s3://b/m", "signature_key": "k"}),
    "models-as-list": ({"models": [{"name": "a", "model_path": "s3://b/a"}]},
                       {"paths": [{"name": "a", "path": "s3://b/a", "signature_key": None}]}),
    "multi_model_reloading": ({"multi_model_reloading": {"dir": "s3://b/models"}}, {"dir": "s3://b/models"}),
    "paths-model_path": ({"models": {"paths": [{"name": "a", "model_path": "gs://b/a"}]}},
                         {"paths": [{"name": "a", "path": "gs://b/a", "signature_key": None}]}),
}


@pytest.mark.parametrize("predictor,models", LEGACY.values(), ids=LEGACY.keys())
def test_legacy_spellings(predictor, models):
    resolved = load_spec([api(predictor=predictor)]).resolved()[0]
    got = {k: v for k, v in resolved["predictor"]["models"].items() if v is not None}
    assert got == {k: v for k, v in models.items() if v is not None} | {k: v for k, v in got.items()
                                                                         if k == "paths"}
    assert load_spec(load_spec([api(predictor=predictor)]).resolved()).resolved()[0] == resolved


QUANTITIES = [  # (field, given, normalised)
    ("cpu", "200m", "200m"), ("cpu", 1, "1"), ("cpu", 0.5, "500m"), ("cpu", "1.5", "1500m"),
    ("cpu", "2000m", "2"), ("cpu", "0.1", "100m"), ("cpu", 2.0, "2"), ("cpu", "1e3", "1k"),
    ("cpu", "0.0201", "21m"), ("mem", "512Mi", "512Mi"), ("mem", "1Gi", "1Gi"), ("mem", "1024Mi", "1Gi"),
    ("mem", "2G", "2G"), ("mem", "1000M", "1G"), ("mem", "500000k", "500M"), ("mem", 1073741824, "1073741824"),
    ("mem", "1.5Gi", "1536Mi"), ("mem", " 64Mi ", "64Mi"), ("mem", "128e6", "128M"),
]


@pytest.mark.parametrize("field,given,expected", QUANTITIES)
def test_quantities_are_normalised(field, given, expected):
    spec = load_spec([api(compute={field: given})])
    assert getattr(spec.realtime[0].compute, field) == expected


DURATIONS = [("10s", 10.0, "10s"), ("1m", 60.0, "1m"), ("1m30s", 90.0, "90s"), ("0.5m", 30.0, "30s"),
             ("45m", 2700.0, "45m"), ("100ms", 0.1, "100ms"), ("1.5s", 1.5, "1.5s"), ("0", 0.0, "0s"),
             ("500us", 0.0005, "500us"), ("1.25ms", 0.00125, "1.25ms"), ("1h0m0s", 3600.0, "1h")]


@pytest.mark.parametrize("given,seconds,printed", DURATIONS)
def test_durations(given, seconds, printed):
    spec = load_spec([api(autoscaling={"downscale_stabilization_period": given})])
    auto = spec.realtime[0].autoscaling
    assert auto.downscale_stabilization_period == pytest.approx(seconds)
    assert spec.resolved()[0]["autoscaling"]["downscale_stabilization_period"] == printed


def test_batch_interval_duration():
    spec = load_spec([api(predictor={"server_side_batching": {"max_batch_size": 4, "batch_interval": "0.1s"}})])
    assert spec.realtime[0].predictor.server_side_batching.batch_interval == pytest.approx(0.1)


def test_spec_accessors():
    spec = load_spec([api(name="a"), api(name="b"), splitter(("a", 50), ("b", 50))])
    assert [a.name for a in spec.realtime] == ["a", "b"]
    assert isinstance(spec.get("a"), RealtimeAPI)
    with pytest.raises(KeyError):
        spec.get("zzz")


def test_spec_error_is_importable_from_the_package():
    with pytest.raises(SpecError):
        load_spec([])
