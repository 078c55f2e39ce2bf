"""Uploaded materials: checked from the bytes, stored once by content hash, scoped.

The bytes live in the configured storage (`ctx.storage`: a local folder or S3) under
their SHA-256; the `files` rows say who uploaded what under which name. Several rows may
share one blob, so a blob is deleted only when no row refers to its hash any more, and
storing and deleting the same hash never interleave (`_lock_blob`).
"""

from __future__ import annotations

import hashlib
import unicodedata
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy import bindparam, select, update

from service.db.locks import hold_row
from service.db.models import (
    Bill,
    FeedbackFile,
    InstancePerson,
    JoinCode,
    Member,
    StoredFile,
    UnitPasswordRequest,
)
from service.db.uow import Later, Reads, UnitOfWork, write
from service.domain.actor import Actor
from service.domain.errors import FormInvalid, NotFound, TooLarge
from service.engine.formschema import values_at
from service.services.workflow import upload_checks
from service.services.workflow.context import Context
from service.services.workflow.scope import (
    administers_unit,
    can_see_instance,
    line_reader,
    sees_every_upload,
)
from service.storage import Blob

ALLOWED_TYPES = upload_checks.ALLOWED_TYPES
VIDEO_TYPES = upload_checks.VIDEO_TYPES
NO_VIDEO = "此项不能上传视频，请上传 JPG、PNG 图片或 PDF 文件"
ONLY_VIDEO = "此项只能上传 MP4、MOV 视频，请重新上传"
ONLY_IMAGES = "此项只能上传 JPG、PNG 图片（照片），请重新上传"
# the checked image types (a photo field takes these alone)
IMAGE_TYPES = frozenset(t for t in upload_checks.ALLOWED_TYPES if t.startswith("image/"))
UNUSED_AFTER = timedelta(days=1)  # an upload no application used by then is deleted
_BLOB_LOCK_SPACE = 0x6D66  # "mf": the advisory-lock key space of blob hashes


def _lock_blob(uow: UnitOfWork, digest: str) -> None:
    """Serialize storing and deleting one hash until the transaction ends.

    PostgreSQL: a transaction-level advisory lock on the hash. SQLite has one writer at a
    time: a write statement takes that lock, and it is held until commit.
    """
    session = uow.session
    if session.get_bind().dialect.name == "postgresql":
        key = int(digest[:8], 16) - 2**31
        session.execute(
            sa.text("SELECT pg_advisory_xact_lock(:space, :key)"),
            {"space": _BLOB_LOCK_SPACE, "key": key},
        )
    else:
        session.execute(
            update(StoredFile)
            .where(StoredFile.sha256 == digest)
            .values(sha256=digest)
            .execution_options(synchronize_session=False)
        )


def _check_join_quota(
    ctx: Context, uow: UnitOfWork, join_code_id: int, size: int, digest: str
) -> None:
    """An applicant's code holds a day's worth of uploads not yet used by an application,
    counted by content: a file whose content (`digest`) the code holds unused already takes
    no more (an applicant choosing the same photos again after a refused page; the blob is
    stored once). Otherwise a few mistyped applications used up the code of the unit's
    other applicants for a day.

    The code's row is locked first, so simultaneous uploads through it count one by one.
    """
    hold_row(uow.session, JoinCode, join_code_id)
    held = (
        select(StoredFile.sha256, sa.func.max(StoredFile.size).label("size"))
        .where(
            StoredFile.join_code_id == join_code_id,
            StoredFile.instance_id.is_(None),
            StoredFile.created_at >= ctx.now() - UNUSED_AFTER,
        )
        .group_by(StoredFile.sha256)
        .subquery()
    )
    count, total, again = uow.session.execute(
        select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(held.c.size), 0),
            sa.func.coalesce(sa.func.max(sa.case((held.c.sha256 == digest, 1), else_=0)), 0),
        ).select_from(held)
    ).one()
    if again:
        return
    config = ctx.config
    if count + 1 > config.join_quota_files or total + size > config.join_quota_bytes:
        raise TooLarge(
            "通过此申请码上传但尚未提交申请的材料已达上限"
            f"（{config.join_quota_files}个文件或{config.join_quota_bytes // 1048576}MB），"
            "请先提交申请，或一天后再上传",
            {"file": "此申请码的上传额度已用完：请让单位另发一个申请码，或一天后再上传"},
        )


