"""A person's date that cannot precede their birth (`x-not-before-birth`: 毕业时间) is refused at
its field, naming the birth date: read from the resident ID number, else the form's 出生日期 (a
passport), else the member's record (a 信息变更 names no document type) — of a member the
caller reads anyway: its own unit's. At the start of a join, at the unit's pre-review (a
task's form read with the application's ID number) and in a 信息变更. Nothing is kept.
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

from conftest import applicant_data, form_values, in_db, open_task, upload
from sqlalchemy import func, select, update
from test_certificate_change_api import seed

from service.db.models import Incident, Member, ProcessInstance
from service.domain.validation import make_resident_id

START = "/api/v1/processes/member_join/instances"
BORN_1990 = make_resident_id("44010619900912123")  # born 1990-09-12
REFUSED = "「毕业时间」不能早于出生日期（1990-09-12）"


def graduated(data: dict, on: str) -> dict:
    return {**data, "education": {**data["education"], "graduated_on": on}}


def forms_kept(app) -> list[int]:
    def counts(session):
        return [
            session.scalar(select(func.count()).select_from(t)) for t in (Incident, ProcessInstance)
        ]

    return in_db(app, counts)


def test_a_join_graduating_before_the_birth_the_id_number_gives_is_refused(
    app, client, login, world
):
    unit = login("unit")
    data = graduated(applicant_data(client, unit, id_number=BORN_1990), "1900-01-01")
    reply = client.post(START, headers=unit, json={"data": data})
    assert reply.status_code == 422, reply.get_json()
    assert reply.get_json()["errors"] == {"education.graduated_on": REFUSED}
    assert forms_kept(app) == [0, 0]
    # the day before the birth is refused too; a graduation after it is taken
    day_before = client.post(START, headers=unit, json={"data": graduated(data, "1990-09-11")})
    assert day_before.get_json()["errors"] == {"education.graduated_on": REFUSED}
    taken = client.post(START, headers=unit, json={"data": graduated(data, "2012-07-01")})
    assert taken.status_code == 201, taken.get_json()


def test_with_a_passport_the_stated_birth_date_counts(app, client, login, world):
    unit = login("unit")
    passport = {"id_type": "passport", "id_number": "E12345678", "birth_date": "1990-05-01"}
    data = graduated(applicant_data(client, unit, **passport, gender="女"), "1989-07-01")
    reply = client.post(START, headers=unit, json={"data": data})
    assert reply.status_code == 422, reply.get_json()
    assert reply.get_json()["errors"] == {
        "education.graduated_on": "「毕业时间」不能早于出生日期（1990-05-01）"
    }
    assert forms_kept(app) == [0, 0]


def test_the_unit_cannot_enter_such_a_date_at_pre_review(app, client, login, world):
    unit = login("unit")
    started = client.post(
        START, headers=unit, json={"data": applicant_data(client, unit, id_number=BORN_1990)}
    )
    assert started.status_code == 201, started.get_json()
    instance_id = started.get_json()["id"]
    task = open_task(client, unit, instance_id)
    values = form_values(client, unit, instance_id)
    decided = {"decision": "approve", "member_level": "普通会员"}
    for sent in (values, {k: v for k, v in values.items() if k not in ("id_type", "id_number")}):
        reply = client.post(
            f"/api/v1/tasks/{task['id']}/complete",
            headers=unit,
            json={"data": {**graduated(sent, "1900-01-01"), **decided}},
        )
        assert reply.status_code == 422, reply.get_json()
        assert reply.get_json()["errors"] == {"education.graduated_on": REFUSED}
    assert open_task(client, unit, instance_id)["id"] == task["id"]


def test_a_member_info_change_cannot_give_such_a_graduation(app, client, login, world):
    unit = login("unit")
    number = seed(app, world.unit_id, "陈家豪", "44010619900912567")  # born 1990-09-12
    education = {"level": "本科", "school": "华南理工大学", "major": "土木工程"}
    info = {
        "id_number": number,
        "name": "陈家豪",
        "changes": {"education": {**education, "graduated_on": "1985-07-01"}},
        "diploma_scan": upload(client, unit),
    }
    start = "/api/v1/processes/member_info_change/instances"
    reply = client.post(start, headers=unit, json={"data": info})
    assert reply.status_code == 422, reply.get_json()
    assert reply.get_json()["errors"] == {"changes.education.graduated_on": REFUSED}

    # a member whose document is a passport: the number says nothing, the record does
    def to_passport(s):
        s.execute(
            update(Member)
            .where(Member.id_number == number)
            .values(id_type="passport", id_number="E87654321", birth_date=date(1990, 9, 12))
        )
        s.commit()

    in_db(app, to_passport)
    info.update(id_number="E87654321")
    reply = client.post(start, headers=unit, json={"data": info})
    assert reply.status_code == 422, reply.get_json()
    assert reply.get_json()["errors"] == {"changes.education.graduated_on": REFUSED}
    # another unit is not told the member's birth date (nor refused by it): not its member
    other = login("other_unit")
    elsewhere = {**info, "diploma_scan": upload(client, other)}
    reply = client.post(start, headers=other, json={"data": elsewhere})
    assert reply.status_code == 422, reply.get_json()
    assert "changes.education.graduated_on" not in reply.get_json()["errors"]
    assert "1990-09-12" not in reply.get_data(as_text=True)
    assert forms_kept(app) == [0, 0]
    info["changes"]["education"]["graduated_on"] = "2012-07-01"
    taken = client.post(start, headers=unit, json={"data": info})
    assert taken.status_code == 201, taken.get_json()
