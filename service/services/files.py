"""Uploaded materials: type sniffed from the bytes, stored once by content hash, scoped."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import filetype
from sqlalchemy import select, update

from service.db.models import StoredFile
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import FormInvalid, NotFound, TooLarge
from service.engine.formschema import values_at
from service.services.scope import can_see_instance

ALLOWED_TYPES = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}


def blob_path(files_dir: Path, sha256: str) -> Path:
    """Where the bytes with this hash live."""
    return Path(files_dir) / sha256[:2] / sha256


def store_upload(
    uow: UnitOfWork,
    files_dir: Path,
    max_bytes: int,
    actor: Actor,
    name: str,
    content: bytes,
    join_code_id: int | None = None,
) -> dict:
    """Check and keep one upload; returns its id, name, size and content type."""
    if not content:
        raise FormInvalid({"file": "请选择要上传的文件（文件为空）"})
    if len(content) > max_bytes:
        raise TooLarge(
            f"文件不能超过{max_bytes // (1024 * 1024)}MB",
            {"file": f"文件大小为{len(content) / 1048576:.1f}MB，超过上限"},
        )
    kind = filetype.guess(content)
    if kind is None or kind.mime not in ALLOWED_TYPES:
        raise FormInvalid(
            {"file": "只能上传 JPG、PNG 图片或 PDF 文件（按文件内容识别，不看扩展名）"}
        )
    digest = hashlib.sha256(content).hexdigest()
    path = blob_path(files_dir, digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
        tmp.write_bytes(content)
        os.replace(tmp, path)  # atomic: a reader never sees half a file
    row = StoredFile(
        id=uuid.uuid4().hex,
        sha256=digest,
        name=(name or "upload")[:200],
        size=len(content),
        content_type=kind.mime,
        uploaded_by=actor.id,
        unit_id=actor.unit_id,
        join_code_id=join_code_id,
    )
    uow.session.add(row)
    uow.commit()
    return describe(row)


def describe(row: StoredFile) -> dict:
    return {"id": row.id, "name": row.name, "size": row.size, "content_type": row.content_type}


def _visible(uow: UnitOfWork, actor: Actor, row: StoredFile) -> bool:
    if actor.role == "secretariat_admin":
        return True
    if actor.id is not None and row.uploaded_by == actor.id:
        return True
    if actor.role == "unit_admin" and row.unit_id == actor.unit_id:
        return True
    return row.instance_id is not None and can_see_instance(uow.session, actor, row.instance_id)


def open_file(uow: UnitOfWork, files_dir: Path, actor: Actor, file_id: str) -> tuple[dict, Path]:
    """A file's description and path, if the caller may see it (else NotFound)."""
    row = uow.session.get(StoredFile, file_id)
    if row is None or not _visible(uow, actor, row):
        raise NotFound("文件不存在")
    return describe(row), blob_path(files_dir, row.sha256)


def check_references(
    uow: UnitOfWork,
    actor: Actor,
    data: dict,
    fields: set[str],
    join_code_id: int | None = None,
    instance_id: int | None = None,
) -> list[str]:
    """The file ids a form refers to, each checked to exist and be usable by the caller."""
    wanted = {
        where: value
        for path in fields
        for where, value in values_at(data, path)
        if isinstance(value, str)
    }
    if not wanted:
        return []
    rows = {
        r.id: r
        for r in uow.session.scalars(
            select(StoredFile).where(StoredFile.id.in_(set(wanted.values())))
        )
    }
    errors = {}
    for field, file_id in wanted.items():
        row = rows.get(file_id)
        ok = row is not None and (
            (join_code_id is not None and row.join_code_id == join_code_id)
            or (instance_id is not None and row.instance_id == instance_id)
            or (join_code_id is None and _visible(uow, actor, row))
        )
        if not ok:
            errors[field] = "文件不存在或无权使用，请重新上传"
    if errors:
        raise FormInvalid(errors)
    return list(wanted.values())


def link_to_instance(
    uow: UnitOfWork, file_ids: list[str], instance_id: int, unit_id: int | None
) -> None:
    """Make the files of a form visible with its application (to its reviewers and unit)."""
    if file_ids:
        uow.session.execute(
            update(StoredFile)
            .where(StoredFile.id.in_(file_ids), StoredFile.instance_id.is_(None))
            .values(instance_id=instance_id, unit_id=unit_id)
        )
