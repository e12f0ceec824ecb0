"""More invalid-spec tables: one case per field rule not covered in test_invalid_specs.py, and a table
of YAML files where each problem must point at its exact line."""
from __future__ import annotations

import pytest

from kserve_bridge.errors import SpecError
from kserve_bridge.spec import load_spec
from tests.spec.helpers import api

P = "apis[0](iris)."
BAD_FIELDS = [  # (id, API overrides, expected path, message fragment)
    ("no predictor path", {"predictor": {"path": None}}, P + "predictor.path", "is required"),
    ("empty predictor path", {"predictor": {"path": ""}}, P + "predictor.path", "at least 1"),
    ("predictor not .py", {"predictor": {"path": "predictor.txt"}}, P + "predictor.path", ".py"),
    ("processes > 100", {"predictor": {"processes_per_replica": 101}}, P + "predictor.processes_per_replica",
     "less than or equal to 100"),
    ("threads 0", {"predictor": {"threads_per_process": 0}}, P + "predictor.threads_per_process", "greater"),
    ("bool as int", {"predictor": {"threads_per_process": True}}, P + "predictor.threads_per_process", "integer"),
    ("float as int", {"autoscaling": {"max_replicas": 2.5}}, P + "autoscaling.max_replicas", "integer"),
    ("batching no interval", {"predictor": {"server_side_batching": {"max_batch_size": 2}}},
     P + "predictor.server_side_batching.batch_interval", "required"),
    ("batch interval number", {"predictor": {"server_side_batching": {"max_batch_size": 2, "batch_interval": 1}}},
     P + "predictor.server_side_batching.batch_interval", "duration"),
    ("batch size > 1024", {"predictor": {"server_side_batching": {"max_batch_size": 2000, "batch_interval": "1s"}}},
     P + "predictor.server_side_batching.max_batch_size", "1024"),
    ("empty paths", {"predictor": {"models": {"paths": []}}}, P + "predictor.models.paths", "at least 1"),
    ("reserved model name", {"predictor": {"models": {"paths": [{"name": "_cortex_default", "path": "s3://b/m"}]}}},
     P + "predictor.models.paths[0].name", "reserved"),
    ("model without path", {"predictor": {"models": {"paths": [{"name": "a"}]}}},
     P + "predictor.models.paths[0].path", "required"),
    ("legacy signature_key on python", {"predictor": {"model_path": "s3://b/m", "signature_key": "k"}},
     P + "predictor.models.signature_key", "tensorflow predictors only"),
    ("cache on single path", {"predictor": {"models": {"path": "s3://b/m", "cache_size": 1, "disk_cache_size": 1}}},
     P + "predictor.models.cache_size", "several models"),
    ("cache 0", {"predictor": {"models": {"dir": "s3://b", "cache_size": 0, "disk_cache_size": 1}}},
     P + "predictor.models.cache_size", "greater than 0"),
    ("python_path dot", {"predictor": {"python_path": "./"}}, P + "predictor.python_path", "sub-folder"),
    ("env bad name", {"predictor": {"env": {"1A": "x"}}}, P + "predictor.env.1A", "valid variable name"),
    ("env bridge prefix", {"predictor": {"env": {"KSERVE_BRIDGE_X": "x"}}}, P + "predictor.env.KSERVE_BRIDGE_X",
     "not starting"),
    ("config not a map", {"predictor": {"config": [1]}}, P + "predictor.config", "dictionary"),
    ("config nan", {"predictor": {"config": {"a": [float("nan")]}}}, P + "predictor.config", "NaN or infinite"),
    ("config object", {"predictor": {"config": {"a": {"b": object()}}}}, P + "predictor.config",
     "found object at a.b"),
    ("config set", {"predictor": {"config": {"s": {1}}}}, P + "predictor.config", "found set at s"),
    ("shm not quantity", {"predictor": {"shm_size": "big"}}, P + "predictor.shm_size", "quantity"),
    ("cpu negative", {"compute": {"cpu": "-1"}}, P + "compute.cpu", "negative"),
    ("cpu bad suffix", {"compute": {"cpu": "1Zi"}}, P + "compute.cpu", "quantity"),
    ("cpu two dots", {"compute": {"cpu": "1.5.5"}}, P + "compute.cpu", "quantity"),
    ("mem absurd", {"compute": {"mem": "1e99"}}, P + "compute.mem", "out of range"),
    ("gpu negative", {"compute": {"gpu": -1}}, P + "compute.gpu", "greater than or equal to 0"),
    ("inf > 1", {"compute": {"inf": 2}}, P + "compute.inf", "at most 1"),
    ("compute unknown", {"compute": {"memory": "1Gi"}}, P + "compute.memory", "did you mean 'mem'"),
    ("window 5s", {"autoscaling": {"window": "5s"}}, P + "autoscaling.window", "between 10s and 1h"),
    ("window 2h", {"autoscaling": {"window": "2h"}}, P + "autoscaling.window", "between 10s and 1h"),
    ("stabilisation 2h", {"autoscaling": {"downscale_stabilization_period": "2h"}},
     P + "autoscaling.downscale_stabilization_period", "at most 1h"),
    ("duration garbage", {"autoscaling": {"upscale_stabilization_period": "1x"}},
     P + "autoscaling.upscale_stabilization_period", "duration"),
    ("duration too long", {"autoscaling": {"upscale_stabilization_period": "9999999999h"}},
     P + "autoscaling.upscale_stabilization_period", "largest duration"),
    ("target 0", {"autoscaling": {"target_replica_concurrency": 0}}, P + "autoscaling.target_replica_concurrency",
     "greater than 0"),
    ("max conc 0", {"autoscaling": {"max_replica_concurrency": 0}}, P + "autoscaling.max_replica_concurrency",
     "greater than or equal to 1"),
    ("init > max", {"autoscaling": {"max_replicas": 2, "init_replicas": 3}}, P + "autoscaling.init_replicas",
     "between"),
    ("tolerance 1", {"autoscaling": {"downscale_tolerance": 1}}, P + "autoscaling.downscale_tolerance", "less than 1"),
    ("inf tolerance", {"autoscaling": {"upscale_tolerance": float("inf")}}, P + "autoscaling.upscale_tolerance",
     "finite"),
    ("unavailable negative", {"update_strategy": {"max_unavailable": -1}}, P + "update_strategy.max_unavailable",
     "non-negative"),
    ("surge bool", {"update_strategy": {"max_surge": True}}, P + "update_strategy.max_surge", "non-negative"),
    ("monitoring type", {"monitoring": {"model_type": "ranking"}}, P + "monitoring.model_type", "input should be"),
    ("api_gateway", {"networking": {"api_gateway": "private"}}, P + "networking.api_gateway", "input should be"),
    ("local_port", {"networking": {"local_port": 70000}}, P + "networking.local_port", "65535"),
    ("endpoint double slash", {"networking": {"endpoint": "/a//b"}}, P + "networking.endpoint", "'//'"),
    ("endpoint too long", {"networking": {"endpoint": "/" + "a" * 1001}}, P + "networking.endpoint", "at most 1000"),
    ("protocol", {"kserve": {"protocol": "v3"}}, P + "kserve.protocol", "input should be"),
    ("timeout", {"kserve": {"timeout": 0}}, P + "kserve.timeout", "greater than or equal to 1"),
    ("keda serverless", {"kserve": {"autoscaler_class": "keda"}}, P + "kserve.autoscaler_class", "RawDeployment"),
    ("kpa raw", {"kserve": {"deployment_mode": "raw", "autoscaler_class": "kpa"}}, P + "kserve.autoscaler_class",
     "Serverless"),
    ("rps with hpa", {"kserve": {"autoscaler_class": "hpa", "scale_metric": "rps"}}, P + "kserve.scale_metric",
     "cpu or memory"),
    ("labels not strings", {"kserve": {"labels": {"a": 1}}}, P + "kserve.labels.a", "valid string"),
    ("kserve misspelt", {"kserve": {"deploymentMode": "raw"}}, P + "kserve.deploymentMode", "did you mean"),
    ("name starts with digit", {"name": "1iris"}, "apis[0](1iris).name", "DNS-1035"),
    ("name empty", {"name": ""}, "apis[0].name", "required"),
    ("name not string", {"name": ["x"]}, "apis[0].name", "string"),
]


