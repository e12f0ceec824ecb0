"""Tables of invalid specs, each paired with the error path it must produce (and line, from files)."""
from __future__ import annotations

import os

import pytest

from kserve_bridge.errors import SpecError
from kserve_bridge.spec import load_spec
from tests.spec.helpers import api, project

INVALID = [
    # (id, spec data, expected path fragment, message fragment)
    ("missing predictor", [{"name": "a", "kind": "RealtimeAPI"}], "apis[0](a).predictor", "is required"),
    ("bad type", [api(predictor={"type": "java"})], "apis[0](iris).predictor.type", "input should be"),
    ("misspelt key", [api(predictor={"confg": {}})], "apis[0](iris).predictor.confg", "did you mean 'config'"),
    ("misspelt top", [api(autoscalling={})], "apis[0](iris).autoscalling", "did you mean 'autoscaling'"),
    ("int as string", [api(autoscaling={"min_replicas": "1"})], "autoscaling.min_replicas", "valid integer"),
    ("huge int", [api(autoscaling={"max_replicas": 10**40})], "autoscaling.max_replicas", "less than or equal"),
    ("min > max", [api(autoscaling={"min_replicas": 5, "max_replicas": 2})], "autoscaling.min_replicas",
     "<= max_replicas"),
    ("init outside", [api(autoscaling={"min_replicas": 2, "init_replicas": 1})], "autoscaling.init_replicas",
     "between"),
    ("target > max conc", [api(autoscaling={"target_replica_concurrency": 20, "max_replica_concurrency": 10})],
     "autoscaling.target_replica_concurrency", "<= max_replica_concurrency"),
    ("window not multiple", [api(autoscaling={"window": "15s"})], "autoscaling.window", "multiple of 10s"),
    ("bad duration", [api(autoscaling={"window": "soon"})], "autoscaling.window", "duration"),
    ("downscale factor", [api(autoscaling={"max_downscale_factor": 1.0})], "autoscaling.max_downscale_factor",
     "less than 1"),
    ("upscale factor", [api(autoscaling={"max_upscale_factor": 1.0})], "autoscaling.max_upscale_factor",
     "greater than 1"),
    ("nan", [api(autoscaling={"upscale_tolerance": float("nan")})], "autoscaling.upscale_tolerance", "finite"),
    ("bad cpu", [api(compute={"cpu": "lots"})], "compute.cpu", "quantity"),
    ("tiny cpu", [api(compute={"cpu": "1m"})], "compute.cpu", "at least 20m"),
    ("tiny mem", [api(compute={"mem": "1Ki"})], "compute.mem", "at least 20Mi"),
    ("gpu and inf", [api(compute={"gpu": 1, "inf": 1})], "compute.inf", "both"),
    ("shm > mem", [api(compute={"mem": "1Gi"}, predictor={"shm_size": "2Gi"})], "predictor.shm_size", "<= compute.mem"),
    ("surge both zero", [api(update_strategy={"max_surge": 0, "max_unavailable": "0%"})], "update_strategy",
     "both be 0"),
    ("surge percent", [api(update_strategy={"max_surge": "150%"})], "update_strategy.max_surge", "percentage"),
    ("name upper", [api(name="Iris")], "apis[0](Iris).name", "DNS-1035"),
    ("name long", [api(name="a" * 64)], ".name", "at most 63"),
    ("duplicate names", [api(), api()], "apis[1](iris).name", "duplicate API name"),
    ("endpoint slash", [api(networking={"endpoint": "/"})], "networking.endpoint", "URL path"),
    ("endpoint chars", [api(networking={"endpoint": "/a b"})], "networking.endpoint", "URL path"),
    ("tf needs models", [api(predictor={"type": "tensorflow"})], "predictor.models", "required"),
    ("conflicting models", [api(predictor={"models": {"path": "a", "dir": "b"}})], "predictor.models",
     "exactly one"),
    ("no models chosen", [api(predictor={"models": {"signature_key": "x"}})], "predictor.models", "exactly one"),
    ("sig key on onnx", [api(predictor={"type": "onnx", "models": {"path": "m.onnx", "signature_key": "s"}})],
     "predictor.models.signature_key", "tensorflow predictors only"),
    ("dup model names", [api(predictor={"models": {"paths": [{"name": "a", "path": "x"}, {"name": "a", "path": "y"}]}})],
     "predictor.models.paths[1].name", "duplicate"),
    ("bad model name", [api(predictor={"models": {"paths": [{"name": "a b", "path": "x"}]}})],
     "predictor.models.paths[0].name", "pattern"),
    ("cache one only", [api(predictor={"models": {"dir": "d", "cache_size": 1}})], "predictor.models.cache_size",
     "both"),
    ("cache > disk", [api(predictor={"models": {"dir": "d", "cache_size": 3, "disk_cache_size": 2}})],
     "predictor.models.cache_size", "<= disk_cache_size"),
    ("cache with procs", [api(predictor={"processes_per_replica": 2, "models": {"dir": "d", "cache_size": 1,
                                                                             "disk_cache_size": 1}})],
     "predictor.processes_per_replica", "must be 1"),
    ("batch size", [api(predictor={"server_side_batching": {"max_batch_size": 0, "batch_interval": "1s"}})],
     "server_side_batching.max_batch_size", "greater than or equal to 1"),
    ("batch interval", [api(predictor={"server_side_batching": {"max_batch_size": 2, "batch_interval": "0s"}})],
     "server_side_batching.batch_interval", "greater than 0"),
    ("env reserved", [api(predictor={"env": {"CORTEX_X": "1"}})], "predictor.env.CORTEX_X", "not starting"),
    ("env value type", [api(predictor={"env": {"A": 1}})], "predictor.env.A", "valid string"),
    ("log level", [api(predictor={"log_level": "trace"})], "predictor.log_level", "input should be"),
    ("raw scale to zero", [api(autoscaling={"min_replicas": 0}, kserve={"deployment_mode": "raw"})],
     "autoscaling.min_replicas", "Serverless"),
    ("raw canary", [api(kserve={"deployment_mode": "raw", "canary_traffic_percent": 10})],
     "kserve.canary_traffic_percent", "Serverless"),
    ("canary range", [api(kserve={"canary_traffic_percent": 101})], "kserve.canary_traffic_percent", "less than"),
    ("bad mode", [api(kserve={"deployment_mode": "batch"})], "kserve.deployment_mode", "input should be"),
    ("cpu metric kpa", [api(kserve={"scale_metric": "cpu"})], "kserve.scale_metric", "autoscaler_class hpa"),
    ("batch kind", [{"name": "b", "kind": "BatchAPI"}], "apis[0](b).kind", "not supported on KServe, because"),
    ("task kind", [{"name": "t", "kind": "TaskAPI"}], "apis[0](t).kind", "Kubernetes Job"),
    ("async kind", [{"name": "a", "kind": "AsyncAPI"}], "apis[0](a).kind", "queue"),
    ("unknown kind", [{"name": "a", "kind": "RealTimeAPI"}], "apis[0](a).kind", "did you mean 'RealtimeAPI'"),
    ("no kind", [{"name": "a"}], "apis[0](a).kind", "kind is required"),
    ("list of strings", ["a", "b"], "apis[0]", "mapping"),
    ("splitter weights", [api(name="a"), {"name": "s", "kind": "TrafficSplitter", "apis": [{"name": "a", "weight": 90}]}],
     "apis[1](s).apis", "sum to 100"),
    ("splitter unknown api", [api(name="a"), {"name": "s", "kind": "TrafficSplitter",
                                              "apis": [{"name": "a", "weight": 50}, {"name": "z", "weight": 50}]}],
     "apis[1](s).apis[1].name", "names no RealtimeAPI"),
    ("two shadows", [api(name="a"), api(name="b"), api(name="c"),
                     {"name": "s", "kind": "TrafficSplitter", "apis": [
                         {"name": "a", "weight": 100}, {"name": "b", "weight": 1, "shadow": True},
                         {"name": "c", "weight": 1, "shadow": True}]}], "apis[3](s).apis[2].shadow", "at most one"),
    ("shadow without istio", [api(name="a"), api(name="b"),
                              {"name": "s", "kind": "TrafficSplitter", "kserve": {"istio": False}, "apis": [
                                  {"name": "a", "weight": 100}, {"name": "b", "weight": 5, "shadow": True}]}],
     "apis[2](s).apis[1].shadow", "istio"),
    ("empty list", [], "", "no APIs"),
    ("scalar document", 42, "", "list of APIs"),
]


