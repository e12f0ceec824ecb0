"""Issue 13, translation and package side: request timeout, health probes (also with a custom image),
pod hardening, .env as a Secret (never bundled, never printed) and symlink loops."""
from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from kserve_bridge.cli import main
from kserve_bridge.contract import ServerSettings
from kserve_bridge.errors import BridgeError
from kserve_bridge.package import package_project
from kserve_bridge.spec import load_spec
from kserve_bridge.translator import explain, translate
from tests.translate.specs import api

REPO = Path(__file__).resolve().parents[2]
SECRET_VALUE = "sk-live-0123456789abcdef"


def predictor_of(spec, **options) -> dict:
    return translate(spec, **options)[0]["spec"]["predictor"]


def container_of(predictor: dict) -> dict:
    return predictor["containers"][0] if "containers" in predictor else predictor["model"]


@pytest.mark.parametrize("kserve,seconds", [({}, 300), ({"request_timeout": 30}, 30), ({"timeout": 45}, 45)],
                         ids=["default", "request_timeout", "older spelling"])
def test_request_timeout_reaches_knative_and_the_server(kserve, seconds):
    spec = [api(kserve=kserve)]
    predictor = predictor_of(spec)
    assert predictor["timeout"] == seconds
    settings = ServerSettings.from_env({e["name"]: e["value"] for e in container_of(predictor)["env"]})
    assert settings.request_timeout == seconds
    assert ServerSettings.from_api(load_spec(spec).realtime[0]).request_timeout == seconds


def test_both_spellings_of_the_timeout_is_an_error(capsys):
    from kserve_bridge.errors import SpecError
    with pytest.raises(SpecError, match="set request_timeout only"):
        load_spec([api(kserve={"timeout": 10, "request_timeout": 20})])


@pytest.mark.parametrize("image", [None, "registry.example.com/custom:1"], ids=["runtime", "custom image"])
@pytest.mark.parametrize("restricted", [True, False])
def test_every_pod_gets_health_probes(image, restricted):
    container = container_of(predictor_of([api(kserve={"restricted_security": restricted})], image=image))
    for probe, path in (("livenessProbe", "/healthz"), ("startupProbe", "/healthz"), ("readinessProbe", "/readyz")):
        assert container[probe]["httpGet"] == {"path": path, "port": 8080, "scheme": "HTTP"}, probe
        assert container[probe]["periodSeconds"] > 0 and container[probe]["failureThreshold"] >= 1
    assert container["startupProbe"]["periodSeconds"] * container["startupProbe"]["failureThreshold"] >= 600
    if image:
        assert container["ports"] == [{"name": "http1", "containerPort": 8080, "protocol": "TCP"}]  # = probe port


