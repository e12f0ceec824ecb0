"""Issue 13 item 10: a project's .env reaches pods as a Secret (envFrom) that `deploy` creates and updates
through the real `kubernetes` client against the fake API server; values never reach the terminal."""
from __future__ import annotations

import base64

from kserve_bridge.cli import main
from kserve_bridge.cluster.client import Client

SECRET_KEY = ("", "v1", "models", "secrets", "iris-dotenv")
VALUES = ("s3cr3t-token-value", "p@ss with spaces")


def cli(kubeconfig, *argv: str) -> int:
    return main(list(argv) + ["--kubeconfig", str(kubeconfig)])


def decoded(fake) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in fake.objects[SECRET_KEY]["data"].items()}


def test_deploy_creates_then_updates_the_env_secret(fake, kubeconfig, project, capsys):
    (project / ".env").write_text(f"API_TOKEN={VALUES[0]}\nDB_PASSWORD='{VALUES[1]}'\n# comment\n")
    assert cli(kubeconfig, "deploy", str(project), "--no-upload") == 0
    out, err = capsys.readouterr()
    assert "Secret/iris-dotenv created from .env (2 variables; values not shown)" in out
    assert decoded(fake) == {"API_TOKEN": VALUES[0], "DB_PASSWORD": VALUES[1]}
    assert fake.objects[SECRET_KEY]["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kserve-bridge"
    model = fake.isvc("iris")["spec"]["predictor"]["model"]
    assert model["envFrom"] == [{"secretRef": {"name": "iris-dotenv"}}]
    assert not any(v in str(fake.isvc("iris")) for v in VALUES)  # the InferenceService names, never holds
    method, path, ctype = next(r for r in fake.requests if "/api/v1/" in r[1] and r[0] == "PATCH")
    assert ctype == "application/apply-patch+yaml" and "fieldManager=kserve-bridge" in path

    assert cli(kubeconfig, "deploy", str(project), "--no-upload") == 0
    assert "Secret/iris-dotenv unchanged" in capsys.readouterr().out
    (project / ".env").write_text(f"API_TOKEN={VALUES[0]}-rotated\n")
    assert cli(kubeconfig, "deploy", str(project), "--no-upload") == 0
    out, err = capsys.readouterr()
    assert "Secret/iris-dotenv configured" in out
    assert decoded(fake) == {"API_TOKEN": VALUES[0] + "-rotated"}  # removed keys go too (apply owns data)
    assert not any(v in out + err for v in VALUES)


def test_deploy_leaves_a_foreign_secret_alone(fake, kubeconfig, project, capsys):
    fake.write(SECRET_KEY, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "iris-dotenv"},
                            "data": {"X": base64.b64encode(b"theirs").decode()}})
    (project / ".env").write_text(f"API_TOKEN={VALUES[0]}\n")
    assert cli(kubeconfig, "deploy", str(project), "--no-upload") == 1
    out, err = capsys.readouterr()
    assert "Secret iris-dotenv in namespace models exists and is not managed by kserve-bridge" in err
    assert decoded(fake) == {"X": "theirs"} and fake.isvc("iris") is None
    assert VALUES[0] not in out + err


def test_bad_variable_name_is_named_without_values(fake, kubeconfig, project, capsys):
    (project / ".env").write_text(f"GOOD={VALUES[0]}\nexport 1BAD={VALUES[1]}\n")
    assert cli(kubeconfig, "deploy", str(project), "--no-upload") == 1
    out, err = capsys.readouterr()
    assert "'1BAD': not valid environment variable names" in err
    assert not any(v in out + err for v in VALUES) and SECRET_KEY not in fake.objects


def test_no_dotenv_no_secret(fake, kubeconfig, project, capsys):
    assert cli(kubeconfig, "deploy", str(project), "--no-upload") == 0
    assert "Secret" not in capsys.readouterr().out
    assert SECRET_KEY not in fake.objects and "envFrom" not in fake.isvc("iris")["spec"]["predictor"]["model"]


def test_python_client_creates_the_secret_too(fake, kubeconfig, project):
    (project / ".env").write_text(f"API_TOKEN={VALUES[0]}\n")
    client = Client(kubeconfig=str(kubeconfig))
    client.create_api({"name": "iris", "kind": "RealtimeAPI",
                       "predictor": {"type": "python", "path": "predictor.py"}}, project_dir=project, upload=False)
    assert decoded(fake) == {"API_TOKEN": VALUES[0]}


def test_secret_object_is_valid_for_kubernetes():
    import kubernetes_validate
    from kubernetes_validate.utils import latest_version

    from kserve_bridge.cluster.secrets import secret_object
    obj = secret_object("iris-dotenv", "models", {"API_TOKEN": VALUES[0], "EMPTY": ""})
    kubernetes_validate.validate(obj, latest_version(), strict=True)
    broken = {**obj, "dataa": {}}
    try:
        kubernetes_validate.validate(broken, latest_version(), strict=True)
    except kubernetes_validate.ValidationError:
        pass
    else:
        raise AssertionError("the validator accepted an unknown field")