def _check_size(config, content: bytes) -> None:
    """A video up to `max_video_bytes`, any other file up to `max_upload_bytes`."""
    video = upload_checks.video_type(content) is not None
    limit = config.max_video_bytes if video else config.max_upload_bytes
    if len(content) > limit:
        what = "视频" if video else "图片和 PDF 文件"
        raise TooLarge(
            f"{what}不能超过{limit // 1048576}MB"
            + ("" if video else f"（视频不超过{config.max_video_bytes // 1048576}MB）"),
            {"file": f"文件大小为{len(content) / 1048576:.1f}MB，超过{what}的上限"},
        )


def store_upload(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    name: str,
    content: bytes,
    join_code_id: int | None = None,
) -> dict:
    """Check and keep one upload; returns its id, name, size and content type.

    Through a join code (`join_code_id`) the code's upload quota applies.
    """
    row = keep_upload(ctx, uow, actor, name, content, join_code_id)
    uow.commit()
    return describe(row)


def check_upload(ctx: Context, content: bytes) -> str:
    """An upload's checked content type (size, then the bytes); FormInvalid or TooLarge,
    with the message at `file`, when it may not be kept."""
    if not content:
        raise FormInvalid({"file": "请选择要上传的文件（文件为空）"})
    _check_size(ctx.config, content)
    return upload_checks.content_type(content)


def keep_upload(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    name: str,
    content: bytes,
    join_code_id: int | None = None,
) -> StoredFile:
    """`store_upload` without the commit: the file's row is part of the caller's
    transaction (the blob is in the storage at once; unreferenced, it is cleaned up)."""
    mime = check_upload(ctx, content)
    digest = hashlib.sha256(content).hexdigest()
    _lock_blob(uow, digest)
    if join_code_id is not None:
        _check_join_quota(ctx, uow, join_code_id, len(content), digest)
    row = StoredFile(
        id=uuid.uuid4().hex,
        sha256=digest,
        name=shown_name(name),
        size=len(content),
        content_type=mime,
        uploaded_by=actor.id,
        unit_id=actor.unit_id,
        join_code_id=join_code_id,
        created_at=ctx.now(),
    )
    uow.session.add(row)
    uow.session.flush()
    if not ctx.storage.exists(digest):
        ctx.storage.put(digest, content)
    return row


def shown_name(name: str | None) -> str:
    """An upload's name as it is kept and shown: its last path part, without control or
    invisible format characters (a right-to-left override makes "a\u202egnp.exe" read as
    "aexe.png"), at most 200 characters; "upload" when nothing is left."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf"))
    return " ".join(kept.split())[:200] or "upload"


def describe(row: StoredFile) -> dict:
    return {"id": row.id, "name": row.name, "size": row.size, "content_type": row.content_type}


def _visible(uow: UnitOfWork, actor: Actor, row: StoredFile | _Ref) -> bool:
    if sees_every_upload(actor):
        return True
    if actor.id is not None and row.uploaded_by == actor.id:
        return True
    if administers_unit(actor, row.unit_id):
        return True
    if row.instance_id is None or not can_see_instance(uow.session, actor, row.instance_id):
        return False
    own = line_reader(uow.session, actor)
    return own is None or not _on_others_line(uow, row.id, row.instance_id, own)


def _on_others_line(uow: UnitOfWork, file_id: str, instance_id: int, own: str) -> bool:
    """Whether the file is one of another person's materials on the form (a line of its
    persons other than the one with ID number `own`), and not also on that person's own."""
    lines = uow.session.execute(
        select(InstancePerson.id_number, InstancePerson.line).where(
            InstancePerson.instance_id == instance_id
        )
    ).all()
    holders = {number for number, line in lines if file_id in _strings(line)}
    return bool(holders) and own not in holders


