"""Azure Blob URIs (the form KServe reads) against Azurite, Microsoft's storage emulator, on
loopback; the SDK reaches it through AZURE_STORAGE_CONNECTION_STRING. KServe's downloader only
talks to *.blob.core.windows.net, so here the round trip is read back with the Azure SDK."""
from __future__ import annotations

import shutil
import socket
import subprocess

import pytest

from kserve_bridge.cli import main
from kserve_bridge.storage.upload import MANIFEST
from tests.modelserver.conftest import free_port, wait_for

ACCOUNT = "devstoreaccount1"  # Azurite's well-known development account and key
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
URI = f"https://{ACCOUNT}.blob.core.windows.net/models/apis"


@pytest.fixture
def azurite(tmp_path, monkeypatch):
    if not shutil.which("azurite-blob"):
        pytest.skip("azurite is not installed (npm install -g azurite; scripts/install.sh does)")
    port = free_port()
    proc = subprocess.Popen(["azurite-blob", "--blobHost", "127.0.0.1", "--blobPort", str(port),
                             "--location", str(tmp_path / "azurite"), "--skipApiVersionCheck", "--silent"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def accepts() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return False
        return True
    try:
        wait_for(accepts, "azurite accepting connections", 120, poll=0.1, process=proc)
    except BaseException:
        proc.kill()
        raise
    connection = (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
                  f"BlobEndpoint=http://127.0.0.1:{port}/{ACCOUNT};")
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", connection)
    from azure.storage.blob import BlobServiceClient
    container = BlobServiceClient.from_connection_string(connection).create_container("models")
    yield container
    proc.terminate()
    proc.wait(60)


def test_azure_blob_upload_and_get_code(fake, kubeconfig, project, azurite, capsys):
    argv = ["deploy", str(project), "--storage-uri", URI, "--kubeconfig", str(kubeconfig)]
    assert main(argv) == 0
    isvc = fake.isvc("iris")
    dep_id = isvc["metadata"]["labels"]["kserve-bridge.io/deployment-id"]
    assert isvc["spec"]["predictor"]["model"]["storageUri"] == f"{URI}/{dep_id}"
    names = sorted(b.name for b in azurite.list_blobs(name_starts_with="apis/"))
    assert names == [f"apis/{dep_id}/{n}" for n in ("cortex.yaml", MANIFEST, "predictor.py")]
    blob = azurite.get_blob_client(f"apis/{dep_id}/predictor.py").download_blob().readall()
    assert blob == (project / "predictor.py").read_bytes()
    capsys.readouterr()
    assert main(argv) == 0
    assert "nothing to upload" in capsys.readouterr().err
    assert main(["get", "iris", "--code", "--kubeconfig", str(kubeconfig)]) == 0
    assert "class PythonPredictor" in capsys.readouterr().out


def test_azure_missing_container_applies_nothing(fake, kubeconfig, project, azurite, capsys):
    uri = f"https://{ACCOUNT}.blob.core.windows.net/nothere/x"
    assert main(["deploy", str(project), "--storage-uri", uri, "--kubeconfig", str(kubeconfig)]) == 1
    assert "container nothere does not exist" in capsys.readouterr().err
    assert [r for r in fake.requests if r[0] != "GET"] == []
