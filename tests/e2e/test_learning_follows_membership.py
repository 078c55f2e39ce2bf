"""FAQ 3.18: learning may be finished while the membership is valid. A person learning when
their 普通会籍 is renewed (个人会员费缴纳, confirmed by finance) keeps learning to the new
end: the learning task's deadline and the timer of the form that opened it follow."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from conftest import in_db, on_day, upload
from conftest import start_form as start
from conftest import step_task as step
from sqlalchemy import select

from service.db.models import AuditRecord, LearningTask, WaitingEvent
from service.db.uow import UnitOfWork
from service.domain.validation import make_resident_id
from service.services.membership.roster import MemberSeed, add_member
from service.services.workflow.timers import fire_due_timers

pytestmark = pytest.mark.usefixtures("pinned_clock")  # business day 2026-11-28


def seed(app, unit_id: int, name: str, prefix: str, until: date) -> str:
    id_number = make_resident_id(prefix)

    def add(s):
        add_member(s, MemberSeed(name, id_number, unit_id, memberships={"普通会员": until}))
        s.commit()

    in_db(app, add)
    return id_number


def learning(app, instance_id: int) -> dict:
    """id number -> (status, deadline, the deadline timer's due time in UTC)."""

    def read(s):
        tasks = s.scalars(select(LearningTask).where(LearningTask.instance_id == instance_id))
        due = dict(
            s.execute(
                select(WaitingEvent.correlation_key, WaitingEvent.due_at).where(
                    WaitingEvent.instance_id == instance_id, WaitingEvent.kind == "timer"
                )
            ).all()
        )
        return {t.id_number: (t.status, t.deadline, due.get(t.id_number)) for t in tasks}

    return in_db(app, read)


def enrol(client, login, unit, id_number: str, name: str) -> int:
    """An initial education for one person, through finance: the person is learning."""
    person = {
        "id_number": id_number,
        "name": name,
        "certificate_type": "监理员",
        "specialty_1": "房屋建筑工程",
        "diploma": upload(client, unit),
        "social_insurance": upload(client, unit),
        "verification": upload(client, unit),
    }
    data = {"pledge": upload(client, unit), "persons": [person]}
    inst = start(client, unit, "initial_education", data)
    step(client, login("agency"), inst["id"], {"decision": "approve"})
    step(client, login("association"), inst["id"], {"decision": "approve"})
    step(client, unit, inst["id"], {"fee_voucher": upload(client, unit)})
    receipt = {"receipt_number": f"FP2026{inst['id']:06d}", "receipt_date": "2026-11-28"}
    done = step(client, login("finance"), inst["id"], {"decision": "approve", **receipt})
    assert done["status"] == "审批完成" and not done["finished"]
    return inst["id"]


def renew(client, login, unit, id_number: str, name: str) -> dict:
    line = {"id_number": id_number, "name": name, "member_level": "普通会员"}
    inst = start(client, unit, "membership_renewal", {"persons": [line]})
    step(client, unit, inst["id"], {"fee_voucher": upload(client, unit)})
    receipt = {"receipt_number": "CZ2026000888", "receipt_date": "2026-11-28"}
    return step(client, login("finance"), inst["id"], {"decision": "approve", **receipt})


def fire_on(app, moment: datetime) -> None:
    ctx = app.extensions["memberflow"]
    saved, ctx.clock = ctx.clock, (lambda: moment)
    try:
        with app.app_context():
            from service.db import db

            fire_due_timers(ctx, UnitOfWork(db.session))
            db.session.remove()
    finally:
        ctx.clock = saved


def test_a_renewed_membership_carries_the_open_learning_to_its_new_end(app, client, login, world):
    unit = login("unit")
    learner = seed(app, world.unit_id, "梁志远", "44010619820303345", date(2027, 6, 30))
    other = seed(app, world.unit_id, "何美玲", "44010619850505234", date(2027, 6, 30))
    form = enrol(client, login, unit, learner, "梁志远")
    beside = enrol(client, login, unit, other, "何美玲")
    # 2027-06-30 23:59:59 in Beijing is 15:59:59 UTC
    assert learning(app, form) == {
        learner: ("开课未学习", date(2027, 6, 30), datetime(2027, 6, 30, 15, 59, 59))
    }

    with on_day(app, date(2026, 11, 28)):
        done = renew(client, login, unit, learner, "梁志远")
    assert done["finished"] and done["status"] == "审批完成"

    # paid early: three years on from the old end, and the learning with it
    assert learning(app, form) == {
        learner: ("开课未学习", date(2030, 6, 30), datetime(2030, 6, 30, 15, 59, 59))
    }
    moved = in_db(
        app,
        lambda s: s.scalars(
            select(AuditRecord.detail).where(
                AuditRecord.instance_id == form, AuditRecord.action == "deadline"
            )
        ).all(),
    )
    assert moved == [{"moved": {learner: "2030-06-30"}}]
    # nobody else's learning moved
    assert learning(app, beside)[other][1] == date(2027, 6, 30)
    shown = client.get("/api/v1/learning-tasks", headers=unit).get_json()["items"]
    assert {t["id_number"]: t["deadline"] for t in shown} == {
        learner: "2030-06-30",
        other: "2027-06-30",
    }

    # the old deadline passes: only the person whose membership was not renewed expires
    fire_on(app, datetime(2027, 7, 1, 1, 0, 0))
    assert learning(app, form)[learner][0] == "开课未学习"
    assert learning(app, beside)[other][0] == "已过期"
    # the new one passes too: expired then
    fire_on(app, datetime(2030, 7, 1, 1, 0, 0))
    assert learning(app, form)[learner][0] == "已过期"
