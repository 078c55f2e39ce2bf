"""Where uploaded files' bytes live, behind one interface: a local folder or S3.

Files are kept once per content hash (the key is the SHA-256 hex digest), so a key's bytes
never change: writing is idempotent and any cache keyed by the hash never goes stale. The
local folder is the embedded default (one host); S3-compatible object storage lets several
application hosts see the same files (MEMBERFLOW_STORAGE=s3://bucket/prefix).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, Protocol

from service.config import Config
from service.domain.errors import NotFound, ServiceError


class BlobMissing(NotFound):
    """The bytes of a stored file are not in the storage (deleted behind our back)."""

    def __init__(self, key: str):
        super().__init__("文件内容已丢失，请重新上传该材料")
        self.key = key


class StorageFull(ServiceError):
    """The file could not be kept: the storage's disk (or quota) is full. Nothing was kept;
    the request may be sent again once an operator has made room."""

    status = 507

    def __init__(self) -> None:
        super().__init__(
            "服务器存储空间不足，文件未能保存：请稍后重试；如果一直出现，请联系协会秘书处",
            title="存储空间不足",
        )


class StorageUnavailable(ServiceError):
    """The file could not be kept: the storage cannot be written now (its folder missing or
    read-only, a failing disk). Nothing was kept."""

    status = 503

    def __init__(self) -> None:
        super().__init__(
            "服务器存储暂时无法写入，文件未能保存：请稍后重试；如果一直出现，请联系协会秘书处",
            title="文件未能保存",
        )


class Storage(Protocol):
    """Content-addressed bytes: put, read, delete, exists."""

    def put(self, key: str, content: bytes) -> None: ...

    def read(self, key: str) -> bytes: ...

    def open(self, key: str) -> BinaryIO: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...


@dataclass(frozen=True)
class Blob:
    """One stored file's bytes, read on demand; `key` is its content hash."""

    storage: Storage
    key: str

    def read(self) -> bytes:
        return self.storage.read(self.key)

    def open(self) -> BinaryIO:
        return self.storage.open(self.key)


def open_storage(config: Config) -> Storage:
    """The storage the configuration names (MEMBERFLOW_STORAGE)."""
    if config.storage.startswith("s3://"):
        from service.storage.s3 import S3Storage

        bucket, _, prefix = config.storage.removeprefix("s3://").partition("/")
        return S3Storage(bucket, prefix, config.s3_endpoint_url, config.s3_region)
    from service.storage.local import LocalStorage

    return LocalStorage(config.files_dir)
