"""Document-level errors: the spec's shape, API kinds, rules across APIs (duplicate names, TrafficSplitter
targets), every problem reported at once, and file-backed checks (exact lines, paths escaping the project, a
folder without cortex.yaml). Value errors of a single field live in test_invalid_fields.py."""
from __future__ import annotations

import os

import pytest

from kserve_bridge.errors import SpecError
from kserve_bridge.spec import load_spec
from tests.spec.helpers import api, problems
from tests.spec.helpers import project as make_project

INVALID_DOCS = [  # (id, spec data, expected path fragment, message fragment)
    ("missing predictor", [{"name": "a", "kind": "RealtimeAPI"}], "apis[0](a).predictor", "is required"),
    ("batch kind", [{"name": "b", "kind": "BatchAPI"}], "apis[0](b).kind", "not supported on KServe, because"),
    ("async kind", [{"name": "a", "kind": "AsyncAPI"}], "apis[0](a).kind", "queue"),
    ("unknown kind", [{"name": "a", "kind": "RealTimeAPI"}], "apis[0](a).kind", "did you mean 'RealtimeAPI'"),
    ("no kind", [{"name": "a"}], "apis[0](a).kind", "kind is required"),
    ("list of strings", ["a", "b"], "apis[0]", "mapping"),
    ("splitter weights", [api(name="a"), {"name": "s", "kind": "TrafficSplitter",
                                          "apis": [{"name": "a", "weight": 90}]}], "apis[1](s).apis", "sum to 100"),
    ("two shadows", [api(name="a"), api(name="b"), api(name="c"),
                     {"name": "s", "kind": "TrafficSplitter", "apis": [
                         {"name": "a", "weight": 100}, {"name": "b", "weight": 1, "shadow": True},
                         {"name": "c", "weight": 1, "shadow": True}]}], "apis[3](s).apis[2].shadow", "at most one"),
    ("shadow without istio", [api(name="a"), api(name="b"),
                              {"name": "s", "kind": "TrafficSplitter", "kserve": {"istio": False}, "apis": [
                                  {"name": "a", "weight": 100}, {"name": "b", "weight": 5, "shadow": True}]}],
     "apis[2](s).apis[1].shadow", "istio"),
    ("grpc protobuf_path", [api(predictor={"protobuf_path": "api.proto"})], "apis[0](iris).predictor.protobuf_path",
     "not supported; use kserve.protocol: grpc-v2 with the Open Inference Protocol"),
    ("empty list", [], "", "no APIs"),
    ("scalar document", 42, "", "list of APIs"),
]


@pytest.mark.parametrize("data,path,message", [c[1:] for c in INVALID_DOCS], ids=[c[0] for c in INVALID_DOCS])
def test_invalid_spec_reports_path(data, path, message):
    rendered = problems(data)
    assert any(path in line and message.lower() in line.lower() for line in rendered), rendered


SPLIT = "apis[1](s)."
BAD_SPLITTERS = [  # (id, targets of splitter "s" next to RealtimeAPI "iris", expected path, message fragment)
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
    rendered = problems([api(), {"name": "s", "kind": "TrafficSplitter", "apis": targets}])
    assert any(f"{path}: " in line and message.lower() in line.lower() for line in rendered), rendered


def test_every_problem_is_reported_at_once():
    """A bad section hides neither other sections' rules nor other APIs' problems."""
    data = api(name="Bad_Name", predictor={"processes_per_replica": "two"}, compute={"cpu": "1m"},
               autoscaling={"min_replicas": 5, "max_replicas": 2, "target_replica_concurrency": 5000},
               update_strategy={"max_surge": 0, "max_unavailable": 0}, networking={"endpoint": "/"})
    with pytest.raises(SpecError) as info:
        load_spec([data, {"name": "s", "kind": "TrafficSplitter", "networking": {"endpoint": 5},
                          "apis": [{"name": "nope", "weight": 50}]},
                   {"name": "b", "kind": "BatchAPI"}, api(name="c", predictor={"typo": 1})])
    paths = {p.path for p in info.value.problems}
    assert {"apis[0](Bad_Name).name", "apis[0](Bad_Name).predictor.processes_per_replica",
            "apis[0](Bad_Name).compute.cpu", "apis[0](Bad_Name).autoscaling.min_replicas",
            "apis[0](Bad_Name).autoscaling.target_replica_concurrency", "apis[0](Bad_Name).update_strategy",
            "apis[0](Bad_Name).networking.endpoint", "apis[1](s).networking.endpoint", "apis[1](s).apis",
            "apis[1](s).apis[0].name", "apis[2](b).kind", "apis[3](c).predictor.typo"} <= paths, paths


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
    proj = make_project(tmp_path, SPEC_WITH_LINES)
    with pytest.raises(SpecError) as info:
        load_spec(proj)
    lines = [p.format() for p in info.value.problems]
    spec_file = str(proj / "cortex.yaml")
    assert f"{spec_file}:6: apis[0](iris).predictor.threads_per_proces: unknown field (did you mean " \
           "'threads_per_process'?)" in lines
    assert f"{spec_file}:11: apis[1](batch).kind: BatchAPI is not supported on KServe" in "\n".join(lines)


def test_field_errors_do_not_hide_cross_field_errors_of_other_apis(tmp_path):
    proj = make_project(tmp_path, SPEC_WITH_LINES.replace("threads_per_proces: 2", "threads_per_process: 2"))
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
        load_spec(make_project(tmp_path, text))
    assert any(p.path.endswith("models.path") and "escapes" in p.message for p in info.value.problems)


def test_directory_without_spec(tmp_path):
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path)
    assert "no cortex.yaml" in str(info.value)
