"""The largest form the service takes: 200 persons on one enrolment, refused at 201.

A form of 200 persons runs the whole way — each person checked, a fee line each, a learning
task each, a certificate each — and a refusal names the very person at fault among them.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from conftest import in_db, upload
from conftest import step_task as step
from sqlalchemy import func, select

from service.db import db
from service.db.models import Bill, Certificate, LearningTask, Member, ProcessInstance
from service.domain.validation import make_resident_id
from service.services.membership.roster import MemberSeed, add_member

MOST = 200
APPROVE = {"decision": "approve", "remark": "同意"}
FINANCE_APPROVE = {
    "decision": "approve",
    "remark": "已到账",
    "receipt_number": "FP2026000200",
    "receipt_date": "2026-11-28",
}

pytestmark = pytest.mark.usefixtures("pinned_clock")


def seed_persons(app, unit_id: int, count: int, born=date(1975, 1, 1)) -> list[tuple[str, str]]:
    """`count` ordinary members of the unit, born a week apart from `born`."""
    people = []
    with app.app_context():
        for i in range(count):
            day = born + timedelta(days=7 * i)
            id_number = make_resident_id(f"440106{day:%Y%m%d}{i % 1000:03d}")
            name = f"学员{i:03d}"
            add_member(
                db.session,
                MemberSeed(name, id_number, unit_id, memberships={"普通会员": date(2027, 6, 30)}),
            )
            people.append((id_number, name))
        db.session.commit()
        db.session.remove()
    return people


def form(client, headers, people) -> dict:
    """An initial-education form for `people`, the materials uploaded once and shared."""
    files = {k: upload(client, headers) for k in ("diploma", "social_insurance", "verification")}
    lines = [
        {"id_number": n, "name": name, "certificate_type": "监理员", "specialty_1": "房屋建筑工程"}
        | files
        for n, name in people
    ]
    return {"pledge": upload(client, headers), "persons": lines}


def instances(app) -> int:
    return in_db(app, lambda s: s.scalar(select(func.count()).select_from(ProcessInstance)))


def test_a_form_of_201_persons_is_refused_naming_the_field_and_nothing_is_saved(
    app, client, login, world
):
    unit = login("unit")
    # the form is refused as a whole, before anyone on it is looked up: nobody need exist
    days = [date(1980, 1, 1) + timedelta(days=i) for i in range(MOST + 1)]
    people = [
        (make_resident_id(f"440106{d:%Y%m%d}{i:03d}"), f"学员{i:03d}") for i, d in enumerate(days)
    ]
    data = form(client, unit, people)

    reply = client.post(
        "/api/v1/processes/initial_education/instances", headers=unit, json={"data": data}
    )

    assert reply.status_code == 422, reply.get_json()
    body = reply.get_json()
    assert body["errors"]["persons"] == "报名人员须为 1 至 200 人", body["errors"]
    assert [k for k in body["errors"] if k.startswith("persons")] == ["persons"], body["errors"]
    assert "报名人员须为 1 至 200 人" in body["message"], body
    assert instances(app) == 0


def test_a_form_of_200_persons_names_the_one_person_at_fault_then_runs_to_200_certificates(
    app, client, login, world
):
    unit = login("unit")
    people = seed_persons(app, world.unit_id, MOST)
    # the 138th person is 66 years old: over the 60 of the initial education for 监理员
    (old,) = seed_persons(app, world.unit_id, 1, born=date(1960, 3, 3))
    data = form(client, unit, people[:137] + [old] + people[138:])

    refused = client.post(
        "/api/v1/processes/initial_education/instances", headers=unit, json={"data": data}
    )
    assert refused.status_code == 422, refused.get_json()
    errors = refused.get_json()["errors"]
    assert [k for k in errors if k.startswith("persons.")] == ["persons.137"], errors
    assert errors["eligibility"][0].startswith(f"{old[1]}（{old[0]}）"), errors
    assert instances(app) == 0

    started = client.post(
        "/api/v1/processes/initial_education/instances",
        headers=unit,
        json={"data": form(client, unit, people)},
    )
    assert started.status_code == 201, started.get_json()
    inst = started.get_json()
    assert (inst["status"], inst["subject_name"]) == ("机构初审中", "学员000等200人")

    step(client, login("agency"), inst["id"], APPROVE)
    assert step(client, login("association"), inst["id"], APPROVE)["status"] == "待缴费"
    bill = in_db(app, lambda s: s.scalars(select(Bill).where(Bill.instance_id == inst["id"])).one())
    assert len(bill.lines) == MOST and f"{bill.amount:.2f}" == f"{60 * MOST:.2f}"
    assert [line["id_number"] for line in bill.lines] == [n for n, _ in people]
    step(client, unit, inst["id"], {"fee_voucher": upload(client, unit)})
    done = step(client, login("finance"), inst["id"], FINANCE_APPROVE)
    assert (done["status"], done["finished"]) == ("审批完成", False)
    opened = in_db(
        app,
        lambda s: s.scalars(
            select(LearningTask.id_number).where(LearningTask.instance_id == inst["id"])
        ).all(),
    )
    assert sorted(opened) == sorted(n for n, _ in people)

    records = [
        {
            "id_number": n,
            "name": name,
            "completed_hours": 24,
            "exam_status": "已通过",
            "exam_attempts": 1,
        }
        for n, name in people
    ]
    passed = client.post(
        "/api/v1/learning-records", headers=login("association"), json={"records": records}
    )
    assert passed.status_code == 200, passed.get_json()
    assert passed.get_json()["passed"] == MOST

    detail = client.get(f"/api/v1/instances/{inst['id']}", headers=unit).get_json()
    assert (detail["status"], len(detail["data"]["persons"])) == ("审批完成", MOST)
    issued = in_db(
        app,
        lambda s: s.scalars(
            select(Member.id_number)
            .join(Certificate, Certificate.member_id == Member.id)
            .where(Certificate.type == "监理员")
        ).all(),
    )
    assert sorted(issued) == sorted(n for n, _ in people)
    assert in_db(app, lambda s: s.get(ProcessInstance, inst["id"]).finished)
