"""The embedded default: files in a local folder, `<files_dir>/<first two hex>/<hash>`."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import BinaryIO

from service.storage import BlobMissing


class LocalStorage:
    """A folder on this host (one application host, or a shared mount)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """Where the bytes with this hash live."""
        return self.root / key[:2] / key

    def put(self, key: str, content: bytes) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
        tmp.write_bytes(content)
        os.replace(tmp, path)  # atomic: a reader never sees half a file

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
