"""deploy / package --upload / get --code against moto's S3 server and the Kubernetes API double;
what lands in storage is fetched with KServe's own storage code and served by the model server."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from kserve_bridge.cli import main
from kserve_bridge.storage.upload import MANIFEST
from tests.modelserver.conftest import free_port
from tests.storage.conftest import BUCKET, fetch_and_serve, isvc_env

URI = f"s3://{BUCKET}/apis/iris"


def deploy(kubeconfig, *argv: str) -> int:
    return main(["deploy", *argv, "--kubeconfig", str(kubeconfig)])


def writes(fake) -> list:
    return [r for r in fake.requests if r[0] != "GET"]


def test_deploy_uploads_to_a_prefix_per_deployment_and_kserve_serves_it(fake, kubeconfig, project, s3, tmp_path,
                                                                       serve, capsys):
    (project / "data").mkdir()
    (project / "data" / "weights.json").write_text(json.dumps({"offset": 100}))
    (project / "predictor.py").write_text(
        "import json, os\n\nclass PythonPredictor:\n    def __init__(self, config):\n"
        "        with open(os.path.join(os.path.dirname(__file__), 'data', 'weights.json')) as f:\n"
        "            self.offset = json.load(f)['offset']\n\n"
        "    def predict(self, payload):\n        return {'sum': sum(payload['x']) + self.offset}\n")
    assert deploy(kubeconfig, str(project), "--storage-uri", URI) == 0
    err = capsys.readouterr().err
    isvc = fake.isvc("iris")
    dep_id = isvc["metadata"]["labels"]["kserve-bridge.io/deployment-id"]
    assert isvc["spec"]["predictor"]["model"]["storageUri"] == f"{URI}/{dep_id}"
    assert "uploading 3 files" in err and f"{URI}/{dep_id}" in err
    prefix = f"apis/iris/{dep_id}/"
    assert s3.keys("apis/") == [prefix + k for k in ("cortex.yaml", "data/weights.json", MANIFEST, "predictor.py")]
    manifest = json.loads(s3.read(prefix + MANIFEST))
    assert manifest["deployment_id"] == dep_id and manifest["api"] == "iris"
    assert manifest["predictor_path"] == "predictor.py" and manifest["files"]["data/weights.json"] == 15
    assert manifest["sha256"]["data/weights.json"] == hashlib.sha256(b'{"offset": 100}').hexdigest()

    server = fetch_and_serve(isvc, tmp_path, serve)
    answer = httpx.post(f"{server.url}/v1/models/iris:predict", json={"x": [1, 2, 3]}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"sum": 106}
    assert answer.headers["x-kserve-bridge-deployment-id"] == dep_id


def test_same_deployment_uploads_nothing_and_a_new_revision_keeps_the_old_code(fake, kubeconfig, project, s3,
                                                                               capsys):
    assert deploy(kubeconfig, str(project), "--storage-uri", URI) == 0
    first = fake.isvc("iris")["metadata"]["labels"]["kserve-bridge.io/deployment-id"]
    capsys.readouterr()
    assert deploy(kubeconfig, str(project), "--storage-uri", URI) == 0
    assert "(2 files verified by sha256): nothing to upload" in capsys.readouterr().err
    # a file removed from a complete prefix is put back, named
    s3.client.delete_object(Bucket=BUCKET, Key=f"apis/iris/{first}/cortex.yaml")
    assert deploy(kubeconfig, str(project), "--storage-uri", URI) == 0
    assert f"{URI}/{first}/cortex.yaml does not match the project's cortex.yaml" in capsys.readouterr().err
    assert s3.read(f"apis/iris/{first}/cortex.yaml") == (project / "cortex.yaml").read_bytes()

    (project / "predictor.py").write_text((project / "predictor.py").read_text().replace("sum(", "max("))
    assert deploy(kubeconfig, str(project), "--storage-uri", URI) == 0
    second = fake.isvc("iris")["metadata"]["labels"]["kserve-bridge.io/deployment-id"]
    assert second != first
    assert b"max(" in s3.read(f"apis/iris/{second}/predictor.py")
    assert b"sum(" in s3.read(f"apis/iris/{first}/predictor.py")  # the previous revision's code is intact


def test_get_code_prints_the_running_revisions_source_and_spec(fake, kubeconfig, project, s3, capsys):
    import kserve_bridge
    assert deploy(kubeconfig, str(project), "--storage-uri", URI) == 0
    capsys.readouterr()
    assert main(["get", "iris", "--code", "--kubeconfig", str(kubeconfig)]) == 0
    out = capsys.readouterr().out
    dep_id = fake.isvc("iris")["metadata"]["labels"]["kserve-bridge.io/deployment-id"]
    assert f"# deployment {dep_id} of iris" in out
    assert "name: iris" in out and "type: python" in out
    assert (project / "predictor.py").read_text().strip() in out
    code = kserve_bridge.client(kubeconfig=str(kubeconfig)).get_code("iris")
    assert code.deployment_id == dep_id and code.predictor_source == (project / "predictor.py").read_text()
    assert code.spec["predictor"]["type"] == "python"


def test_get_code_of_an_api_deployed_without_upload_says_so(fake, kubeconfig, project, s3, capsys):
    assert deploy(kubeconfig, str(project), "--no-upload", "--storage-uri", URI) == 0
    assert fake.isvc("iris")["spec"]["predictor"]["model"]["storageUri"] == URI  # as given, not uploaded
    assert s3.keys() == []
    assert main(["get", "iris", "--code", "--kubeconfig", str(kubeconfig)]) == 1
    assert "was it deployed with --no-upload?" in capsys.readouterr().err


def test_large_bundles_show_progress(fake, kubeconfig, project, s3, capsys):
    (project / "model.bin").write_bytes(bytes(range(256)) * (48 * 1024))  # 12 MiB
    assert deploy(kubeconfig, str(project), "--storage-uri", URI) == 0
    err = capsys.readouterr().err
    assert "(12.0 MiB)" in err and "  100% (12.0 MiB of 12.0 MiB)" in err and "  50%" in err


def test_package_upload_prints_each_apis_prefix(project, s3, capsys):
    assert main(["package", str(project), "--upload", URI]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"iris: {URI}/")
    dep_id = out.rsplit("/", 1)[1]
    assert f"apis/iris/{dep_id}/{MANIFEST}" in s3.keys()


@pytest.mark.parametrize("case", ["bucket missing", "credentials refused", "endpoint down", "no storage uri"])
def test_upload_failures_are_clear_and_apply_nothing(fake, kubeconfig, project, s3, monkeypatch, capsys, case):
    uri = URI
    if case == "bucket missing":
        uri, expected = "s3://no-such-bucket/x", "bucket no-such-bucket does not exist"
    elif case == "credentials refused":
        import moto.settings
        monkeypatch.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)  # moto now checks the keys
        expected = "refused the credentials for s3://models"
    elif case == "endpoint down":
        port = free_port()  # nothing listens there
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
        expected = f"cannot reach the S3 endpoint http://127.0.0.1:{port}"
    else:
        uri, expected = None, "no storage URI to upload the project to"
    args = [str(project)] + (["--storage-uri", uri] if uri else [])
    assert deploy(kubeconfig, *args) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and expected in err and "Traceback" not in err
    assert writes(fake) == [] and fake.isvc("iris") is None


def test_pvc_is_refused_with_the_commands_that_fill_it(fake, kubeconfig, project, s3, capsys, tmp_path):
    assert deploy(kubeconfig, str(project), "--storage-uri", "pvc://projects/iris") == 1
    err = capsys.readouterr().err
    assert "cannot be written from outside the cluster" in err
    assert "persistentVolumeClaim" in err and '"claimName":"projects"' in err
    package = next(line.split() for line in err.splitlines() if "kserve-bridge package" in line)
    assert main(["package", package[2], "-o", str(tmp_path / "out")]) == 0  # the printed steps are real
    bundle = capsys.readouterr().out.strip()
    assert f"kubectl cp {package[4]}/{Path(bundle).name} " in err
    assert "--no-upload --storage-uri pvc://projects/iris/" in err
    assert writes(fake) == []


def test_a_tampered_bundle_stops_the_server_naming_the_file_and_deploy_repairs_it(fake, kubeconfig, project, s3,
                                                                                  tmp_path, serve, capsys):
    """One object overwritten under a complete prefix: the model server, on what KServe's storage code
    downloads, exits before loading with the file in its termination message; `deploy` names the file and
    uploads it again; then the same download serves."""
    from kserve_storage import Storage
    assert deploy(kubeconfig, str(project), "--storage-uri", URI) == 0
    isvc = fake.isvc("iris")
    dep_id = isvc["metadata"]["labels"]["kserve-bridge.io/deployment-id"]
    tampered = (project / "predictor.py").read_text().replace("return", "import os; os.system('id'); return", 1)
    s3.client.put_object(Bucket=BUCKET, Key=f"apis/iris/{dep_id}/predictor.py", Body=tampered.encode())

    fetched, termination = tmp_path / "mnt-models", tmp_path / "termination-log"
    Storage.download(isvc["spec"]["predictor"]["model"]["storageUri"], str(fetched))
    termination.write_text("")  # the kubelet creates it; the server writes its reason there
    env = {**os.environ, **isvc_env(isvc), "KSERVE_BRIDGE_TERMINATION_LOG": str(termination),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-m", "modelserver", "--model_dir", str(fetched), "--model_name", "iris",
                           "--http_port", "0"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr[-3000:]
    message = termination.read_text()
    assert message.startswith("API iris: the project in ") and "predictor.py (sha256 differs)" in message
    assert "cortex.yaml" not in message  # only what changed is named

    capsys.readouterr()
    assert deploy(kubeconfig, str(project), "--storage-uri", URI) == 0
    assert f"{URI}/{dep_id}/predictor.py does not match the project's predictor.py" in capsys.readouterr().err
    assert s3.read(f"apis/iris/{dep_id}/predictor.py") == (project / "predictor.py").read_bytes()
    server = fetch_and_serve(isvc, tmp_path / "again", serve)
    answer = httpx.post(f"{server.url}/v1/models/iris:predict", json={"x": [1, 2, 3]}, timeout=30)
    assert answer.status_code == 200, answer.text
