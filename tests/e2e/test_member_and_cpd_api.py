"""Member information change and registered-engineer CPD over HTTP, on both databases."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import in_db, member_headers, step_task, upload
from conftest import start_form as start
from sqlalchemy import select

from service.db.models import CpdCompletion, Member
from service.domain.validation import make_resident_id
from service.services.membership.roster import MemberSeed, add_member

TODAY = date(2026, 11, 28)
NEXT_YEAR = date(2027, 6, 30)
APPROVE = {"decision": "approve", "remark": "同意"}
NEW_EDUCATION = {
    "level": "硕士",
    "school": "同济大学",
    "major": "结构工程",
    "graduated_on": "2015-06-30",
    "major_category": "工程建设类",
}
CHANGES = {"mobile": "13922334455", "education": NEW_EDUCATION, "title": "高级"}


pytestmark = pytest.mark.usefixtures("pinned_clock")


def seed(app, unit_id, name, prefix, **kwargs) -> str:
    """A member (ordinary membership by default); `prefix` = area + birth date + sequence."""
    id_number = make_resident_id(prefix)
    kwargs.setdefault("memberships", {"普通会员": NEXT_YEAR})
    kwargs.setdefault("mobile", "13800001111")
    kwargs.setdefault("title", "初级")

    def add(s):
        add_member(s, MemberSeed(name, id_number, unit_id, **kwargs))
        s.commit()

    in_db(app, add)
    return id_number


def step(client, headers, instance_id, data=APPROVE) -> dict:
    return step_task(client, headers, instance_id, data)


def review_to_end(client, login, instance_id) -> None:
    """机构初审 → 协会复核 → 审批完成."""
    assert step(client, login("agency"), instance_id)["status"] == "协会复核中"
    done = step(client, login("association"), instance_id)
    assert (done["status"], done["finished"]) == ("审批完成", True)


def member_record(app, id_number) -> tuple:
    def read(s):
        m = s.scalars(select(Member).where(Member.id_number == id_number)).one()
        return m.mobile, m.education, m.title

    return in_db(app, read)


def info_change(client, headers, id_number=None, name=None) -> dict:
    data = {"changes": CHANGES, "diploma_scan": upload(client, headers)}
    if id_number:
        data.update(id_number=id_number, name=name)
    return data


# --- member_info_change -------------------------------------------------------------------


def test_an_info_change_started_by_the_unit_goes_straight_to_the_agency(app, client, login, world):
    unit = login("unit")
    n = seed(app, world.unit_id, "杨志刚", "44010619800101123")
    inst = start(client, unit, "member_info_change", info_change(client, unit, n, "杨志刚"))
    assert inst["business_key"].startswith("XXBG-") and inst["status"] == "机构初审中"
    assert member_record(app, n)[0] == "13800001111"  # nothing changes before approval
    review_to_end(client, login, inst["id"])
    assert member_record(app, n) == ("13922334455", NEW_EDUCATION, "高级")


def test_an_info_change_started_by_the_member_is_pre_reviewed_by_the_unit(
    app, client, login, world
):
    n = seed(app, world.unit_id, "林婉清", "44010619880808234")
    member = member_headers(client, n)
    inst = start(client, member, "member_info_change", info_change(client, member))
    assert inst["status"] == "单位预审中" and inst["subject_id_number"] == n
    assert step(client, login("unit"), inst["id"])["status"] == "机构初审中"
    review_to_end(client, login, inst["id"])
    assert member_record(app, n) == ("13922334455", NEW_EDUCATION, "高级")
    view = client.get(f"/api/v1/instances/{inst['id']}", headers=member)
    assert view.status_code == 200 and view.get_json()["status"] == "审批完成"


def test_a_member_with_a_violation_record_cannot_change_information(app, client, login, world):
    unit = login("unit")
    n = seed(app, world.unit_id, "钱有为", "44010619750505345", violation_note="2025年挂证违规")
    reason = "该人员有违规记录，不能办理信息变更"
    body = start(client, unit, "member_info_change", info_change(client, unit, n, "钱有为"), 422)
    assert body["errors"] == {"eligibility": [reason]}, body
    member = member_headers(client, n)
    body = start(client, member, "member_info_change", info_change(client, member), 422)
    assert body["errors"] == {"eligibility": [reason]}, body


def test_a_one_person_form_is_not_previewed_and_says_why_in_its_own_terms(
    app, client, login, world
):
    unit = login("unit")
    n = seed(app, world.unit_id, "杨志刚", "44010619800101123")
    data = info_change(client, unit, n, "杨志刚")
    reply = client.post(
        "/api/v1/processes/member_info_change/preview", headers=unit, json={"data": data}
    )
    assert reply.status_code == 422, reply.get_json()
    body = reply.get_json()
    assert list(body["errors"]) == ["process"] and "persons" not in body["message"]
    assert "个人会员信息变更" in body["message"] and "一名人员" in body["message"]
    assert "process=member_info_change" in body["message"]
    start(client, unit, "member_info_change", data)  # the same data starts (201)


# --- engineer_cpd -------------------------------------------------------------------------


def engineer(app, unit_id, name, born: str, seq: str = "123") -> str:
    """A registered engineer with a valid 专业会员 membership, born on `born` (YYYYMMDD)."""
    return seed(
        app,
        unit_id,
        name,
        "440106" + born + seq,
        memberships={"专业会员": NEXT_YEAR},
        registration_number="44001234",
    )


def cpd_form(client, headers, persons) -> dict:
    def line(n, name):
        files = ("id_front", "id_back", "diploma", "registration_cert", "social_insurance")
        return {"id_number": n, "name": name, **{f: upload(client, headers) for f in files}}

    return {
        "fee_voucher": upload(client, headers),
        "persons": [line(n, name) for n, name in persons],
    }


def test_engineer_cpd_records_a_completion_per_person(app, client, login, world):
    unit = login("unit")
    born = TODAY.replace(year=TODAY.year - 65).strftime("%Y%m%d")  # 65 today
    sixty_five = engineer(app, world.unit_id, "谢振华", born)
    younger = engineer(app, world.unit_id, "唐佳慧", "19850315", "246")

    inst = start(
        client,
        unit,
        "engineer_cpd",
        cpd_form(client, unit, [(sixty_five, "谢振华"), (younger, "唐佳慧")]),
    )
    assert inst["business_key"].startswith("ZCJJ-") and inst["status"] == "机构初审中"
    review_to_end(client, login, inst["id"])

    def completions(s):
        rows = s.scalars(select(CpdCompletion).where(CpdCompletion.instance_id == inst["id"]))
        return {(c.id_number, c.name, c.unit_id) for c in rows}

    assert in_db(app, completions) == {
        (sixty_five, "谢振华", world.unit_id),
        (younger, "唐佳慧", world.unit_id),
    }


def test_engineer_cpd_requires_the_units_social_insurance_proof(app, client, login, world):
    """§2.11.1(3): each person's 本单位社保证明 is required, and its absence is named."""
    unit = login("unit")
    number = engineer(app, world.unit_id, "谢振华", "19800101")
    data = cpd_form(client, unit, [(number, "谢振华")])
    del data["persons"][0]["social_insurance"]
    reply = client.post(
        "/api/v1/processes/engineer_cpd/instances", headers=unit, json={"data": data}
    )
    assert reply.status_code == 422, reply.get_json()
    assert "persons.0.social_insurance" in reply.get_json()["errors"]
    assert "社保" in reply.get_json()["errors"]["persons.0.social_insurance"]
    assert client.get("/api/v1/instances", headers=unit).get_json()["total"] == 0