@pytest.mark.parametrize("overrides,path,message", [c[1:] for c in BAD_FIELDS], ids=[c[0] for c in BAD_FIELDS])
def test_bad_field(overrides, path, message):
    data = api(**overrides)
    data["predictor"] = {k: v for k, v in data["predictor"].items() if v is not None}
    with pytest.raises(SpecError) as info:
        load_spec([data])
    rendered = [p.format() for p in info.value.problems]
    assert any(f"{path}: " in line and message.lower() in line.lower() for line in rendered), rendered


SPLIT = "apis[1](s)."
BAD_SPLITTERS = [
    ("weight > 100", [{"name": "iris", "weight": 101}], SPLIT + "apis[0].weight", "less than or equal to 100"),
    ("shadow not bool", [{"name": "iris", "weight": 100, "shadow": "yes"}], SPLIT + "apis[0].shadow", "boolean"),
    ("empty apis", [], SPLIT + "apis", "at least 1"),
    ("listed twice", [{"name": "iris", "weight": 50}, {"name": "iris", "weight": 50}], SPLIT + "apis[1].name",
     "listed twice"),
    ("only shadow", [{"name": "iris", "weight": 100, "shadow": True}], SPLIT + "apis", "non-shadow"),
    ("unknown field", [{"name": "iris", "weigth": 100}], SPLIT + "apis[0].weigth", "did you mean 'weight'"),
    ("splitter to splitter", [{"name": "s", "weight": 100}], SPLIT + "apis[0].name", "names no RealtimeAPI"),
]