def test_predictor_image_gets_probes_too():
    container = container_of(predictor_of([api(predictor={"image": "img:2"})]))
    assert container["image"] == "img:2" and container["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_pod_hardening_by_default():
    predictor = predictor_of([api()])
    container = container_of(predictor)
    assert predictor["automountServiceAccountToken"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"name": "kserve-bridge-tmp", "emptyDir": {}} in predictor["volumes"]
    assert {"name": "kserve-bridge-tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["HOME"] == "/tmp" and env["KSERVE_BRIDGE_PACKAGES_DIR"].startswith("/tmp/")


def test_scratch_size_limits_the_tmp_volume_and_is_validated(capsys, tmp_path: Path):
    predictor = predictor_of([api(kserve={"scratch_size": "2Gi"})])
    assert {"name": "kserve-bridge-tmp", "emptyDir": {"sizeLimit": "2Gi"}} in predictor["volumes"]
    spec = tmp_path / "cortex.yaml"
    spec.write_text("- name: api\n  kind: RealtimeAPI\n  predictor: {type: python, path: predictor.py}\n"
                    "  kserve: {scratch_size: 2Gi, restricted_security: false}\n"
                    "- name: other\n  kind: RealtimeAPI\n  predictor: {type: python, path: predictor.py}\n"
                    "  kserve: {scratch_size: lots}\n")
    (tmp_path / "predictor.py").write_text("class PythonPredictor:\n    def __init__(self, config):\n        pass\n"
                                           "    def predict(self, payload):\n        return payload\n")
    assert main(["validate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "(api).kserve.scratch_size" in err and "restricted_security false" in err
    assert "(other).kserve.scratch_size" in err and 'got "lots"' in err


def test_token_only_when_asked_and_user_env_wins():
    predictor = predictor_of([api(kserve={"service_account": "sa", "service_account_token": True},
                                  predictor={"env": {"HOME": "/tmp/me"}})])
    assert "automountServiceAccountToken" not in predictor  # Knative accepts only `false` here
    assert {e["name"]: e["value"] for e in container_of(predictor)["env"]}["HOME"] == "/tmp/me"


def test_unrestricted_pods_keep_a_writable_root():
    predictor = predictor_of([api(kserve={"restricted_security": False})])
    container = container_of(predictor)
    assert "securityContext" not in container
    scratch = "kserve-bridge-tmp"  # the only volume besides the shadow ConfigMap that every pod mounts
    assert scratch not in {v["name"] for v in predictor.get("volumes", [])}
    assert scratch not in {m["name"] for m in container.get("volumeMounts", [])}
    assert "KSERVE_BRIDGE_PACKAGES_DIR" not in {e["name"] for e in container["env"]}


@pytest.fixture
def env_project(project: Path) -> Path:
    (project / ".env").write_text(f"API_KEY={SECRET_VALUE}\nOTHER='quoted {SECRET_VALUE}'\n")
    return project


def test_dotenv_becomes_an_env_from_secret_and_never_appears(env_project: Path, capsys, tmp_path: Path):
    assert main(["convert", str(env_project), "--namespace", "team-a"]) == 0
    out, err = capsys.readouterr()
    (obj,) = yaml.safe_load_all(out)
    assert obj["spec"]["predictor"]["model"]["envFrom"] == [{"secretRef": {"name": "demo-dotenv"}}]
    assert "kubectl create secret generic demo-dotenv --from-env-file=" in err and "-n team-a" in err
    assert main(["convert", "--explain", str(env_project)]) == 0
    explained = capsys.readouterr().out
    assert "envFrom Secret demo-dotenv" in explained
    assert main(["convert", str(env_project), "-o", str(tmp_path / "out")]) == 0
    written = "".join(p.read_text() for p in (tmp_path / "out").iterdir())
    everything = out + err + explained + written + "".join(capsys.readouterr())
    assert SECRET_VALUE not in everything


def test_no_dotenv_no_env_from(project: Path, capsys):
    assert main(["convert", str(project)]) == 0
    out, err = capsys.readouterr()
    assert "envFrom" not in out and "secret" not in err.lower()


def test_package_leaves_dotenv_out_and_says_so(env_project: Path, tmp_path: Path, capsys):
    (env_project / "sub").mkdir()
    (env_project / "sub" / ".env").write_text(f"X={SECRET_VALUE}\n")
    assert main(["package", str(env_project), "-o", str(tmp_path / "dist")]) == 0
    out, err = capsys.readouterr()
    with tarfile.open(out.strip()) as tar:
        names = tar.getnames()
        contents = b"".join(tar.extractfile(m).read() for m in tar.getmembers() if m.isfile())
    assert ".env" not in names and "sub/.env" not in names and "predictor.py" in names
    assert SECRET_VALUE.encode() not in contents
    assert "note: .env left out of the bundle" in err and "note: sub/.env left out" in err


def test_dotenv_does_not_change_the_bundle(project: Path, tmp_path: Path):
    before = package_project(project, tmp_path / "a").read_bytes()
    (project / ".env").write_text(f"API_KEY={SECRET_VALUE}\n")
    assert package_project(project, tmp_path / "b").read_bytes() == before


@pytest.mark.parametrize("command", ["package", "convert"])
def test_symlink_loop_is_a_clean_error_naming_the_link(project: Path, command: str, tmp_path: Path):
    (project / "model" / "loop-a").symlink_to("loop-b")
    (project / "model" / "loop-b").symlink_to("loop-a")
    argv = [command, str(project)] + (["-o", str(tmp_path / "dist")] if command == "package" else [])
    proc = subprocess.run([sys.executable, "-m", "kserve_bridge", *argv], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "error: model/loop-a is a symbolic link that cannot be followed (it loops back on itself)" in proc.stderr


def test_symlink_loop_through_the_python_api(project: Path):
    (project / "self").symlink_to("self")
    with pytest.raises(BridgeError, match="self is a symbolic link"):
        translate(project)
    with pytest.raises(BridgeError, match="self is a symbolic link"):
        explain(project)


@pytest.mark.parametrize("namespace", ["Team A", "team-a\n", "-x", "a" * 64])
def test_namespace_kubernetes_would_refuse_is_a_clean_error(project: Path, namespace: str, capsys):
    assert main(["convert", str(project), f"--namespace={namespace}"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "error: namespace" in err and "DNS-1123 label" in err


def test_explain_warns_about_knatives_timeout_ceiling():
    assert "max-revision-timeout-seconds" in explain([api(kserve={"request_timeout": 900})])
    assert "max-revision-timeout-seconds" not in explain([api(kserve={"request_timeout": 600})])


def test_image_option_with_whitespace_is_a_clean_error(project: Path, capsys):
    assert main(["convert", str(project), "--image", "repo/img:1 --privileged"]) == 2
    assert "error: image" in capsys.readouterr().err
