"""An S3-compatible server on loopback (moto's server mode), credentials for it in the
environment, and a way to serve what KServe's storage initializer would fetch."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.cluster.conftest import fake, kubeconfig, project  # noqa: F401  (fixtures)
from tests.modelserver.conftest import serve  # noqa: F401

BUCKET = "models"


class S3:
    """The running server plus a boto3 client on it."""

    def __init__(self, endpoint: str):
        import boto3
        self.endpoint = endpoint
        self.client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                                   aws_access_key_id="test", aws_secret_access_key="test")

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=BUCKET, Key=key)["Body"].read()


@pytest.fixture
def s3(monkeypatch) -> S3:
    """moto's S3 server on 127.0.0.1 with bucket `models`; AWS_* variables point every client at it."""
    from moto.server import ThreadedMotoServer
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    import httpx
    httpx.post(f"{endpoint}/moto-api/reset").raise_for_status()  # moto's state is per process, not per server
    for name, value in {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test",
                        "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "KSERVE_BRIDGE_STORAGE_URI"):
        monkeypatch.delenv(name, raising=False)
    store = S3(endpoint)
    store.client.create_bucket(Bucket=BUCKET)
    yield store
    server.stop()


def isvc_env(isvc: dict) -> dict[str, str]:
    model = isvc["spec"]["predictor"]["model"]
    return {e["name"]: e["value"] for e in model.get("env", [])}


def fetch_and_serve(isvc: dict, tmp_path: Path, start):
    """Download the InferenceService's storageUri with KServe's own storage code (what its
    storage initializer runs), then start the model server on it as the pod would."""
    from kserve_storage import Storage
    target = tmp_path / "mnt-models"
    target.mkdir(parents=True)
    Storage.download(isvc["spec"]["predictor"]["model"]["storageUri"], str(target))
    return start(target, env=isvc_env(isvc), args=["--model_name", isvc["metadata"]["name"]])
