"""gs:// against a Cloud Storage emulator on loopback (gcp-storage-emulator): deploy uploads,
KServe's storage code fetches the same files back, a second deploy uploads nothing."""
from __future__ import annotations

import pytest

from kserve_bridge.cli import main
from tests.modelserver.conftest import free_port


@pytest.fixture
def gcs(monkeypatch):
    from gcp_storage_emulator.server import create_server
    port = free_port()
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket="models")
    server.start()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
    yield
    server.stop()


def test_gs_upload_round_trips_through_kserve_storage(fake, kubeconfig, project, gcs, tmp_path, capsys):
    from kserve_storage import Storage
    argv = ["deploy", str(project), "--storage-uri", "gs://models/apis", "--kubeconfig", str(kubeconfig)]
    assert main(argv) == 0
    isvc = fake.isvc("iris")
    dep_id = isvc["metadata"]["labels"]["kserve-bridge.io/deployment-id"]
    uri = isvc["spec"]["predictor"]["model"]["storageUri"]
    assert uri == f"gs://models/apis/{dep_id}"
    Storage.download(uri, str(tmp_path / "fetched"))
    for name in ("cortex.yaml", "predictor.py"):
        assert (tmp_path / "fetched" / name).read_bytes() == (project / name).read_bytes()
    capsys.readouterr()
    assert main(argv) == 0
    assert "nothing to upload" in capsys.readouterr().err


def test_gs_missing_bucket_applies_nothing(fake, kubeconfig, project, gcs, capsys):
    assert main(["deploy", str(project), "--storage-uri", "gs://no-such-bucket/x",
                 "--kubeconfig", str(kubeconfig)]) == 1
    assert "bucket no-such-bucket does not exist" in capsys.readouterr().err
    assert [r for r in fake.requests if r[0] != "GET"] == []