def test_engineer_cpd_refuses_a_66_year_old_and_an_ordinary_member(app, client, login, world):
    unit = login("unit")
    old = engineer(
        app, world.unit_id, "彭老师", TODAY.replace(year=TODAY.year - 66).strftime("%Y%m%d")
    )
    ordinary = seed(app, world.unit_id, "普通甲", "44010619900101357")
    too_old = "专业会员（注师）继教的年龄不得超过65周岁（现为66周岁）"
    not_pro = "该人员不是专业会员，须先成为专业会员"

    listed = client.get(
        f"/api/v1/units/{world.unit_id}/eligibility?process=engineer_cpd", headers=unit
    )
    assert listed.status_code == 200, listed.get_json()
    reasons = {i["id_number"]: i["reasons"] for i in listed.get_json()["items"]}
    assert reasons == {old: [too_old], ordinary: [not_pro]}

    body = start(
        client,
        unit,
        "engineer_cpd",
        cpd_form(client, unit, [(old, "彭老师"), (ordinary, "普通甲")]),
        422,
    )
    assert (body["errors"]["persons.0"], body["errors"]["persons.1"]) == (too_old, not_pro)


def test_a_process_without_an_eligibility_table_cannot_be_listed(app, client, login, world):
    unit = login("unit")
    listed = client.get(
        f"/api/v1/units/{world.unit_id}/eligibility?process=member_join", headers=unit
    )
    assert listed.status_code == 422, listed.get_json()
    assert "process" in listed.get_json()["errors"]
    assert "个人会员入会申请" in listed.get_json()["errors"]["process"]
    preview = client.post(
        "/api/v1/processes/member_join/preview",
        headers=unit,
        json={"data": {"persons": [{"id_number": make_resident_id("44010619900101357")}]}},
    )
    assert preview.status_code == 422 and "process" in preview.get_json()["errors"]
