"""Property tests beyond test_hostile_input: hostile YAML *text* mutations (anchors, merge keys, tabs,
BOMs, NULs, huge numbers), exotic Python values, and the CLI as a subprocess. Only success or
SpecError may come out; the CLI only exits 0 or 2 and never prints a traceback."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kserve_bridge.errors import SpecError
from kserve_bridge.spec import load_spec
from kserve_bridge.spec.units import format_duration, parse_duration
from tests.spec.helpers import api, assert_handled_cleanly, run_cli

SEED = """\
- &base
  name: iris
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    config: {a: [1, 2], b: {c: d}}
    env: {A: "1"}
  compute: {cpu: 200m, mem: 1Gi}
  autoscaling: {min_replicas: 1, max_replicas: 3, window: 60s}
- <<: *base
  name: iris-b
- name: split
  kind: TrafficSplitter
  apis: [{name: iris, weight: 50}, {name: iris-b, weight: 50}]
"""
FRAGMENTS = ["\t", "\ufeff", "\x00", "&x ", "*x", "*base", "<<: *base\n", "<<: [*base, *base]\n", "? ", ": ",
             "- ", "[", "]", "{", "}", "!!binary ", "!!python/object:os.system ", "!!set ", "%YAML 1.1\n",
             "---\n", "...\n", "9" * 5000, "0x" + "f" * 3000, ".nan", "-.inf", "1e999", "~", "'", '"', "|\n",
             "\\u0000", "a" * 20000, "\n  ", "#", "\r\n", "\u2028", "é", "\ud800"]


@st.composite
def mutated_text(draw) -> str:
    text = SEED
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:pos] + draw(st.sampled_from(FRAGMENTS)) + text[pos:]
        else:
            text = text[:pos] + text[pos + draw(st.integers(1, 20)):]
    return text


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutated_text())
def test_mutated_yaml_text(project, text):
    path = project / "cortex.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    assert_handled_cleanly(path)


def test_unmutated_seed_is_valid(project):
    (project / "cortex.yaml").write_text(SEED)
    spec = load_spec(project)
    assert [a.name for a in spec.apis] == ["iris", "iris-b", "split"]
    merged = spec.get("iris-b")  # from `<<: *base`: everything but the name comes from the anchor
    assert merged.predictor.config == {"a": [1, 2], "b": {"c": "d"}} and merged.compute.mem == "1Gi"
    assert merged.endpoint == "/iris-b"


HUGE_INT = st.integers(-1, 1).map(lambda sign: (sign or 1) * 10**5000)  # beyond str()'s 4300-digit limit
EXOTIC = HUGE_INT | st.sampled_from([float("nan"), float("inf"), -0.0, b"\x00bytes", {1, 2},
                          (1, 2), frozenset(), object(), None, True, "", "\x00", "a" * 100000, 2**63, 1.5e308])
KEYS = st.text(max_size=8) | st.integers() | st.none() | HUGE_INT | st.just(("t",)) | st.floats()
VALUES = st.recursive(EXOTIC | st.text(max_size=10) | st.integers(),
                      lambda kids: st.lists(kids, max_size=3) | st.dictionaries(KEYS, kids, max_size=3), max_leaves=12)
SECTIONS = ["name", "kind", "predictor", "networking", "compute", "autoscaling", "update_strategy", "kserve",
            "monitoring", "zzz"]
PREDICTOR_FIELDS = ["type", "path", "models", "model_path", "signature_key", "multi_model_reloading", "config",
                    "env", "server_side_batching", "processes_per_replica", "shm_size", "python_path"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SECTIONS), st.sampled_from(PREDICTOR_FIELDS), VALUES, VALUES)
def test_exotic_python_values(section, field, top_value, predictor_value):
    data = api()
    data[section] = top_value
    if isinstance(data.get("predictor"), dict):
        data["predictor"][field] = predictor_value
    try:
        spec = load_spec([data])
    except SpecError as exc:
        assert exc.problems and all(p.format() for p in exc.problems)
    else:
        spec.resolved()


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=0, max_value=9e9, allow_nan=False))
def test_durations_print_and_parse_back(seconds):
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("text", ["", "[]", "- name: a\n  kind: BatchAPI\n", "\x00\x01", "- &a [*a]\n"])
def test_cli_subprocess_exits_2_without_traceback(tmp_path, text):
    path = tmp_path / "cortex.yaml"
    path.write_text(text)
    proc = subprocess.run([sys.executable, "-m", "kserve_bridge", "validate", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and str(path) in proc.stderr


def test_cli_subprocess_missing_directory(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "kserve_bridge", "validate", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "no cortex.yaml" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("field,target,kind", [("python_path", "outside_dir", "dir"),
                                               ("models.dir", "outside_dir", "dir"),
                                               ("predictor", "outside.py", "file")])
def test_symlinks_escaping_the_project(tmp_path, field, target, kind):
    outside = tmp_path / "outside"
    (outside / "outside_dir").mkdir(parents=True)
    (outside / "outside.py").write_text("x = 1\n")
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "predictor.py").write_text("x = 1\n")
    Path(proj / "link").symlink_to(outside / target, target_is_directory=kind == "dir")
    predictor = {"type": "python", "path": "predictor.py"}
    if field == "python_path":
        predictor["python_path"] = "link"
    elif field == "models.dir":
        predictor["models"] = {"dir": "link"}
    else:
        predictor["path"] = "link"
    with pytest.raises(SpecError) as info:
        load_spec([api(predictor=predictor)], project_dir=proj)
    assert any("escapes the project" in p.message for p in info.value.problems), info.value


def test_show_resolved_prints_every_default(project):
    (project / "cortex.yaml").write_text("- name: iris\n  kind: RealtimeAPI\n  predictor: {type: python, "
                                         "path: predictor.py}\n")
    code, output = run_cli(["validate", "--show-resolved", str(project)])
    assert code == 0
    for text in ("init_replicas: 1", "target_replica_concurrency: 1.0", "window: 1m", "cpu: 200m",
                 "endpoint: /iris", "max_surge: 25%", "deployment_mode: Serverless", "log_level: info"):
        assert text in output
    assert load_spec(__import__("yaml").safe_load(output)).resolved() == load_spec(project).resolved()


def test_summary_line_per_api(project):
    (project / "cortex.yaml").write_text(SEED)
    code, output = run_cli(["validate", str(project)])
    assert code == 0
    lines = output.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("ok") for line in lines)
    assert "iris-b" in lines[1] and "TrafficSplitter" in lines[2]


@pytest.mark.parametrize("arg", ["x\x00y", "a" * 5000, "/dev/zero", "does/not/exist.yaml"])
def test_unusable_spec_paths(arg):
    code, output = run_cli(["validate", arg])
    assert code == 2 and "Traceback" not in output
    assert "cannot read spec" in output or "larger than" in output


@pytest.mark.parametrize("rel", ["a\x00b.py", "loop1", "d/" * 2100 + "p.py"])
def test_unusable_predictor_paths(project, rel):
    (project / "loop1").symlink_to(project / "loop2")
    (project / "loop2").symlink_to(project / "loop1")
    with pytest.raises(SpecError) as info:
        load_spec([api(predictor={"path": rel})], project_dir=project)
    assert any(p.path.endswith("predictor.path") for p in info.value.problems)
