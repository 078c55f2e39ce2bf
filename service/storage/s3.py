"""S3-compatible object storage (boto3): one bucket, keys `<prefix>/<hash>`.

Credentials come the usual boto3 way (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a
profile, or an instance role); MEMBERFLOW_S3_ENDPOINT_URL points at a non-AWS server.
"""

from __future__ import annotations

import io
from typing import BinaryIO

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from service.storage import BlobMissing

_MISSING = {"404", "NoSuchKey", "NotFound"}


class S3Storage:
    """A bucket shared by every application host."""

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None, region=None):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        # boto3 clients are thread-safe; one serves every request thread of a process
        self.client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            config=BotoConfig(retries={"max_attempts": 3, "mode": "standard"}),
        )

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, content: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=content)

    def read(self, key: str) -> bytes:
        try:
            reply = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise BlobMissing(key) from exc
            raise
        with reply["Body"] as body:
            return body.read()

    def open(self, key: str) -> BinaryIO:
        return io.BytesIO(self.read(key))  # uploads are at most a video: 50 MB by default

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return False
            raise
        return True

    def __repr__(self) -> str:
        return f"S3Storage(s3://{self.bucket}/{self.prefix})"
