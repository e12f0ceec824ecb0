"""Azure Blob Storage with azure-storage-blob, for the URIs KServe reads:
https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX. Credentials: the standard
AZURE_STORAGE_CONNECTION_STRING (also how an emulator such as Azurite is reached), else
AZURE_STORAGE_ACCESS_KEY (what KServe's storage initializer reads), else azure-identity's
DefaultAzureCredential (environment, managed identity, `az login`)."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from ..errors import StorageError
from . import ObjectMissing, Progress, Sha256Sink


def is_azure_blob(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme == "https" and parts.netloc.endswith(".blob.core.windows.net")


class AzureStore:
    def __init__(self, uri: str):
        try:
            from azure.storage.blob import BlobServiceClient
        except ImportError as exc:
            raise StorageError("Azure Blob URIs need azure-storage-blob: pip install azure-storage-blob "
                               "azure-identity") from exc
        parts = urlsplit(uri)
        container, _, prefix = parts.path.strip("/").partition("/")
        if not container:
            raise StorageError(f"{uri}: name a container (https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX)")
        self.uri, self.prefix = uri.rstrip("/"), prefix.strip("/")
        account = parts.netloc.split(".")[0]
        connection = os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
        with self._errors("set-up"):
            if connection:
                service = BlobServiceClient.from_connection_string(connection)
            else:
                service = BlobServiceClient(f"https://{parts.netloc}", credential=_credential(account))
        self.endpoint = service.url
        self.container = service.get_container_client(container)

    def _blob(self, key: str):
        return self.container.get_blob_client(f"{self.prefix}/{key}" if self.prefix else key)

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        from azure.core import exceptions as az
        try:
            yield
        except az.ResourceNotFoundError as exc:
            if getattr(exc, "error_code", None) == "ContainerNotFound":
                raise StorageError(f"container {self.container.container_name} does not exist at "
                                   f"{self.endpoint} (create it, or fix the storage URI)") from exc
            raise
        except az.ClientAuthenticationError as exc:
            raise StorageError(f"{getattr(self, 'endpoint', 'Azure')} refused the credentials for {self.uri}: "
                               f"{exc.reason or exc}") from exc
        except az.ServiceRequestError as exc:
            raise StorageError(f"cannot reach {getattr(self, 'endpoint', 'Azure')}: {exc}") from exc
        except (az.AzureError, ValueError) as exc:
            raise StorageError(f"Azure {what} failed for {self.uri}: {exc}") from exc

    def check(self) -> None:
        with self._errors("check"):
            if not self.container.exists():
                raise StorageError(f"container {self.container.container_name} does not exist at "
                                   f"{self.endpoint} (create it, or fix the storage URI)")

    def exists(self, key: str) -> bool:
        with self._errors("HEAD"):
            return self._blob(key).exists()

    def put_file(self, key: str, path: str, progress: Progress | None = None) -> None:
        with self._errors("upload"), open(path, "rb") as data:
            self._blob(key).upload_blob(data, overwrite=True)
        if progress:
            progress(os.path.getsize(path))

    def put_bytes(self, key: str, data: bytes) -> None:
        with self._errors("PUT"):
            self._blob(key).upload_blob(data, overwrite=True)

    def get_bytes(self, key: str) -> bytes:
        from azure.core.exceptions import ResourceNotFoundError
        try:
            with self._errors("GET"):
                return self._blob(key).download_blob().readall()
        except ResourceNotFoundError:
            raise ObjectMissing(f"{self.uri}/{key} does not exist") from None

    def sha256(self, key: str) -> str | None:
        from azure.core.exceptions import ResourceNotFoundError
        sink = Sha256Sink()
        try:
            with self._errors("GET"):
                self._blob(key).download_blob().readinto(sink)
        except ResourceNotFoundError:
            return None
        return sink.digest.hexdigest()


def _credential(account: str):
    key = os.environ.get("AZURE_STORAGE_ACCESS_KEY")
    if key:
        return {"account_name": account, "account_key": key}
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError as exc:
        raise StorageError("no AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCESS_KEY, and azure-identity "
                           "is not installed for other credentials: pip install azure-identity") from exc
    return DefaultAzureCredential()
