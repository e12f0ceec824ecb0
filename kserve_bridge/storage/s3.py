"""s3:// with boto3: credentials from AWS's standard chain; MinIO and other S3-compatible
servers through AWS_ENDPOINT_URL (and S3_VERIFY_SSL), the variables KServe's storage
initializer reads too."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from ..errors import StorageError
from . import ObjectMissing, Progress, Sha256Sink

_MISSING = {"404", "NoSuchKey", "NotFound"}
_REFUSED = {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken",
            "ExpiredToken", "AllAccessDisabled"}


class _Missing(Exception):
    """An object (not the bucket) is absent."""


class S3Store:
    def __init__(self, uri: str):
        import boto3
        parts = urlsplit(uri)
        if not parts.netloc:
            raise StorageError(f"{uri}: an s3:// URI names a bucket (s3://BUCKET/PREFIX)")
        self.uri, self.bucket, self.prefix = uri.rstrip("/"), parts.netloc, parts.path.strip("/")
        self.endpoint = os.environ.get("AWS_ENDPOINT_URL") or "AWS S3"
        kwargs: dict = {}
        if os.environ.get("S3_VERIFY_SSL", "").lower() in ("0", "false"):
            kwargs["verify"] = False
        with self._errors("set-up"):
            self.client = boto3.client("s3", **kwargs)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    @contextmanager
    def _errors(self, what: str, object_key: str | None = None) -> Iterator[None]:
        """Provider errors -> `StorageError` saying what to fix; a missing object -> `_Missing`."""
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError
        try:
            yield
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code == "NoSuchBucket" or (code in _MISSING and object_key is None):
                raise StorageError(f"bucket {self.bucket} does not exist at {self.endpoint} "
                                   "(create it, or fix the storage URI)") from exc
            if code in _MISSING:
                raise _Missing(object_key) from exc
            if code in _REFUSED:
                raise StorageError(f"{self.endpoint} refused the credentials for s3://{self.bucket} ({code}): "
                                   "check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE") from exc
            raise StorageError(f"S3 {what} failed for {self.uri}: {exc}") from exc
        except NoCredentialsError as exc:
            raise StorageError(f"no AWS credentials found for {self.uri}: set AWS_ACCESS_KEY_ID and "
                               "AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or run where an IAM role applies") from exc
        except EndpointConnectionError as exc:
            raise StorageError(f"cannot reach the S3 endpoint {self.endpoint}: {exc}") from exc
        except (S3UploadFailedError, BotoCoreError, ValueError) as exc:
            raise StorageError(f"S3 {what} failed for {self.uri}: {exc}") from exc

    def check(self) -> None:
        """The bucket exists and the credentials may use it."""
        with self._errors("check"):
            self.client.head_bucket(Bucket=self.bucket)

    def exists(self, key: str) -> bool:
        try:
            with self._errors("HEAD", key):
                self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except _Missing:
            return False

    def put_file(self, key: str, path: str, progress: Progress | None = None) -> None:
        with self._errors("upload", key):
            self.client.upload_file(path, self.bucket, self._key(key), Callback=progress)

    def put_bytes(self, key: str, data: bytes) -> None:
        with self._errors("PUT", key):
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def get_bytes(self, key: str) -> bytes:
        try:
            with self._errors("GET", key):
                return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except _Missing:
            raise ObjectMissing(f"{self.uri}/{key} does not exist") from None

    def sha256(self, key: str) -> str | None:
        sink = Sha256Sink()
        try:
            with self._errors("GET", key):
                for chunk in self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].iter_chunks():
                    sink.write(chunk)
        except _Missing:
            return None
        return sink.digest.hexdigest()
