"""Uploads no application used are deleted after a day; a join code's quota holds under
simultaneous uploads (threads on PostgreSQL)."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from conftest import (
    applicant_data,
    in_db,
    make_app,
    new_join_code,
    png_bytes,
    race,
)
from sqlalchemy import select

from service.db import db
from service.db.models import Bill, StoredFile
from service.db.uow import UnitOfWork
from service.domain.validation import make_resident_id
from service.services.membership.roster import MemberSeed, add_member
from service.services.schedules.scheduler import JOBS, run_job

pytestmark = pytest.mark.alone  # see scripts/test


def upload(client, headers, content: bytes) -> str:
    reply = client.post(
        "/api/v1/files", headers=headers, data={"file": (io.BytesIO(content), "m.png")}
    )
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()["id"]


def run_cleanup(app, after: timedelta, at: datetime | None = None) -> dict:
    """The cleanup job run `after` from now, or at the moment `at`."""
    ctx = app.extensions["memberflow"]
    clock = ctx.clock
    moment = at or clock() + after
    ctx.clock = lambda: moment
    try:
        with app.app_context():
            try:
                return run_job(ctx, UnitOfWork(db.session), "unused_uploads", "test")
            finally:
                db.session.remove()
    finally:
        ctx.clock = clock


def test_uploads_no_application_used_within_a_day_are_deleted_with_their_last_blob(
    app, client, world, login
):
    unit = login("unit")
    storage = app.extensions["memberflow"].storage
    data = applicant_data(client, unit)
    started = client.post(
        "/api/v1/processes/member_join/instances", headers=unit, json={"data": data}
    )
    assert started.status_code == 201, started.get_json()
    used = data["photo"]  # linked to the application
    shared = png_bytes("#00aa00")
    abandoned = upload(client, unit, png_bytes("#aa0000"))  # alone with its blob
    twin_old = upload(client, unit, shared)  # same bytes as a file a bill uses
    voucher = upload(client, unit, shared)
    photo = upload(client, unit, png_bytes("#0000aa"))  # a member's photo, no application

    instance_id = started.get_json()["id"]

    def refer(session):
        member = add_member(session, MemberSeed("李明", make_resident_id("44010619800101003"), 1))
        member.photo_file_id = photo
        session.add(
            Bill(
                instance_id=instance_id,
                unit_id=world.unit_id,
                kind="membership",
                amount=Decimal("300"),
                lines=[],
                receipt_type="电子财政收据",
                voucher_file_id=voucher,
            )
        )
        session.commit()

    in_db(app, refer)

    def hashes(session) -> dict:
        return dict(session.execute(select(StoredFile.id, StoredFile.sha256)).all())

    before = in_db(app, hashes)
    assert run_cleanup(app, timedelta(hours=23)) == {"files": 0, "blobs": 0}
    a_day_on = app.extensions["memberflow"].clock() + timedelta(days=1, minutes=5)
    result = run_cleanup(app, timedelta(0), at=a_day_on)
    after = in_db(app, hashes)
    assert set(before) - set(after) == {abandoned, twin_old}
    assert result == {"files": 2, "blobs": 1}
    assert not storage.exists(before[abandoned])
    assert storage.exists(before[twin_old])  # the voucher's row still refers to these bytes
    for kept in (used, voucher, photo):
        assert storage.exists(before[kept])
    # the job runs once per hour slot: a second run in the same hour does nothing (run at
    # the same moment: a minute later was the next hour's slot when the first ran at :59)
    assert run_cleanup(app, timedelta(0), at=a_day_on) is None
    assert "unused_uploads" in JOBS


def test_simultaneous_uploads_through_one_join_code_never_pass_its_quota(pg_url, tmp_path):
    images = [png_bytes(f"#{i:02x}{i:02x}40") for i in range(12)]
    size = len(images[0])
    app = make_app(pg_url, tmp_path, join_quota_files=100, join_quota_bytes=size * 4 + size // 2)
    code = new_join_code(app)

    def send(i: int) -> int:
        reply = app.test_client().post(
            f"/api/v1/join-codes/{code}/files",
            data={"file": (io.BytesIO(images[i]), f"{i}.png")},
        )
        return reply.status_code

    statuses = race(12, send)
    assert sorted(statuses) == [201] * 4 + [413] * 8, statuses
    stored = in_db(app, lambda s: s.scalar(select(db.func.count(StoredFile.id))))
    assert stored == 4
