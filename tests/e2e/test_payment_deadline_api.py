"""The payment deadline: a form left unpaid past `payment_deadline_days` closes, its bill void."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from conftest import in_db, upload
from conftest import start_form as start
from conftest import step_task as step
from sqlalchemy import select

from service.db import db
from service.db.models import AuditRecord, Bill, ProcessInstance, WaitingEvent
from service.db.uow import UnitOfWork
from service.domain.validation import make_resident_id
from service.services.membership.roster import MemberSeed, add_member
from service.services.workflow.timers import fire_due_timers

# the pinned business day: 2026-11-28 12:00 in Shanghai
PINNED = datetime(2026, 11, 28, 4, 0, 0)

pytestmark = pytest.mark.usefixtures("pinned_clock")


def enrol(app, client, login, world) -> tuple[dict, str]:
    """An initial-education form for one person, reviewed up to 待缴费."""
    id_number = make_resident_id("44010619800101123")

    def add(s):
        add_member(
            s,
            MemberSeed(
                "周建国", id_number, world.unit_id, memberships={"普通会员": date(2027, 6, 30)}
            ),
        )
        s.commit()

    in_db(app, add)
    unit = login("unit")
    data = {
        "pledge": upload(client, unit),
        "persons": [
            {
                "id_number": id_number,
                "name": "周建国",
                "certificate_type": "监理员",
                "specialty_1": "房屋建筑工程",
                "diploma": upload(client, unit),
                "social_insurance": upload(client, unit),
                "verification": upload(client, unit),
            }
        ],
    }
    inst = start(client, unit, "initial_education", data)
    step(client, login("agency"), inst["id"], {"decision": "approve"})
    assert step(client, login("association"), inst["id"], {"decision": "approve"})["status"] == (
        "待缴费"
    )
    return inst, data


def fire_at(app, moment: datetime) -> int:
    ctx = app.extensions["memberflow"]
    ctx.clock = lambda: moment
    with app.app_context():
        try:
            return fire_due_timers(ctx, UnitOfWork(db.session))
        finally:
            db.session.remove()


def test_an_unpaid_form_closes_at_its_deadline_and_frees_the_person(app, client, login, world):
    inst, data = enrol(app, client, login, world)
    due = in_db(
        app,
        lambda s: s.scalars(
            select(WaitingEvent.due_at).where(
                WaitingEvent.instance_id == inst["id"], WaitingEvent.kind == "timer"
            )
        ).one(),
    )
    assert due == PINNED + timedelta(days=30)

    assert fire_at(app, due - timedelta(seconds=1)) == 0
    unit = login("unit")
    assert client.get(f"/api/v1/instances/{inst['id']}", headers=unit).get_json()["status"] == (
        "待缴费"
    )

    assert fire_at(app, due + timedelta(seconds=30)) == 1
    detail = client.get(f"/api/v1/instances/{inst['id']}", headers=unit).get_json()
    assert (detail["status"], detail["finished"], detail["open_tasks"]) == ("已关闭", True, [])
    assert detail["bill"]["status"] == "void" and detail["bill"]["status_label"] == "已作废"

    def facts(s):
        row = s.get(ProcessInstance, inst["id"])
        timer_rows = s.scalars(
            select(WaitingEvent).where(WaitingEvent.instance_id == inst["id"])
        ).all()
        audit = s.scalars(
            select(AuditRecord.action).where(AuditRecord.instance_id == inst["id"])
        ).all()
        return row.end_event, timer_rows, audit, s.scalars(select(Bill.status)).all()

    facts_now = in_db(app, facts)
    end_event, timer_rows, audit, bills = facts_now
    assert end_event == "payment_expired_end" and timer_rows == [] and bills == ["void"]
    assert audit[-1] == "timer", facts_now
    assert fire_at(app, due + timedelta(days=1)) == 0  # nothing left to fire

    # the person is free again: a new form for the same person starts
    again = start(client, unit, "initial_education", {**data, "pledge": upload(client, unit)})
    assert again["status"] == "机构初审中"


def test_a_form_paid_before_the_deadline_never_closes(app, client, login, world):
    inst, _ = enrol(app, client, login, world)
    unit = login("unit")
    paid = step(client, unit, inst["id"], {"fee_voucher": upload(client, unit)})
    assert paid["status"] == "财务复核中"
    assert fire_at(app, PINNED + timedelta(days=31)) == 0
    detail = client.get(f"/api/v1/instances/{inst['id']}", headers=unit).get_json()
    assert detail["status"] == "财务复核中" and detail["bill"]["status"] == "paid"
