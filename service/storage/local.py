"""The embedded default: files in a local folder, `<files_dir>/<first two hex>/<hash>`."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import uuid
from pathlib import Path
from typing import BinaryIO

from service.config import ConfigError
from service.storage import BlobMissing, StorageFull, StorageUnavailable

log = logging.getLogger("memberflow.storage")
FULL = (errno.ENOSPC, errno.EDQUOT)


class LocalStorage:
    """A folder on this host (one application host, or a shared mount)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """Where the bytes with this hash live."""
        return self.root / key[:2] / key

    def check_writable(self) -> None:
        """The folder exists (made if need be) and takes a file: checked at start-up, so that
        a wrong MEMBERFLOW_FILES_DIR stops the start instead of failing every upload."""
        probe = self.root / f".write-check-{uuid.uuid4().hex}.tmp"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise ConfigError(
                f"MEMBERFLOW_FILES_DIR 所指的文件夹 {self.root} 无法创建或写入"
                f"（{exc.strerror or exc}）：请设为本服务可写的文件夹"
            ) from exc

    def put(self, key: str, content: bytes) -> None:
        path = self.path(key)
        tmp = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(content)
            os.replace(tmp, path)  # atomic: a reader never sees half a file
        except OSError as exc:
            # a partial file (a full disk stops the write half way) must not stay behind
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            full = exc.errno in FULL
            log.error(
                "%s：无法写入上传的文件 %s（%s），%d 字节未保存 (MEMBERFLOW_FILES_DIR=%s)",
                "存储空间不足 (disk full)" if full else "存储无法写入 (storage write failed)",
                path,
                exc.strerror or exc,
                len(content),
                self.root,
            )
            raise (StorageFull() if full else StorageUnavailable()) from exc

    def open(self, key: str) -> BinaryIO:
        try:
            return self.path(key).open("rb")
        except FileNotFoundError as exc:
            raise BlobMissing(key) from exc

    def read(self, key: str) -> bytes:
        with self.open(key) as f:
            return f.read()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def __repr__(self) -> str:
        return f"LocalStorage({self.root})"
