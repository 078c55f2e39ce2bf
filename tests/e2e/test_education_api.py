"""An education enrolment through the HTTP API: eligibility, review, bill, learning, certificate."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

from conftest import business_day, member_headers, upload
from conftest import step_task as step
from openpyxl import Workbook
from sqlalchemy import select

from service.db import db
from service.db.models import Bill, Certificate, LearningTask, ProcessInstance
from service.domain.validation import ID_NUMBER_CELL_IS_NUMBER, make_resident_id
from service.services.membership.roster import CertificateSeed, MemberSeed, add_member

TODAY = date(2026, 11, 28)
FINANCE_APPROVE = {
    "decision": "approve",
    "remark": "已到账",
    "receipt_number": "FP2026000123",
}  # dated at its use: the business day (not before the form's submission, nor after today)


def seed(app, unit_id: int, name: str, prefix: str, **kwargs) -> str:
    id_number = make_resident_id(prefix)
    with app.app_context():
        add_member(
            db.session,
            MemberSeed(
                name=name,
                id_number=id_number,
                unit_id=unit_id,
                memberships=kwargs.pop("memberships", {"普通会员": date(2027, 6, 30)}),
                **kwargs,
            ),
        )
        db.session.commit()
        db.session.remove()
    return id_number


def person(client, headers, id_number, name, cert_type="监理员") -> dict:
    return {
        "id_number": id_number,
        "name": name,
        "certificate_type": cert_type,
        "specialty_1": "房屋建筑工程",
        "specialty_2": "市政公用工程",
        "diploma": upload(client, headers),
        "social_insurance": upload(client, headers),
        "verification": upload(client, headers),
    }


def excel(rows, header=("身份证号", "姓名", "已完成学时", "考试状态", "考试次数")) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_an_initial_education_enrolment_ends_in_certificates(app, client, login, world):
    unit = login("unit")
    a = seed(app, world.unit_id, "周建国", "44010619800101123")
    b = seed(app, world.unit_id, "何美玲", "44010619850505234")
    old = seed(app, world.unit_id, "冯老伯", "44010619600101345")  # 66 years old
    held = seed(
        app,
        world.unit_id,
        "许已持",
        "44010619900101456",
        certificates=[CertificateSeed("监理员", "JL2024000001", date(2027, 12, 31))],
    )

    listed = client.get(
        f"/api/v1/units/{world.unit_id}/eligibility?process=initial_education&certificate_type=监理员",
        headers=unit,
    )
    assert listed.status_code == 200, listed.get_json()
    by_id = {item["id_number"]: item for item in listed.get_json()["items"]}
    assert by_id[a]["eligible"] and by_id[b]["eligible"]
    assert not by_id[old]["eligible"] and "60" in by_id[old]["reasons"][0]
    assert not by_id[held]["eligible"]
    missing = client.get(
        f"/api/v1/units/{world.unit_id}/eligibility?process=initial_education", headers=unit
    )
    assert missing.status_code == 422 and "certificate_type" in missing.get_json()["errors"]
    other = client.get(
        f"/api/v1/units/{world.other_unit_id}/eligibility?process=initial_education"
        "&certificate_type=监理员",
        headers=unit,
    )
    assert other.status_code == 404

    pledge = upload(client, unit)
    refused = client.post(
        "/api/v1/processes/initial_education/instances",
        headers=unit,
        json={
            "data": {
                "pledge": pledge,
                "persons": [person(client, unit, a, "周建国"), person(client, unit, old, "冯老伯")],
            }
        },
    )
    assert refused.status_code == 422, refused.get_json()
    body = refused.get_json()
    assert [k for k in body["errors"] if k.startswith("persons.")] == ["persons.1"], body
    assert body["errors"]["eligibility"][0].startswith(f"冯老伯（{old}）")
    with app.app_context():
        assert db.session.scalar(select(ProcessInstance.id)) is None  # nothing saved

    started = client.post(
        "/api/v1/processes/initial_education/instances",
        headers=unit,
        json={
            "data": {
                "pledge": pledge,
                "persons": [
                    person(client, unit, a, "周建国"),
                    person(client, unit, b, "何美玲", "专业监理工程师"),
                ],
            }
        },
    )
    assert started.status_code == 201, started.get_json()
    inst = started.get_json()
    assert inst["business_key"].startswith("JY-") and inst["status"] == "机构初审中"
    assert inst["subject_name"] == "周建国等2人"

    # the same person cannot be enrolled again while this form is under review
    again = client.post(
        "/api/v1/processes/initial_education/instances",
        headers=unit,
        json={"data": {"pledge": pledge, "persons": [person(client, unit, a, "周建国")]}},
    )
    assert (
        again.status_code == 422
        and "有办理中的表单（普通会员初始教育）" in again.get_json()["message"]
    )

    step(client, login("agency"), inst["id"], {"decision": "approve"})
    paying = step(client, login("association"), inst["id"], {"decision": "approve"})
    assert paying["status"] == "待缴费"
    with app.app_context():
        bill = db.session.scalars(select(Bill)).one()
        assert (bill.status, f"{bill.amount:.2f}", bill.receipt_type) == (
            "unpaid",
            "160.00",
            "电子发票",
        )
        db.session.remove()
    step(client, unit, inst["id"], {"fee_voucher": upload(client, unit)})
    receipt = {**FINANCE_APPROVE, "receipt_date": business_day(app)}
    done = step(client, login("finance"), inst["id"], receipt)
    assert done["status"] == "审批完成" and not done["finished"]
    with app.app_context():
        bill = db.session.scalars(select(Bill)).one()
        assert (bill.status, bill.receipt_number) == ("confirmed", "FP2026000123")
        db.session.remove()

    tasks = client.get("/api/v1/learning-tasks", headers=unit).get_json()
    assert {t["id_number"]: t["status"] for t in tasks["items"]} == {
        a: "开课未学习",
        b: "开课未学习",
    }
    assert {t["deadline"] for t in tasks["items"]} == {"2027-06-30"}
    # the unit is told, the deadline written as every message writes a date (no leading 0)
    notices = client.get("/api/v1/notifications", headers=unit).get_json()["items"]
    opened = [n["body"] for n in notices if n["title"].startswith("学习已开通")]
    # one notice for the persons opened together (a 24-person form is not 24 notices)
    assert len(opened) == 1 and "请在2027年6月30日前完成" in opened[0]
    assert opened[0].startswith("周建国、何美玲的普通会员初始教育学习已开通")
    # ... and each person, their own
    own = client.get("/api/v1/notifications", headers=member_headers(client, a)).get_json()
    assert [n["title"] for n in own["items"] if "学习已开通" in n["title"]] == [
        "学习已开通：周建国"
    ]

    association = login("association")
    # a bad row (unknown ID number) rejects the whole file: nothing is imported
    stranger = make_resident_id("44010619770707567")
    bad = excel([(a, "周建国", 24, "已通过", 1), (stranger, "路人甲", 3, "未考试", 0)])
    reply = client.post(
        "/api/v1/learning-records/import",
        headers=association,
        data={"file": (io.BytesIO(bad), "学习记录.xlsx")},
    )
    assert reply.status_code == 422, reply.get_json()
    assert list(reply.get_json()["errors"]) == ["第3行"]
    tasks = client.get("/api/v1/learning-tasks", headers=unit).get_json()
    assert {t["status"] for t in tasks["items"]} == {"开课未学习"}
    no_column = excel(
        [(a, "周建国", 24, "已通过")], header=("身份证号", "姓名", "已完成学时", "考试状态")
    )
    reply = client.post(
        "/api/v1/learning-records/import",
        headers=association,
        data={"file": (io.BytesIO(no_column), "x.xlsx")},
    )
    assert reply.status_code == 422 and "考试次数" in reply.get_json()["message"]
    # an ID number typed into a number-format cell has lost its last digits: said so
    as_number = excel([(float(a[:15] + "000"), "周建国", 24, "已通过", 1)])
    reply = client.post(
        "/api/v1/learning-records/import",
        headers=association,
        data={"file": (io.BytesIO(as_number), "x.xlsx")},
    )
    assert reply.status_code == 422, reply.get_json()
    assert reply.get_json()["errors"] == {"第2行": ID_NUMBER_CELL_IS_NUMBER}

    good = excel([(a, "周建国", 24, "已通过", 2), (b, "何美玲", 6, "未通过", 1)])
    reply = client.post(
        "/api/v1/learning-records/import",
        headers=association,
        data={"file": (io.BytesIO(good), "学习记录.xlsx")},
    )
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json() == {"received": 2, "updated": 2, "passed": 1, "failed": 0}
    with app.app_context():
        cert = db.session.scalars(select(Certificate).where(Certificate.type == "监理员")).all()
        issued = [c for c in cert if c.number != "JL2024000001"]
        assert len(issued) == 1 and issued[0].number.startswith("JL")
        assert (issued[0].specialty_1, issued[0].specialty_2) == ("房屋建筑工程", "市政公用工程")
        statuses = dict(
            db.session.execute(select(LearningTask.id_number, LearningTask.status)).all()
        )
        assert statuses == {a: "已通过", b: "学习中"}
        db.session.remove()

    # the deadline passes for the other learner: the learning expires and the form ends
    ctx = app.extensions["memberflow"]
    ctx.clock = lambda: datetime(2027, 7, 1, 0, 0, 0)
    from service.db.uow import UnitOfWork
    from service.services.workflow.timers import fire_due_timers

    with app.app_context():
        assert fire_due_timers(ctx, UnitOfWork(db.session)) >= 1
        statuses = dict(
            db.session.execute(select(LearningTask.id_number, LearningTask.status)).all()
        )
        assert statuses == {a: "已通过", b: "已过期"}
        row = db.session.get(ProcessInstance, inst["id"])
        assert row.finished and row.status == "审批完成"
        db.session.remove()
    ctx.clock = lambda: datetime.now() - timedelta(hours=0)


def test_a_form_of_twelve_persons_is_checked_person_by_person_and_audited_in_one_line(
    app, client, login, world
):
    unit = login("unit")
    people = [
        (
            seed(app, world.unit_id, f"学员{i:02d}", f"4401061988{i + 1:02d}01{i:03d}"),
            f"学员{i:02d}",
        )
        for i in range(12)
    ]
    lines = [person(client, unit, n, name) for n, name in people]
    reply = client.post(
        "/api/v1/processes/initial_education/instances",
        headers=unit,
        json={"data": {"pledge": upload(client, unit), "persons": lines}},
    )
    assert reply.status_code == 201, reply.get_json()
    assert reply.get_json()["subject_name"] == "学员00等12人"
    detail = client.get(f"/api/v1/instances/{reply.get_json()['id']}", headers=unit).get_json()
    assert len(detail["data"]["persons"]) == 12 and "person_facts" not in detail["data"]
    with app.app_context():
        from service.db.models import AuditRecord

        titles = db.session.scalars(
            select(AuditRecord.task_title).where(AuditRecord.action == "system")
        ).all()
        assert titles == ["逐人核验办理条件×12"], titles
        db.session.remove()