@pytest.mark.parametrize("data,path,message", [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_spec_reports_path(data, path, message):
    with pytest.raises(SpecError) as info:
        load_spec(data)
    rendered = [p.format() for p in info.value.problems]
    assert any(path in line and message.lower() in line.lower() for line in rendered), rendered


def test_every_problem_is_reported_at_once():
    data = [api(name="A", autoscaling={"min_replicas": 3, "max_replicas": 1}, compute={"cpu": "1m"}),
            {"name": "b", "kind": "BatchAPI"}, api(name="c", predictor={"typo": 1})]
    with pytest.raises(SpecError) as info:
        load_spec(data)
    paths = {p.path for p in info.value.problems}
    assert {"apis[0](A).name", "apis[0](A).autoscaling.min_replicas", "apis[0](A).compute.cpu",
            "apis[1](b).kind", "apis[2](c).predictor.typo"} <= paths


SPEC_WITH_LINES = """\
- name: iris
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    threads_per_proces: 2
  autoscaling:
    min_replicas: 4
    max_replicas: 2
- name: batch
  kind: BatchAPI
"""


def test_problems_carry_file_and_line(tmp_path):
    proj = project(tmp_path, SPEC_WITH_LINES)
    with pytest.raises(SpecError) as info:
        load_spec(proj)
    lines = [p.format() for p in info.value.problems]
    spec_file = str(proj / "cortex.yaml")
    assert f"{spec_file}:6: apis[0](iris).predictor.threads_per_proces: unknown field (did you mean " \
           "'threads_per_process'?)" in lines
    assert f"{spec_file}:11: apis[1](batch).kind: BatchAPI is not supported on KServe" in "\n".join(lines)


def test_field_errors_do_not_hide_cross_field_errors_of_other_apis(tmp_path):
    proj = project(tmp_path, SPEC_WITH_LINES.replace("threads_per_proces: 2", "threads_per_process: 2"))
    with pytest.raises(SpecError) as info:
        load_spec(proj)
    assert any(p.line == 8 and p.path.endswith("autoscaling.min_replicas") for p in info.value.problems)


@pytest.mark.parametrize("rel,message", [("../outside.py", "escapes the project"),
                                         ("/etc/passwd", "relative to the project"),
                                         ("missing.py", "file not found"),
                                         ("link.py", "escapes the project")])
def test_predictor_path_stays_in_project(tmp_path, rel, message):
    proj = tmp_path / "proj"
    proj.mkdir()
    (tmp_path / "outside.py").write_text("x = 1\n")
    os.symlink(tmp_path / "outside.py", proj / "link.py")
    (proj / "cortex.yaml").write_text(f"- name: a\n  kind: RealtimeAPI\n  predictor:\n    type: python\n"
                                      f"    path: {rel}\n")
    with pytest.raises(SpecError) as info:
        load_spec(proj)
    assert any("predictor.path" in p.path and message in p.message for p in info.value.problems)


def test_model_path_escape_rejected(tmp_path):
    text = ("- name: a\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: predictor.py\n"
            "    models:\n      path: ../../etc\n")
    with pytest.raises(SpecError) as info:
        load_spec(project(tmp_path, text))
    assert any(p.path.endswith("models.path") and "escapes" in p.message for p in info.value.problems)


def test_directory_without_spec(tmp_path):
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path)
    assert "no cortex.yaml" in str(info.value)
