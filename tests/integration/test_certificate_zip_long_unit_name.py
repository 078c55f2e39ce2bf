"""A unit's certificate zip, made by a background job, when the unit's name is near its
200-character limit: the zip's name fits jobs.result_name (a varchar(200), which PostgreSQL
enforces), and a result that cannot be saved ends the job 失败, never 处理中 for ever."""

from __future__ import annotations

import hashlib
import logging
from datetime import date

import pytest
import sqlalchemy as sa
from conftest import PASSWORD, in_db, token_headers
from jobs_support import job_runner, seed_members, wait_for_job

from service.db.models import Account, Certificate, Job, Member
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.validation import make_credit_code
from service.services.membership import accounts
from service.services.schedules import jobs
from service.services.schedules.job_kinds import KINDS, FileResult, Kind

pytestmark = pytest.mark.alone  # see scripts/test

# 200 characters, rare ones outside the BMP among them (the limit of a unit's name)
LONG_UNIT = ("广东𠮷祥䶮盛建设工程监理咨询" * 14)[:192] + "工程监理有限公司"


def _long_named_unit(app, world) -> int:
    def create(session):
        admin = session.scalar(sa.select(Account).where(Account.username == "admin"))
        who = Actor(admin.id, admin.username, "secretariat_admin")
        unit = accounts.create_unit(
            UnitOfWork(session),
            who,
            LONG_UNIT,
            make_credit_code("91440101190468350"),
            world.agency_id,
            True,
            PASSWORD,
        )
        return unit["id"]

    return in_db(app, create)


def _certify(app, unit_id: int) -> list[int]:
    def certify(session):
        ids = session.scalars(
            sa.select(Member.id).where(Member.unit_id == unit_id).order_by(Member.id)
        ).all()
        for k, member_id in enumerate(ids):
            session.add(
                Certificate(
                    member_id=member_id,
                    type="监理员",
                    number=f"JL2026{k:06d}",
                    specialty_1="房屋建筑工程",
                    first_issued_on=date(2025, 1, 1),
                    valid_until=date(2099, 12, 31),
                    unit_name=LONG_UNIT,
                )
            )
        session.commit()
        return list(ids)

    return in_db(app, certify)


def test_the_zip_of_a_unit_with_a_two_hundred_character_name_is_named_within_its_column(
    app, client, world
):
    assert len(LONG_UNIT) == 200
    unit_id = _long_named_unit(app, world)
    seed_members(app, unit_id, 2)
    ids = _certify(app, unit_id)
    unit = token_headers(client, LONG_UNIT)
    with job_runner(app):
        started = client.post(
            f"/api/v1/units/{unit_id}/certificates/download-jobs",
            headers=unit,
            json={"member_ids": ids},
        )
        assert started.status_code == 202, started.get_json()
        done = wait_for_job(client, unit, started.get_json()["id"])
    assert done["status"] == "succeeded", done
    name = done["result"]["name"]
    today = app.extensions["memberflow"].today()
    tail = f"_电子证书_{today:%Y%m%d}.zip"  # what tells two zips apart, kept whole
    assert len(name) == 200 and name.endswith("…" + tail), name
    assert name.startswith(LONG_UNIT[: 199 - len(tail)])
    reply = client.get(f"/api/v1/jobs/{done['id']}/result", headers=unit)
    assert reply.status_code == 200 and reply.mimetype == "application/zip"


@pytest.mark.postgres
def test_a_result_the_database_refuses_ends_the_job_failed_with_a_reason(
    pg_app, monkeypatch, caplog
):
    """A job kind whose result's name is longer than jobs.result_name (a designer's new
    export, say): PostgreSQL refuses the row; the job ends 失败 and says so, once."""
    from conftest import seed_world

    world = seed_world(pg_app)
    too_long = "导" * 220 + ".xlsx"
    monkeypatch.setitem(
        KINDS,
        "too_long_export",
        Kind(
            "过长的导出",
            lambda *args: None,
            lambda *args: FileResult(too_long, "application/zip", b"PK", 1),
        ),
    )

    def submit(session):
        account = session.scalar(sa.select(Account).where(Account.unit_id == world.unit_id))
        who = Actor(account.id, account.name, "unit_admin", unit_id=world.unit_id)
        ctx = pg_app.extensions["memberflow"]
        job_id = jobs.submit(ctx, UnitOfWork(session), who, "too_long_export", {})["id"]
        return job_id, session.get(Job, job_id).token

    job_id, token = in_db(pg_app, submit)
    ctx = pg_app.extensions["memberflow"]
    with caplog.at_level(logging.ERROR, logger="memberflow.jobs"):
        outcome = in_db(
            pg_app,
            lambda s: jobs.run(ctx, UnitOfWork(s), job_id, token, "test", heartbeat=60),
        )
    assert outcome == "failed"
    row = in_db(pg_app, lambda s: s.get(Job, job_id))
    assert row.status == "failed" and row.result_name is None
    assert row.error == jobs.RESULT_NOT_SAVED
    assert not ctx.storage.exists(hashlib.sha256(b"PK").hexdigest())  # no blob left behind
    assert len([r for r in caplog.records if "结果保存失败" in r.getMessage()]) == 1
