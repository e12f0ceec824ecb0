"""Issue 13, spec side: alias amplification, dependency files outside the project, symlink loops,
and values Kubernetes would refuse, each caught by `validate` with file, line and path."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kserve_bridge.errors import SpecError
from kserve_bridge.spec import load_spec
from tests.spec.helpers import api, problems, project

REPO = Path(__file__).resolve().parents[2]
MEMORY_CAP_MIB = 768  # the CLI validates a small spec in ~200 MiB of address space; main needed > 2 GiB here


def _alias_bomb(path: Path) -> Path:
    """0.6 MB: one 600 KB string referenced 4,000 times (2.4 GB once expanded)."""
    lines = ["- name: a", "  kind: RealtimeAPI", "  predictor:", "    type: python", "    path: predictor.py",
             "    config:", f'      big: &s "{"x" * 600_000}"', "      refs:"] + ["        - *s"] * 4000
    path.write_text("\n".join(lines) + "\n")
    return path


def test_alias_amplification_is_refused_within_a_memory_cap(tmp_path):
    spec = _alias_bomb(project(tmp_path, "") / "cortex.yaml")
    assert 0.6e6 < spec.stat().st_size < 0.7e6
    cap = MEMORY_CAP_MIB * 2**20
    code = (f"import resource, sys; resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap})); "
            "from kserve_bridge.cli import main; sys.exit(main(sys.argv[1:]))")
    for command in ("validate", "convert"):
        proc = subprocess.run([sys.executable, "-c", code, command, str(spec)], capture_output=True, text=True,
                              timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert "Traceback" not in proc.stderr and "MemoryError" not in proc.stderr
        assert f"{spec}:7: [0].predictor.config.refs[" in proc.stderr  # the line of the aliased value
        assert "aliases" in proc.stderr and proc.stdout == ""


def test_alias_amplification_in_plain_data_is_refused():
    big = "x" * 600_000
    found = problems([api(predictor={"config": {"refs": [big] * 4000}})])
    assert len(found) == 1 and "MiB of text" in found[0]


def test_text_below_the_bound_still_loads(tmp_path):
    text = "x" * 100_000
    spec = project(tmp_path, f"- name: a\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: predictor.py"
                             f"\n    config:\n      big: &s {text}\n      refs: [*s, *s, *s, *s, *s]\n")
    assert load_spec(spec).realtime[0].predictor.config["refs"] == [text] * 5


@pytest.mark.parametrize("field", ["pip", "shell", "conda"])
@pytest.mark.parametrize("rel,message", [("../evil.sh", "escapes the project directory"),
                                         ("/etc/passwd", "must be relative to the project directory"),
                                         ("link.sh", "escapes the project directory")])
def test_dependency_files_stay_inside_the_project(tmp_path, field, rel, message):
    root = tmp_path / "proj"
    root.mkdir()
    (tmp_path / "evil.sh").write_text("touch /tmp/pwned\n")
    (root / "link.sh").symlink_to(tmp_path / "evil.sh")
    spec = project(root, f"- name: a\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: predictor.py\n"
                         f"    dependencies:\n      {field}: {rel}\n")
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    assert [p.format() for p in info.value.problems] == [
        f"{spec / 'cortex.yaml'}:7: apis[0](a).predictor.dependencies.{field}: {message} (got \"{rel}\")"]


def test_predictor_path_and_dependencies_give_the_same_error(tmp_path):
    spec = project(tmp_path / "p", "- name: a\n  kind: RealtimeAPI\n  predictor:\n    type: python\n"
                                   "    path: ../evil.py\n    dependencies: {shell: ../evil.sh}\n")
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    assert {p.message for p in info.value.problems} == {"escapes the project directory"}


def test_symlink_loop_in_a_spec_path_is_a_problem(tmp_path):
    root = project(tmp_path, "- name: a\n  kind: RealtimeAPI\n  predictor: {type: python, path: loop.py}\n")
    (root / "loop.py").symlink_to(root / "loop2.py")
    (root / "loop2.py").symlink_to(root / "loop.py")
    found = problems_of(root)
    assert len(found) == 1 and "apis[0](a).predictor.path: is not a usable path" in found[0]


def problems_of(path: Path) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_spec(path)
    return [p.format() for p in info.value.problems]


P = "apis[0](iris)."
KUBE_BAD = [  # (id, overrides, problem path, message fragment)
    ("sa newline", {"kserve": {"service_account": "reader\n"}}, "kserve.service_account", "DNS-1123 subdomain"),
    ("sa upper", {"kserve": {"service_account": "Reader"}}, "kserve.service_account", "DNS-1123 subdomain"),
    ("sa space", {"kserve": {"service_account": "a b"}}, "kserve.service_account", "DNS-1123 subdomain"),
    ("runtime underscore", {"kserve": {"runtime": "my_runtime"}}, "kserve.runtime", "DNS-1123 subdomain"),
    ("runtime newline", {"kserve": {"runtime": "kserve-bridge\n"}}, "kserve.runtime", "DNS-1123 subdomain"),
    ("label key space", {"kserve": {"labels": {"team name": "a"}}}, "kserve.labels.team name", "label key"),
    ("label key prefix", {"kserve": {"labels": {"Bad_Prefix/x": "a"}}}, "kserve.labels.Bad_Prefix/x", "prefix"),
    ("label key long", {"kserve": {"labels": {"k" * 64: "a"}}}, "kserve.labels." + "k" * 64, "1 to 63"),
    ("label value newline", {"kserve": {"labels": {"team": "ml\n"}}}, "kserve.labels.team", "label value"),
    ("label value long", {"kserve": {"labels": {"team": "v" * 64}}}, "kserve.labels.team", "at most 63"),
    ("label value dash end", {"kserve": {"labels": {"team": "ml-"}}}, "kserve.labels.team", "label value"),
    ("annotation key", {"kserve": {"annotations": {"-bad": "x"}}}, "kserve.annotations.-bad", "annotation key"),
    ("annotations size", {"kserve": {"annotations": {"a": "x" * 300_000}}}, "kserve.annotations", "256 KiB"),
    ("image newline", {"predictor": {"image": "repo/img:1\nx"}}, "predictor.image", "newlines"),
    ("storage uri space", {"kserve": {"storage_uri": "s3://b/ p"}}, "kserve.storage_uri", "spaces"),
    ("name newline", {"name": "iris\n"}, "name", "DNS-1035"),
    ("env key newline", {"predictor": {"env": {"A\n": "1"}}}, "predictor.env.A\n", "valid variable name"),
    ("endpoint newline", {"networking": {"endpoint": "/x\n"}}, "networking.endpoint", "URL path"),
]


@pytest.mark.parametrize("overrides,path,fragment", [c[1:] for c in KUBE_BAD], ids=[c[0] for c in KUBE_BAD])
def test_values_kubernetes_would_refuse_fail_validate(overrides, path, fragment):
    found = problems([api(**overrides)])
    label = "apis[0]." if "name" in overrides else P
    assert any(f"{label}{path}: " in p and fragment in p for p in found), found


def test_values_kubernetes_accepts_pass():
    spec = load_spec([api(kserve={"service_account": "models.reader-1", "runtime": "my-runtime.v2",
                                  "labels": {"example.com/team": "ml_Ops.1", "empty": ""},
                                  "annotations": {"example.com/note": "any text\nat all"}},
                          predictor={"image": "registry.example.com:5000/img@sha256:" + "a" * 64})])
    assert spec.realtime[0].kserve.labels["empty"] == ""


def test_splitter_labels_checked_too():
    found = problems([api(), {"name": "s", "kind": "TrafficSplitter", "apis": [{"name": "iris", "weight": 100}],
                              "kserve": {"labels": {"a b": "c"}}}])
    assert any("apis[1](s).kserve.labels.a b" in p for p in found), found
