"""FAQ 3.18: at most 10 exam attempts (rules/policy.json max_exam_attempts). A person who
fails the last one has ended the learning as 未通过: the certificate stays as it was, the
person is free for other businesses and a new enrolment, and the form ends once everyone's
learning has ended. A form started on a diagram without the failure's path ends the
person's learning by its deadline's path instead."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from conftest import REPO, in_db, make_app, parse_anew, token_headers
from lxml import etree
from sqlalchemy import select
from test_other_education_api import (
    approve,
    certificates,
    enrol,
    learning,
    record,
    seed,
    supervisor,
)

from service.db.models import Account, AuditRecord, Notification, ProcessInstance

pytestmark = pytest.mark.usefixtures("pinned_clock")


def form(client, headers, instance_id) -> tuple[bool, str]:
    reply = client.get(f"/api/v1/instances/{instance_id}", headers=headers)
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()["finished"], reply.get_json()["status"]


def archive_status(client, headers, unit_id, id_number) -> str:
    reply = client.get(f"/api/v1/units/{unit_id}/members?q={id_number}", headers=headers)
    assert reply.status_code == 200, reply.get_json()
    (item,) = reply.get_json()["items"]
    return item["status"]


def cancellation_reasons(client, headers, unit_id, id_number) -> list[str]:
    reply = client.get(
        f"/api/v1/units/{unit_id}/eligibility?process=certificate_cancellation", headers=headers
    )
    assert reply.status_code == 200, reply.get_json()
    return {i["id_number"]: i["reasons"] for i in reply.get_json()["items"]}[id_number]


def test_the_tenth_failure_ends_the_learning_frees_the_person_and_ends_the_form(
    app, client, login, world
):
    unit = login("unit")
    n = seed(app, world.unit_id, "罗建平", "44010619750909678", [supervisor(date(2027, 2, 28))])
    inst = enrol(client, unit, "continuing_education", [(n, "罗建平")], certificate_type="监理员")
    approve(app, client, login, inst["id"], "60.00")

    ninth = record(client, login, [(n, "罗建平", 24, "未通过", 9)])
    assert (ninth["passed"], ninth["failed"]) == (0, 0)
    assert learning(app, n)[0][1] == "学习中"
    assert form(client, unit, inst["id"]) == (False, "审批完成")
    assert any(
        "有未完成的学习任务" in r for r in cancellation_reasons(client, unit, world.unit_id, n)
    )

    tenth = record(client, login, [(n, "罗建平", 24, "未通过", 10)])
    assert tenth == {"received": 1, "updated": 1, "passed": 0, "failed": 1}
    assert learning(app, n)[0][1] == "未通过"
    assert form(client, unit, inst["id"]) == (True, "审批完成")
    assert archive_status(client, unit, world.unit_id, n) == "自由态"
    assert cancellation_reasons(client, unit, world.unit_id, n) == []
    assert certificates(app, n)["监理员"]["valid_until"] == date(2027, 2, 28)  # unchanged
    remarks = in_db(
        app,
        lambda s: list(
            s.scalars(
                select(AuditRecord.remark).where(
                    AuditRecord.instance_id == inst["id"], AuditRecord.action == "learning"
                )
            )
        ),
    )
    assert remarks == [f"罗建平（{n}）考试10次未通过，学习结束"]
    told = in_db(  # the unit and the person are told (业务消息 learning_failed), once each
        app,
        lambda s: sorted(
            (a.username, x.title)
            for x, a in s.execute(
                select(Notification, Account)
                .join(Account, Account.id == Notification.account_id)
                .where(Notification.kind == "learning_failed")
            )
        ),
    )
    assert told == sorted([(world.unit_name, "学习未通过：罗建平"), (n, "学习未通过：罗建平")])

    # the same result again changes nothing; a pass after it, or an 11th attempt, is refused
    assert record(client, login, [(n, "罗建平", 24, "未通过", 10)])["failed"] == 0
    late = record(client, login, [(n, "罗建平", 24, "已通过", 10)], expect=422)
    assert "已考试10次未通过，学习任务已结束" in late["message"]
    eleventh = record(client, login, [(n, "罗建平", 24, "未通过", 11)], expect=422)
    assert "考试次数不能超过10次" in eleventh["message"]
    assert learning(app, n)[0][1] == "未通过"

    # the person may enrol again, and pass this time
    again = enrol(client, unit, "continuing_education", [(n, "罗建平")], certificate_type="监理员")
    approve(app, client, login, again["id"], "60.00")
    assert record(client, login, [(n, "罗建平", 24, "已通过", 1)])["passed"] == 1
    assert form(client, unit, again["id"]) == (True, "审批完成")


def test_one_person_failing_for_good_and_one_passing_end_the_form(app, client, login, world):
    unit = login("unit")
    a = seed(app, world.unit_id, "陈伟强", "44010619750909678", [])
    b = seed(app, world.unit_id, "何丽", "44010619880808456", [])
    people = [(a, "陈伟强"), (b, "何丽")]
    extra = {"certificate_type": "监理员", "specialty_1": "房屋建筑工程"}
    from conftest import upload

    extra["verification"] = upload(client, unit)
    inst = enrol(client, unit, "initial_education", people, **extra)
    approve(app, client, login, inst["id"], "120.00")
    # both in one batch: the pass and the final failure move the form once
    both = record(client, login, [(a, "陈伟强", 24, "未通过", 10), (b, "何丽", 24, "已通过", 3)])
    assert (both["passed"], both["failed"]) == (1, 1)
    assert form(client, unit, inst["id"]) == (True, "审批完成")
    assert set(certificates(app, b)) == {"监理员"} and certificates(app, a) == {}
    assert [archive_status(client, unit, world.unit_id, n) for n in (a, b)] == ["自由态"] * 2


FAILURE_PATH = {
    "learning_failed",
    "learning_failed_end",
    "learning_to_failed",
    "learning_failed_to_end",
    "learning_failed_message",
}


def without_failure_path(root: Path) -> Path:
    """A copy of the designers' folders with the education diagram as it was before the
    failure's path was drawn."""
    for part in ("processes", "rules", "forms"):
        shutil.copytree(REPO / part, root / part)
    bpmn = root / "processes" / "shared" / "education.bpmn"
    tree = etree.parse(str(bpmn))
    for el in list(tree.iter()):
        if not isinstance(el.tag, str):
            continue
        drawn = el.get("bpmnElement")
        if el.get("id") in FAILURE_PATH or drawn in FAILURE_PATH or el.text in FAILURE_PATH:
            el.getparent().remove(el)
    tree.write(str(bpmn), xml_declaration=True, encoding="UTF-8")
    assert "learning_failed" not in bpmn.read_text()
    return root


