"""Where the packaged project lives: one prefix per deployment id under the storage URI.

`open_store(uri)` gives a `Store` for the URI's scheme; the provider's library
(boto3 for s3://) is imported only then, so the CLI stays light.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Protocol
from urllib.parse import urlsplit

from ..errors import StorageError

Progress = Callable[[int], None]  # bytes written since the last call


class ObjectMissing(StorageError):
    """The bucket is there but the object is not."""


class Store(Protocol):
    """A writable prefix in object storage; keys are relative to it."""

    uri: str

    def check(self) -> None: ...
    def exists(self, key: str) -> bool: ...
    def put_file(self, key: str, path: str, progress: Progress | None = None) -> None: ...
    def put_bytes(self, key: str, data: bytes) -> None: ...
    def get_bytes(self, key: str) -> bytes: ...
    def sha256(self, key: str) -> str | None: ...  # of the object's bytes, streamed; None when it is absent


class Sha256Sink:
    """A writable file that only hashes what it is given: objects are streamed through it, never held whole."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return len(data)


def join(uri: str, *parts: str) -> str:
    """`uri` with path parts appended (one slash between each)."""
    return "/".join([uri.rstrip("/"), *(p.strip("/") for p in parts)])


def pvc_alternative(uri: str, namespace: str, project_dir: str, bundle_name: str, prefix_uri: str) -> str:
    """The commands that copy a project into a PVC, since it cannot be written from outside the cluster."""
    parts = urlsplit(prefix_uri)
    claim, sub = parts.netloc, parts.path.strip("/")
    pod, out = "kserve-bridge-upload", "/tmp/kserve-bridge-bundles"
    overrides = json.dumps({"spec": {
        "volumes": [{"name": "p", "persistentVolumeClaim": {"claimName": claim}}],
        "containers": [{"name": "c", "image": "busybox", "command": ["sleep", "600"],
                        "volumeMounts": [{"name": "p", "mountPath": "/pvc"}]}]}}, separators=(",", ":"))
    return "\n".join([
        f"{uri} is a PersistentVolumeClaim: it cannot be written from outside the cluster, so kserve-bridge does",
        "not upload to it. Use an object store (s3://, gs://, Azure Blob), or copy the project's bundle into the",
        "claim and deploy without uploading:",
        f"  kserve-bridge package {project_dir} -o {out}",
        f"  kubectl run {pod} -n {namespace} --image=busybox --restart=Never --overrides='{overrides}'",
        f"  kubectl wait -n {namespace} --for=condition=Ready pod/{pod}",
        f"  kubectl cp {out}/{bundle_name} {namespace}/{pod}:/tmp/bundle.tar.gz",
        f"  kubectl exec -n {namespace} {pod} -- sh -c "
        f"'mkdir -p /pvc/{sub} && tar -xzf /tmp/bundle.tar.gz -C /pvc/{sub}'",
        f"  kubectl delete pod -n {namespace} {pod}",
        f"  kserve-bridge deploy ... --no-upload --storage-uri {prefix_uri}",
    ])


def open_store(uri: str) -> Store:
    """A `Store` for `uri` (s3://bucket/prefix, gs://bucket/prefix,
    https://account.blob.core.windows.net/container/prefix)."""
    scheme = urlsplit(uri).scheme
    if scheme == "s3":
        from .s3 import S3Store
        return S3Store(uri)
    if scheme == "gs":
        from .gcs import GCSStore
        return GCSStore(uri)
    from .azure import AzureStore, is_azure_blob
    if is_azure_blob(uri):
        return AzureStore(uri)
    raise StorageError(f"cannot upload to {uri}: kserve-bridge writes s3://, gs:// and Azure Blob "
                       "(https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX) "
                       "(pvc:// and other locations are filled by you: deploy with --no-upload)")