@pytest.mark.parametrize("targets,path,message", [c[1:] for c in BAD_SPLITTERS], ids=[c[0] for c in BAD_SPLITTERS])
def test_bad_splitter(targets, path, message):
    with pytest.raises(SpecError) as info:
        load_spec([api(), {"name": "s", "kind": "TrafficSplitter", "apis": targets}])
    rendered = [p.format() for p in info.value.problems]
    assert any(f"{path}: " in line and message.lower() in line.lower() for line in rendered), rendered


def test_bad_section_does_not_hide_rules_of_other_sections():
    data = api(name="Bad_Name", predictor={"processes_per_replica": "two"}, compute={"cpu": "1m"},
               autoscaling={"min_replicas": 5, "max_replicas": 2, "target_replica_concurrency": 5000},
               update_strategy={"max_surge": 0, "max_unavailable": 0}, networking={"endpoint": "/"})
    with pytest.raises(SpecError) as info:
        load_spec([data, {"name": "s", "kind": "TrafficSplitter", "networking": {"endpoint": 5},
                          "apis": [{"name": "nope", "weight": 50}]}])
    paths = {p.path for p in info.value.problems}
    assert {"apis[0](Bad_Name).name", "apis[0](Bad_Name).predictor.processes_per_replica",
            "apis[0](Bad_Name).compute.cpu", "apis[0](Bad_Name).autoscaling.min_replicas",
            "apis[0](Bad_Name).autoscaling.target_replica_concurrency", "apis[0](Bad_Name).update_strategy",
            "apis[0](Bad_Name).networking.endpoint", "apis[1](s).networking.endpoint", "apis[1](s).apis",
            "apis[1](s).apis[0].name"} <= paths, paths


# (YAML text, [(line, path, message fragment), ...]): every problem at its own line.
FILES = {
    "nested fields": ("""\
- name: iris
  kind: RealtimeAPI
  predictor:
    type: pythn
    path: predictor.py
    models:
      paths:
        - name: a
          path: s3://b/a
        - name: a
          path: s3://b/b
  compute:
    cpu: lots
  autoscaling:
    min_replicas: 4
    max_replicas: 2
""", [(4, "apis[0](iris).predictor.type", "input should be"), (13, "apis[0](iris).compute.cpu", "quantity"),
      (15, "apis[0](iris).autoscaling.min_replicas", "<= max_replicas")]),
    "second API and splitter": ("""\
- name: a
  kind: RealtimeAPI
  predictor: {type: python, path: predictor.py}
- name: a
  kind: RealtimeAPI
  predictor: {type: python, path: predictor.py, threads_per_process: 0}
- name: s
  kind: TrafficSplitter
  apis:
    - name: a
      weight: 60
    - name: ghost
      weight: 30
""", [(4, "apis[1](a).name", "duplicate API name"), (6, "apis[1](a).predictor.threads_per_process", "greater"),
      (9, "apis[2](s).apis", "sum to 100"), (12, "apis[2](s).apis[1].name", "names no RealtimeAPI")]),
    "single mapping": ("""\
name: iris
kind: RealtimeAPI
predictor:
  type: python
  path: predictor.py
  env:
    CORTEX_X: "1"
networking:
  endpoint: /a b
""", [(7, "apis[0](iris).predictor.env.CORTEX_X", "not starting"),
      (9, "apis[0](iris).networking.endpoint", "URL path")]),
    "kinds": ("""\
- name: b
  kind: BatchAPI
- name: t
  kind: TaskAPI
- name: x
  kind: AsyncApi
""", [(2, "apis[0](b).kind", "Kubernetes Job"), (4, "apis[1](t).kind", "Kubernetes Job"),
      (6, "apis[2](x).kind", "did you mean 'AsyncAPI'")]),
    "huge int": ("- name: a\n  kind: RealtimeAPI\n  predictor: {type: python, path: predictor.py}\n"
                 "  autoscaling:\n    max_replicas: " + "9" * 5000 + "\n",
                 [(5, "apis[0](a).autoscaling.max_replicas", "valid integer")]),
}


@pytest.mark.parametrize("text,expected", FILES.values(), ids=FILES.keys())
def test_file_problems_point_at_lines(project, text, expected):
    (project / "cortex.yaml").write_text(text)
    with pytest.raises(SpecError) as info:
        load_spec(project)
    found = {(p.line, p.path): p.format() for p in info.value.problems}
    for line, path, message in expected:
        assert (line, path) in found, found
        assert message.lower() in found[(line, path)].lower()
        assert found[(line, path)].startswith(f"{project / 'cortex.yaml'}:{line}: {path}: ")
