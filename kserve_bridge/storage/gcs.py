"""gs:// with google-cloud-storage: Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS,
gcloud auth, workload identity); STORAGE_EMULATOR_HOST for an emulator."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from ..errors import StorageError
from . import ObjectMissing, Progress, Sha256Sink


class GCSStore:
    def __init__(self, uri: str):
        try:
            from google.cloud import storage
        except ImportError as exc:
            raise StorageError("gs:// needs google-cloud-storage: pip install google-cloud-storage") from exc
        parts = urlsplit(uri)
        if not parts.netloc:
            raise StorageError(f"{uri}: a gs:// URI names a bucket (gs://BUCKET/PREFIX)")
        self.uri, self.prefix = uri.rstrip("/"), parts.path.strip("/")
        self.endpoint = os.environ.get("STORAGE_EMULATOR_HOST") or "Google Cloud Storage"
        with self._errors("set-up"):
            self.bucket = storage.Client().bucket(parts.netloc)

    def _blob(self, key: str):
        return self.bucket.blob(f"{self.prefix}/{key}" if self.prefix else key)

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        from google.api_core import exceptions as api
        from google.auth.exceptions import DefaultCredentialsError, RefreshError
        from requests.exceptions import ConnectionError as RequestsConnectionError
        try:
            yield
        except api.NotFound as exc:
            raise StorageError(f"bucket {self.bucket.name} does not exist at {self.endpoint} "
                               "(create it, or fix the storage URI)") from exc
        except (api.Forbidden, api.Unauthorized, RefreshError) as exc:
            raise StorageError(f"{self.endpoint} refused the credentials for gs://{self.bucket.name}: {exc}") \
                from exc
        except DefaultCredentialsError as exc:
            raise StorageError(f"no Google credentials found for {self.uri}: set GOOGLE_APPLICATION_CREDENTIALS "
                               "or run `gcloud auth application-default login`") from exc
        except RequestsConnectionError as exc:
            raise StorageError(f"cannot reach {self.endpoint}: {exc}") from exc
        except api.GoogleAPIError as exc:
            raise StorageError(f"GCS {what} failed for {self.uri}: {exc}") from exc

    def check(self) -> None:
        with self._errors("check"):
            if not self.bucket.exists():
                raise StorageError(f"bucket {self.bucket.name} does not exist at {self.endpoint} "
                                   "(create it, or fix the storage URI)")

    def exists(self, key: str) -> bool:
        with self._errors("HEAD"):
            return self._blob(key).exists()

    def put_file(self, key: str, path: str, progress: Progress | None = None) -> None:
        with self._errors("upload"):
            self._blob(key).upload_from_filename(path)
        if progress:
            progress(os.path.getsize(path))

    def put_bytes(self, key: str, data: bytes) -> None:
        with self._errors("PUT"):
            self._blob(key).upload_from_string(data)

    def get_bytes(self, key: str) -> bytes:
        from google.api_core.exceptions import NotFound
        try:
            with self._errors("GET"):
                return self._blob(key).download_as_bytes()
        except StorageError as exc:
            if isinstance(exc.__cause__, NotFound):
                raise ObjectMissing(f"{self.uri}/{key} does not exist") from None
            raise

    def sha256(self, key: str) -> str | None:
        from google.api_core.exceptions import NotFound
        sink = Sha256Sink()
        try:
            with self._errors("GET"):
                self._blob(key).download_to_file(sink)
        except StorageError as exc:
            if isinstance(exc.__cause__, NotFound):
                return None
            raise
        return sink.digest.hexdigest()