def test_a_form_on_a_diagram_without_the_failure_path_ends_by_the_deadline_path(
    app, client, login, world, db_url, tmp_path, monkeypatch
):
    old_design = without_failure_path(tmp_path / "old")
    old = make_app(
        db_url,
        tmp_path,
        processes_dir=old_design / "processes",
        rules_dir=old_design / "rules",
        forms_dir=old_design / "forms",
    )
    old.extensions["memberflow"].clock = app.extensions["memberflow"].clock
    old_client = old.test_client()
    unit = token_headers(old_client, world.unit_name)
    n = seed(old, world.unit_id, "罗建平", "44010619750909678", [supervisor(date(2027, 2, 28))])
    inst = enrol(
        old_client, unit, "continuing_education", [(n, "罗建平")], certificate_type="监理员"
    )

    def old_login(who):
        return token_headers(old_client, world.logins[who])

    approve(old, old_client, old_login, inst["id"], "60.00")
    old_version = in_db(old, lambda s: s.get(ProcessInstance, inst["id"]).definition_version_id)

    # the fixed service (the diagram with the failure's path is the newest version) records
    # the tenth failure for the form still on the old version
    parse_anew(monkeypatch)
    new = make_app(db_url, tmp_path)
    new.extensions["memberflow"].clock = app.extensions["memberflow"].clock
    new_client = new.test_client()
    association = token_headers(new_client, "xiehui")
    reply = new_client.post(
        "/api/v1/learning-records",
        headers=association,
        json={
            "records": [
                {
                    "id_number": n,
                    "name": "罗建平",
                    "completed_hours": 24,
                    "exam_status": "未通过",
                    "exam_attempts": 10,
                }
            ]
        },
    )
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["failed"] == 1
    row = in_db(new, lambda s: s.get(ProcessInstance, inst["id"]))
    assert row.definition_version_id == old_version
    assert (row.finished, row.status) == (True, "审批完成")
    assert learning(new, n)[0][1] == "未通过"