def _strings(value) -> set[str]:
    """Every string inside a line's values (its file ids among them), however nested."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return {s for v in value.values() for s in _strings(v)}
    if isinstance(value, list):
        return {s for v in value for s in _strings(v)}
    return set()


def open_file(ctx: Context, uow: UnitOfWork, actor: Actor, file_id: str) -> tuple[dict, Blob]:
    """A file's description and its bytes (read on demand), if the caller may see it."""
    row = uow.session.get(StoredFile, file_id)
    if row is None or not _visible(uow, actor, row):
        raise NotFound("文件不存在")
    return describe(row), Blob(ctx.storage, row.sha256)


_REFS = StoredFile.__table__.c
# check_references's rows, locked, with what the check reads of them (a Core query on the
# table: the ORM's objects cost more Python, and nothing here changes them)
_LOCK_FILES = (
    select(
        _REFS.id,
        _REFS.join_code_id,
        _REFS.instance_id,
        _REFS.uploaded_by,
        _REFS.unit_id,
        _REFS.content_type,
    )
    .where(_REFS.id.in_(bindparam("ids", expanding=True)))
    .order_by(_REFS.id)
    .with_for_update()
)


class _Ref(NamedTuple):
    """A `_LOCK_FILES` row."""

    id: str
    join_code_id: int | None
    instance_id: int | None
    uploaded_by: int | None
    unit_id: int | None
    content_type: str


def check_references(
    uow: UnitOfWork,
    actor: Actor,
    data: dict,
    fields: set[str],
    join_code_id: int | None = None,
    instance_id: int | None = None,
    known: dict | None = None,
    videos: frozenset[str] = frozenset(),
    images: frozenset[str] = frozenset(),
    videos_only: frozenset[str] = frozenset(),
) -> list[str]:
    """The file ids a form refers to, each checked to exist and be usable by the caller,
    to be a video only at a path of `videos` (the fields whose schema takes one), an
    image at a path of `images` (the fields that take images alone: photos) and a video at
    a path of `videos_only` (the fields that take videos alone: a 视频证明).

    Their rows stay locked until the form commits, so the clean-up of unused uploads
    never deletes a file a form is taking into use. A file the instance's data `known`
    already holds at the same place was checked and linked then (a linked file is never
    cleaned up), so it is neither read again nor returned.
    """
    reads = Reads(uow.session)
    checked = references(
        uow,
        actor,
        data,
        fields,
        reads,
        join_code_id,
        instance_id,
        known,
        videos,
        images,
        videos_only,
    )
    reads.run()
    return checked()


def references(
    uow: UnitOfWork,
    actor: Actor,
    data: dict,
    fields: set[str],
    reads: Reads,
    join_code_id: int | None = None,
    instance_id: int | None = None,
    known: dict | None = None,
    videos: frozenset[str] = frozenset(),
    images: frozenset[str] = frozenset(),
    videos_only: frozenset[str] = frozenset(),
) -> Callable[[], list[str]]:
    """`check_references`, its query queued in `reads` to go to the server with others:
    once they have run, the function returned checks the files (FormInvalid naming each
    field whose file is missing, not the caller's to use, a video where the field takes
    none, other than an image where it takes images alone, `images`, or other than a video
    where it takes videos alone, `videos_only`) and gives their ids."""
    wanted, takes_video, photos, films = {}, set(), set(), set()
    for path in fields:
        for where, value in values_at(data, path):
            if isinstance(value, str):
                wanted[where] = value
                if path in videos:
                    takes_video.add(where)
                if path in images:
                    photos.add(where)
                if path in videos_only:
                    films.add(where)
    if known and wanted:
        held = {where: value for path in fields for where, value in values_at(known, path)}
        wanted = {where: v for where, v in wanted.items() if held.get(where) != v}
    if not wanted:
        return list
    answer = reads.add(_LOCK_FILES, {"ids": sorted(set(wanted.values()))})

    def checked() -> list[str]:
        rows = {r[0]: _Ref(*r) for r in answer.rows}
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
            elif field in photos and row.content_type not in IMAGE_TYPES:
                errors[field] = ONLY_IMAGES
            elif field in films and row.content_type not in VIDEO_TYPES:
                errors[field] = ONLY_VIDEO
            elif row.content_type in VIDEO_TYPES and field not in takes_video:
                errors[field] = NO_VIDEO
        if errors:
            raise FormInvalid(errors)
        return list(wanted.values())

    return checked


def link_to_instance(
    uow: UnitOfWork,
    file_ids: list[str],
    instance_id: int,
    unit_id: int | None,
    later: Later | None = None,
) -> None:
    """Make the files of a form visible with its application (to its reviewers and unit):
    now, or kept in `later` for the COMMIT. The files were checked, and locked, by
    `check_references`."""
    if file_ids:
        write(
            uow.session,
            _LINK,
            [{"file_id": f, "instance_id": instance_id, "unit_id": unit_id} for f in file_ids],
            later,
        )


_FILES = StoredFile.__table__
# one file per run: one statement for any number of files (kept, its SQL is compiled once)
_LINK = (
    _FILES.update()
    .where(
        _FILES.c.id == bindparam("file_id", type_=_FILES.c.id.type),
        _FILES.c.instance_id.is_(None),
    )
    .values(
        instance_id=bindparam("instance_id", type_=_FILES.c.instance_id.type),
        unit_id=bindparam("unit_id", type_=_FILES.c.unit_id.type),
    )
)


def _unused(cutoff):
    """Uploads older than `cutoff` that no application, member record, bill, feedback or
    password-reset request uses."""
    refers = [
        sa.exists().where(column == StoredFile.id)
        for column in (
            Member.photo_file_id,
            Member.id_front_file_id,
            Member.id_back_file_id,
            Bill.voucher_file_id,
            FeedbackFile.file_id,  # a 问题反馈's screenshots
            UnitPasswordRequest.file_id,  # a 单位账号密码重置's stamped form
        )
    ]
    return sa.and_(
        StoredFile.instance_id.is_(None),
        StoredFile.created_at < cutoff,
        *(sa.not_(r) for r in refers),
    )


def delete_unused_uploads(ctx: Context, uow: UnitOfWork, batch: int = 500) -> dict:
    """Delete uploads no application used within a day; a blob goes with its last row.

    One hash per transaction: its blob lock, its unused rows (rows a form is taking into
    use right now are locked and skipped), then the blob if no row refers to it.
    """
    cutoff = ctx.now() - UNUSED_AFTER
    hashes = uow.session.scalars(
        select(StoredFile.sha256).where(_unused(cutoff)).distinct().limit(batch)
    ).all()
    uow.rollback()
    deleted_files = deleted_blobs = 0
    for digest in hashes:
        _lock_blob(uow, digest)
        ids = uow.session.scalars(
            select(StoredFile.id)
            .where(_unused(cutoff), StoredFile.sha256 == digest)
            .order_by(StoredFile.id)
            .with_for_update(skip_locked=True)
        ).all()
        if ids:
            uow.session.execute(
                sa.delete(StoredFile)
                .where(StoredFile.id.in_(ids))
                .execution_options(synchronize_session=False)
            )
            deleted_files += len(ids)
        if not uow.session.scalar(select(sa.exists().where(StoredFile.sha256 == digest))):
            ctx.storage.delete(digest)
            deleted_blobs += 1
        uow.commit()
    return {"files": deleted_files, "blobs": deleted_blobs}
