"""The join application end to end over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import gc
import io
from datetime import timedelta

import pytest
import zxingcpp
from conftest import (
    PASSWORD,
    applicant_data,
    business_day,
    form_values,
    member_headers,
    open_task,
    pdf_bytes,
    png_bytes,
    token_headers,
    upload,
)
from PIL import Image
from sqlalchemy import select

from service.db import db
from service.db.models import AuditRecord, Member, Membership
from service.domain.validation import make_resident_id

REVIEWS = {
    "unit_pre_review": "unit",
    "agency_review": "agency",
    "association_review": "association",
    "finance_review": "finance",
}


def start_join(client, login, **overrides) -> dict:
    data = applicant_data(client, login("unit"), **overrides)
    reply = client.post(
        "/api/v1/processes/member_join/instances", headers=login("unit"), json={"data": data}
    )
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()


def complete(client, headers, task_id, data, expect=200) -> dict:
    reply = client.post(f"/api/v1/tasks/{task_id}/complete", headers=headers, json={"data": data})
    assert reply.status_code == expect, reply.get_json()
    return reply.get_json()


def step(client, login, instance_id, who, data, expect_task=None) -> dict:
    task = open_task(client, login(who), instance_id)
    if expect_task:
        assert task["task_name"] == expect_task
    return complete(client, login(who), task["id"], data)


FINANCE_APPROVE = {
    "decision": "approve",
    "remark": "已到账",
    "receipt_number": "GD-CZ-2026-000123",
}  # dated at its use: the business day (not before the form's submission, nor after today)
CHAIN = ["unit_pre_review", "agency_review", "association_review", "unit_pay", "finance_review"]


def approve_to_end(
    client, login, instance_id, level="普通会员", from_task="unit_pre_review", stop_at=None
):
    """Approve every stage from `from_task` on (up to, not including, `stop_at`)."""
    results = []
    end = CHAIN.index(stop_at) if stop_at else len(CHAIN)
    for name in CHAIN[CHAIN.index(from_task) : end]:
        if name == "unit_pay":
            who, data = "unit", {"fee_voucher": upload(client, login("unit"))}
        elif name == "unit_pre_review":
            values = form_values(client, login("unit"), instance_id)
            who, data = "unit", {**values, "decision": "approve", "member_level": level}
        elif name == "finance_review":
            # each form's own receipt number (one another form holds is refused)
            # dated the business day: not before the form's submission, nor after today
            number = f"GD-CZ-2026-{instance_id:06d}"
            receipt = {"receipt_number": number, "receipt_date": business_day(client)}
            who, data = "finance", {**FINANCE_APPROVE, **receipt}
        else:
            who, data = REVIEWS[name], {"decision": "approve", "remark": "同意"}
        results.append(step(client, login, instance_id, who, data, name))
    return results


def test_a_join_application_through_a_join_code_becomes_a_member(app, client, login, world):
    code = client.post(
        f"/api/v1/units/{world.unit_id}/join-codes", headers=login("unit"), json={"variant": "full"}
    )
    assert code.status_code == 201, code.get_json()
    code = code.get_json()
    assert code["unit_name"] == world.unit_name and code["url"].endswith(code["code"])
    public = client.get(f"/api/v1/join-codes/{code['code']}").get_json()
    assert public["variant"] == "full" and public["form"]["title"] == "个人会员入会申请表"
    qr = client.get(f"/api/v1/join-codes/{code['code']}/qr.png")
    assert qr.status_code == 200 and qr.mimetype == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.data)).convert("L"))
    assert [d.text for d in decoded] == [code["url"]]

    def applicant_upload():
        reply = client.post(
            f"/api/v1/join-codes/{code['code']}/files",
            data={"file": (io.BytesIO(png_bytes()), "a.png")},
        )
        assert reply.status_code == 201, reply.get_json()
        return reply.get_json()["id"]

    id_number = make_resident_id("44010619850315231")
    data = applicant_data(client, login("unit"), id_number=id_number)
    data.update(
        {
            k: applicant_upload()
            for k in ("photo", "id_front", "id_back", "diploma", "diploma_verification")
        }
    )
    reply = client.post(f"/api/v1/join-codes/{code['code']}/applications", json={"data": data})
    assert reply.status_code == 201, reply.get_json()
    inst = reply.get_json()
    assert inst["status"] == "单位预审中" and inst["business_key"].startswith("RH-")
    assert inst["open_tasks"][0]["task_name"] == "unit_pre_review"

    # the unit and the reviewers now see the applicant's materials
    photo = client.get(f"/api/v1/files/{data['photo']}", headers=login("agency"))
    assert photo.status_code == 200 and photo.data == png_bytes()
    photo.close()
    assert (
        client.get(f"/api/v1/files/{data['photo']}", headers=login("other_agency")).status_code
        == 404
    )

    statuses = [r["status"] for r in approve_to_end(client, login, inst["id"], "专业会员")]
    assert statuses == ["机构初审中", "协会初审中", "待缴费", "财务复核中", "审批完成"]

    view = client.get(f"/api/v1/instances/{inst['id']}", headers=login("unit")).get_json()
    assert view["finished"] and view["status"] == "审批完成" and view["open_tasks"] == []
    assert view["data"]["fee_amount"] == "300.00"
    record = view["approval_record"]
    assert [(s["task_title"], s["actor_name"]) for s in record] == [
        ("发起申请", "申请人"),
        ("单位预审", world.unit_name),
        ("机构初审", "广州初审员"),
        ("协会初审", "协会审核员"),
        ("上传缴费凭证", world.unit_name),
        ("财务复核", "协会财务"),
    ]
    assert record[2]["decision"] == "approve" and record[2]["remark"] == "同意"
    assert all(s["at"] for s in record)

    member = member_headers(client, id_number)
    mine = client.get("/api/v1/instances", headers=member).get_json()
    assert mine["total"] == 1 and mine["items"][0]["id"] == inst["id"]
    with app.app_context():
        person = db.session.scalars(select(Member).where(Member.id_number == id_number)).one()
        assert (person.name, person.gender, person.birth_date.isoformat()) == (
            data["name"],
            "男",
            "1985-03-15",
        )
        assert person.unit_id == world.unit_id and person.agency_id == world.agency_id
        [membership] = db.session.scalars(
            select(Membership).where(Membership.member_id == person.id)
        ).all()
        today = app.extensions["memberflow"].today()
        assert membership.level == "专业会员" and membership.valid_from == today
        day = 28 if (today.month, today.day) == (2, 29) else today.day  # a year from 29 Feb
        expected = today.replace(year=today.year + 1, day=day)
        # 专业会员 pays a yearly fee (年费), to the same day (manual: 2025-03-11 → 2026-03-11)
        assert membership.valid_until == expected
        trail = db.session.scalars(
            select(AuditRecord)
            .where(AuditRecord.instance_id == inst["id"])
            .order_by(AuditRecord.id)
        ).all()
        assert [(r.action, r.task_title) for r in trail if r.action == "system"] == [
            ("system", "核验入会资格"),
            ("system", "重新核验入会资格"),  # what the unit approved at pre-review
            ("system", "确定申请级别、核定会费、计算会费合计"),
        ]
        assert [r.action for r in trail].count("complete") == 5
        db.session.remove()


def test_a_member_joins_again_for_the_other_level_alone(app, client, login, world):
    """A 普通会员 of the unit may join for 专业会员 too (manual §3.2, FAQ 3.20), not for the
    level held; one holding both levels cannot join at all."""
    inst = start_join(client, login)
    approve_to_end(client, login, inst["id"])
    again = start_join(client, login)
    assert again["status"] == "单位预审中"
    unit = login("unit")
    task = open_task(client, unit, again["id"])
    values = {**form_values(client, unit, again["id"]), "decision": "approve"}
    both = {"member_level": "专业会员", "member_levels": ["普通会员", "专业会员"]}
    for chosen in ({"member_level": "普通会员"}, both):
        refused = complete(client, unit, task["id"], {**values, **chosen}, expect=422)
        assert refused["errors"]["eligibility"] == [
            "申请人已是本协会普通会员，不能重复申请该级别；请只申请其他会员级别"
        ]
    assert open_task(client, unit, again["id"])["id"] == task["id"]  # nothing moved
    approve_to_end(client, login, again["id"], level="专业会员")
    id_number = applicant_data(client, unit)["id_number"]
    with app.app_context():
        held = db.session.scalars(
            select(Membership.level).join(Member).where(Member.id_number == id_number)
        ).all()
    assert sorted(held) == ["专业会员", "普通会员"]
    data = applicant_data(client, unit)
    reply = client.post(
        "/api/v1/processes/member_join/instances", headers=unit, json={"data": data}
    )
    assert reply.status_code == 422
    assert reply.get_json()["errors"]["eligibility"] == [
        "申请人已是本协会普通会员、专业会员，不能重复申请入会"
    ]


def test_a_person_whose_membership_was_cancelled_may_join_again(app, client, login, world):
    """FAQ 3.12: a cancelled membership (e.g. with the last certificate) is no membership,
    though its end date has not passed; the new approval renews the same record."""
    inst = start_join(client, login)
    approve_to_end(client, login, inst["id"])
    id_number = applicant_data(client, login("unit"))["id_number"]
    with app.app_context():
        membership = db.session.scalars(
            select(Membership).join(Member).where(Member.id_number == id_number)
        ).one()
        until = membership.valid_until
        membership.cancelled_on = until - timedelta(days=300)
        db.session.commit()
    again = start_join(client, login)
    assert again["status"] == "单位预审中"
    approve_to_end(client, login, again["id"])
    with app.app_context():
        renewed = db.session.scalars(
            select(Membership).join(Member).where(Member.id_number == id_number)
        ).all()
    assert len(renewed) == 1 and renewed[0].cancelled_on is None
    assert renewed[0].instance_id == again["id"]


def test_a_second_application_while_one_is_in_flight_is_refused(client, login, world):
    start_join(client, login)
    data = applicant_data(client, login("unit"))
    reply = client.post(
        "/api/v1/processes/member_join/instances", headers=login("unit"), json={"data": data}
    )
    assert reply.status_code == 422
    assert "正在办理" in reply.get_json()["message"]
    assert client.get("/api/v1/instances", headers=login("unit")).get_json()["total"] == 1


@pytest.mark.parametrize("stage", list(REVIEWS))
def test_a_return_at_any_stage_goes_back_to_the_unit_and_through_the_chain_again(
    client, login, world, stage
):
    inst = start_join(client, login)
    approve_to_end(client, login, inst["id"], stop_at=stage)
    task = open_task(client, login(REVIEWS[stage]), inst["id"])
    assert task["task_name"] == stage
    missing = complete(client, login(REVIEWS[stage]), task["id"], {"decision": "return"}, 422)
    assert "remark" in missing["errors"]
    returned = complete(
        client,
        login(REVIEWS[stage]),
        task["id"],
        {"decision": "return", "remark": "学历验证报告不清晰"},
    )
    assert returned["status"] == "退回"
    assert returned["open_tasks"][0]["task_name"] == "unit_resubmit"
    summary = client.get("/api/v1/instances/summary", headers=login("unit")).get_json()
    assert summary["counts"] == {"退回": 1}
    resubmitted = step(
        client,
        login,
        inst["id"],
        "unit",
        {
            **form_values(client, login("unit"), inst["id"]),
            "diploma_verification": upload(client, login("unit")),
            "member_level": "普通会员",
        },
        "unit_resubmit",
    )
    assert resubmitted["status"] == "机构初审中"
    approve_to_end(client, login, inst["id"], from_task="agency_review")
    view = client.get(f"/api/v1/instances/{inst['id']}", headers=login("association")).get_json()
    assert view["status"] == "审批完成"
    actions = [s["action"] for s in view["approval_record"]]
    assert actions.count("return") == 1 and actions[0] == "start"
    ret = next(s for s in view["approval_record"] if s["action"] == "return")
    assert ret["remark"] == "学历验证报告不清晰" and ret["status_after"] == "退回"


def test_the_short_form_is_completed_by_the_unit_at_pre_review(client, login, world):
    code = client.post(
        f"/api/v1/units/{world.unit_id}/join-codes",
        headers=login("unit"),
        json={"variant": "short"},
    ).get_json()["code"]
    full = applicant_data(client, login("unit"))
    short = {k: full[k] for k in ("name", "id_type", "id_number", "mobile", "declaration")}
    for k in ("photo", "id_front", "id_back"):
        reply = client.post(
            f"/api/v1/join-codes/{code}/files", data={"file": (io.BytesIO(png_bytes()), "a.png")}
        )
        short[k] = reply.get_json()["id"]
    too_much = client.post(
        f"/api/v1/join-codes/{code}/applications", json={"data": {**short, "address": "x"}}
    )
    assert too_much.status_code == 422 and "address" in too_much.get_json()["errors"]
    wrong_variant = client.post(
        f"/api/v1/join-codes/{code}/applications", json={"data": {**short, "variant": "full"}}
    )
    assert wrong_variant.status_code == 422 and "variant" in wrong_variant.get_json()["errors"]
    reply = client.post(f"/api/v1/join-codes/{code}/applications", json={"data": short})
    assert reply.status_code == 201, reply.get_json()
    inst = reply.get_json()
    task = open_task(client, login("unit"), inst["id"])
    detail = client.get(f"/api/v1/tasks/{task['id']}", headers=login("unit")).get_json()
    assert detail["instance"]["data"]["variant"] == "short"
    assert detail["form"]["title"] == "单位预审"
    incomplete = complete(
        client, login("unit"), task["id"], {"decision": "approve", "member_level": "普通会员"}, 422
    )
    assert {"address", "education.level", "education.school", "title", "diploma"} <= set(
        incomplete["errors"]
    )
    assert "学历" in incomplete["errors"]["diploma_verification"]
    rest = {
        k: full[k] for k in ("address", "education", "title", "diploma", "diploma_verification")
    }
    done = complete(
        client,
        login("unit"),
        task["id"],
        {"decision": "approve", "member_level": "普通会员", **rest},
    )
    assert done["status"] == "机构初审中"


def test_the_units_pre_review_cannot_approve_another_person_in_the_applicants_place(
    client, login, world
):
    """The unit may correct what the applicant typed at pre-review, ID number included, but
    what it approves is checked as a start is: a member (or a minor) put in the applicant's
    place is refused with the reason, and the form stays at pre-review, unchanged."""
    member = start_join(client, login, name="李明")  # joins, and is a member from then on
    approve_to_end(client, login, member["id"])
    applicant = start_join(
        client, login, name="王芳", id_number=make_resident_id("44010619900101152")
    )
    task = open_task(client, login("unit"), applicant["id"])
    values = form_values(client, login("unit"), applicant["id"])
    minor = make_resident_id("44010620100101151")
    # graduated after the minor's birth (a date before it is refused at its field)
    schooled = {**values["education"], "graduated_on": "2025-07-01"}
    for swapped, reason in (
        ({"name": "李明", "id_number": member["subject_id_number"]}, "已是"),
        ({"id_number": minor, "education": schooled}, "18周岁"),
    ):
        sent = {**values, **swapped, "decision": "approve", "member_level": "普通会员"}
        body = complete(client, login("unit"), task["id"], sent, 422)
        assert any(reason in r for r in body["errors"]["eligibility"]), body
    view = client.get(f"/api/v1/instances/{applicant['id']}", headers=login("unit")).get_json()
    assert view["status"] == "单位预审中" and view["data"]["name"] == "王芳"
    assert view["subject_id_number"] == applicant["subject_id_number"]
    # the applicant's own details still pass
    sent = {**values, "decision": "approve", "member_level": "普通会员"}
    assert complete(client, login("unit"), task["id"], sent)["status"] == "机构初审中"


@pytest.mark.parametrize(
    "id_prefix, reason",
    [
        ("44030820100110151", "18周岁"),  # 16 years old
        ("44030819500110151", "65周岁"),  # 76 years old
    ],
)
def test_an_applicant_outside_the_age_range_is_refused_with_the_reason(
    client, login, world, id_prefix, reason
):
    data = applicant_data(client, login("unit"), id_number=make_resident_id(id_prefix))
    # graduated after the birth (a date before it is refused at its field, before the rules)
    data["education"] = {**data["education"], "graduated_on": "2025-07-01"}
    reply = client.post(
        "/api/v1/processes/member_join/instances", headers=login("unit"), json={"data": data}
    )
    assert reply.status_code == 422
    body = reply.get_json()
    assert body["code"] == 422 and reason in body["message"]
    assert any(reason in r for r in body["errors"]["eligibility"])
    assert client.get("/api/v1/instances", headers=login("unit")).get_json()["total"] == 0


def test_an_invalid_id_number_is_refused_with_the_reason(client, login, world):
    data = applicant_data(client, login("unit"), id_number="440308199901101513")
    reply = client.post(
        "/api/v1/processes/member_join/instances", headers=login("unit"), json={"data": data}
    )
    assert reply.status_code == 422
    assert "校验位" in reply.get_json()["message"]


def test_bad_form_fields_are_named_in_chinese(client, login, world):
    data = applicant_data(client, login("unit"), mobile="12345", title="特级")
    del data["name"], data["photo"], data["education"]
    reply = client.post(
        "/api/v1/processes/member_join/instances", headers=login("unit"), json={"data": data}
    )
    assert reply.status_code == 422
    errors = reply.get_json()["errors"]
    assert errors["name"] == "请填写「姓名」"
    assert errors["photo"] == "请上传「个人照片」"  # a file is uploaded, not typed
    # a missing group names each of its required fields, so the page marks those boxes
    assert "education" not in errors
    assert errors["education.level"] == "请选择「学历」"  # one of a list of values
    assert errors["education.school"] == "请填写「毕业院校」"
    assert errors["education.graduated_on"] == "请填写「毕业时间」"
    assert "手机号码" in errors["mobile"]
    assert "职称" in errors["title"]
    broken = client.post(
        "/api/v1/processes/member_join/instances",
        headers={**login("unit"), "Content-Type": "application/json"},
        data="{not json",
    )
    assert broken.status_code == 400
    assert broken.get_json()["errors"] == {"_request": "请求体不是有效的 JSON"}
    no_data = client.post("/api/v1/processes/member_join/instances", headers=login("unit"), json={})
    assert no_data.status_code == 422 and "data" in no_data.get_json()["errors"]


def test_the_same_idempotency_key_starts_one_instance(client, login, world):
    data = applicant_data(client, login("unit"))
    headers = {**login("unit"), "Idempotency-Key": "form-123"}
    first = client.post(
        "/api/v1/processes/member_join/instances", headers=headers, json={"data": data}
    )
    again = client.post(
        "/api/v1/processes/member_join/instances", headers=headers, json={"data": data}
    )
    assert first.status_code == 201 and again.status_code == 200
    assert first.get_json()["id"] == again.get_json()["id"]
    assert client.get("/api/v1/instances", headers=login("unit")).get_json()["total"] == 1


def test_an_idempotency_key_replays_only_the_request_it_came_with(client, login, world):
    data = applicant_data(client, login("unit"))
    headers = {**login("unit"), "Idempotency-Key": "form-123"}
    url = "/api/v1/processes/{}/instances"
    first = client.post(url.format("member_join"), headers=headers, json={"data": data})
    assert first.status_code == 201, first.get_json()
    for key, sent in (
        ("unit_name_change", {"new_name": "广州珠江工程咨询集团有限公司"}),  # another business
        ("unit_name_change", data),
        ("member_join", {**data, "mobile": "13900000000"}),  # other data
    ):
        reused = client.post(url.format(key), headers=headers, json={"data": sent})
        assert reused.status_code == 422, reused.get_json()
        body = reused.get_json()
        assert "已用于另一次提交" in body["message"] and "Idempotency-Key" in body["errors"]
    again = client.post(url.format("member_join"), headers=headers, json={"data": data})
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    assert client.get("/api/v1/instances", headers=login("unit")).get_json()["total"] == 1


def test_scope_out_of_range_answers_404(client, login, world):
    inst = start_join(client, login)
    assert (
        client.get(f"/api/v1/instances/{inst['id']}", headers=login("other_unit")).status_code
        == 404
    )
    step(
        client,
        login,
        inst["id"],
        "unit",
        {
            **form_values(client, login("unit"), inst["id"]),
            "decision": "approve",
            "member_level": "普通会员",
        },
    )
    task = open_task(client, login("agency"), inst["id"])
    for who in ("other_agency", "unit", "association"):
        assert (
            client.post(f"/api/v1/tasks/{task['id']}/claim", headers=login(who)).status_code == 404
        )
        assert client.get(f"/api/v1/tasks/{task['id']}", headers=login(who)).status_code == 404
    assert client.get("/api/v1/tasks", headers=login("other_agency")).get_json()["total"] == 0
    queue = client.get("/api/v1/tasks", headers=login("agency")).get_json()
    assert queue["total"] == 1 and queue["items"][0]["instance"]["subject_name"] == "陈志强"
    assert (
        client.get(f"/api/v1/instances/{inst['id']}", headers=login("other_agency")).status_code
        == 404
    )


def test_claim_unclaim_and_completion_by_someone_else(client, login, world, app):
    inst = start_join(client, login)
    step(
        client,
        login,
        inst["id"],
        "unit",
        {
            **form_values(client, login("unit"), inst["id"]),
            "decision": "approve",
            "member_level": "普通会员",
        },
    )
    task = open_task(client, login("agency"), inst["id"])
    claimed = client.post(f"/api/v1/tasks/{task['id']}/claim", headers=login("agency"))
    assert claimed.status_code == 200 and claimed.get_json()["claimed_by"] is not None
    mine = client.get("/api/v1/tasks?scope=mine", headers=login("agency")).get_json()
    assert [t["id"] for t in mine["items"]] == [task["id"]]
    # a second reviewer of the same agency cannot take it
    with app.app_context():
        from conftest import Actor, UnitOfWork, accounts, db

        with UnitOfWork(db.session) as uow:
            accounts.create_staff(
                uow,
                Actor(1, "admin", "secretariat_admin"),
                "jigou2",
                "广州初审员二",
                PASSWORD,
                "agency_reviewer",
                world.agency_id,
            )
    second = token_headers(client, "jigou2")
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=second).status_code == 409
    assert (
        client.post(
            f"/api/v1/tasks/{task['id']}/complete",
            headers=second,
            json={"data": {"decision": "approve"}},
        ).status_code
        == 409
    )
    assert client.post(f"/api/v1/tasks/{task['id']}/unclaim", headers=second).status_code == 409
    assert (
        client.post(f"/api/v1/tasks/{task['id']}/unclaim", headers=login("agency")).status_code
        == 200
    )
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=second).status_code == 200
    done = complete(client, second, task["id"], {"decision": "approve"})
    assert done["status"] == "协会初审中"
    again = client.post(
        f"/api/v1/tasks/{task['id']}/complete",
        headers=second,
        json={"data": {"decision": "approve"}},
    )
    assert again.status_code == 409 and "已办结" in again.get_json()["message"]


def test_authentication_errors(client, world, login):
    assert client.get("/api/v1/instances").status_code == 401
    bad = client.get("/api/v1/instances", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401 and "登录" in bad.get_json()["message"]
    wrong = client.post(
        "/api/v1/auth/token", json={"username": world.unit_name, "password": "wrong-pass"}
    )
    assert wrong.status_code == 401 and wrong.get_json()["message"] == "账号或密码错误"
    token = client.post(
        "/api/v1/auth/token", json={"username": world.unit_name, "password": PASSWORD}
    ).get_json()
    assert token["token_type"] == "Bearer" and token["expires_in"] > 0
    assert token["user"]["roles"] == ["unit_admin"] and token["user"]["unit_id"] == world.unit_id


def test_an_expired_token_is_refused(db_url, tmp_path):
    from conftest import make_app, seed_world

    app = make_app(db_url, tmp_path, token_ttl_seconds=-1)
    world = seed_world(app)
    client = app.test_client()
    headers = token_headers(client, world.logins["unit"])
    reply = client.get("/api/v1/instances", headers=headers)
    assert reply.status_code == 401 and "过期" in reply.get_json()["message"]


def test_only_the_starting_role_may_start(client, login, world):
    data = applicant_data(client, login("unit"))
    reply = client.post(
        "/api/v1/processes/member_join/instances", headers=login("agency"), json={"data": data}
    )
    assert reply.status_code == 403
    assert (
        client.post(
            "/api/v1/processes/nothing/instances", headers=login("unit"), json={"data": {}}
        ).status_code
        == 404
    )


def _post_big(client, headers) -> tuple[int, str]:
    big = png_bytes() + b"\0" * (10 * 1024 * 1024)
    reply = client.post(
        "/api/v1/files", headers=headers, data={"file": (io.BytesIO(big), "big.png")}
    )
    status, message = reply.status_code, reply.get_json()["message"]
    reply.close()
    return status, message


# werkzeug's test client spools a large request body to a temporary file it never closes
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_uploads_are_checked_by_their_bytes_and_size(client, login, world):
    fake = client.post(
        "/api/v1/files",
        headers=login("unit"),
        data={"file": (io.BytesIO(b"MZ not a picture at all"), "photo.png")},
    )
    assert fake.status_code == 422 and "JPG" in fake.get_json()["errors"]["file"]
    pdf = client.post(
        "/api/v1/files",
        headers=login("unit"),
        data={"file": (io.BytesIO(pdf_bytes()), "scan.bin")},
    )
    assert pdf.status_code == 201 and pdf.get_json()["content_type"] == "application/pdf"
    status, message = _post_big(client, login("unit"))
    gc.collect()
    assert status == 413 and "10MB" in message
    missing = client.post("/api/v1/files", headers=login("unit"), data={})
    assert missing.status_code == 422
    mine = upload(client, login("unit"))
    assert client.get(f"/api/v1/files/{mine}", headers=login("other_unit")).status_code == 404
    data = applicant_data(client, login("other_unit"), photo=mine)
    stolen = client.post(
        "/api/v1/processes/member_join/instances", headers=login("other_unit"), json={"data": data}
    )
    assert stolen.status_code == 422 and "photo" in stolen.get_json()["errors"]


def test_join_codes_expire_and_cannot_be_forged(client, login, world, app):
    code = client.post(
        f"/api/v1/units/{world.unit_id}/join-codes", headers=login("unit"), json={"variant": "full"}
    ).get_json()
    assert client.get(f"/api/v1/join-codes/{code['code'][:-2]}xx").status_code == 404
    assert (
        client.post(
            f"/api/v1/units/{world.other_unit_id}/join-codes",
            headers=login("unit"),
            json={"variant": "full"},
        ).status_code
        == 404
    )
    bad_variant = client.post(
        f"/api/v1/units/{world.unit_id}/join-codes", headers=login("unit"), json={"variant": "mini"}
    )
    assert bad_variant.status_code == 422
    ctx = app.extensions["memberflow"]
    real_clock = ctx.clock
    # 有效期至 that day: it works to that day's last second in Beijing (15:59:59 UTC)
    last = __import__("datetime").date.fromisoformat(code["expires_on"])
    ctx.clock = lambda: __import__("datetime").datetime(last.year, last.month, last.day, 15, 59)
    try:
        assert client.get(f"/api/v1/join-codes/{code['code']}").status_code == 200
    finally:
        ctx.clock = real_clock
    ctx.clock = lambda: real_clock() + __import__("datetime").timedelta(days=366)
    try:
        expired = client.get(f"/api/v1/join-codes/{code['code']}")
        assert expired.status_code == 410 and "过期" in expired.get_json()["message"]
        upload_late = client.post(
            f"/api/v1/join-codes/{code['code']}/files",
            data={"file": (io.BytesIO(png_bytes()), "a.png")},
        )
        assert upload_late.status_code == 410
    finally:
        ctx.clock = real_clock


def test_public_join_endpoints_are_rate_limited(db_url, tmp_path):
    from conftest import join_code_uploads, make_app

    app = make_app(db_url, tmp_path, join_upload_rate="3 per minute")
    codes = join_code_uploads(app, "127.0.0.77", 4)
    assert codes == [201, 201, 201, 429]


def test_units_accounts_and_reference_data(client, login, world):
    admin = login("admin")
    agency = client.post(
        "/api/v1/agencies",
        headers=admin,
        json={"name": "梅州市工程建设综合服务中心", "city": "梅州"},
    )
    assert agency.status_code == 201
    bad_code = client.post(
        "/api/v1/units",
        headers=admin,
        json={
            "name": "梅州市某监理公司",
            "credit_code": "91350100M000100Y4Z",
            "agency_id": agency.get_json()["id"],
            "password": PASSWORD,
        },
    )
    assert bad_code.status_code == 422 and "credit_code" in bad_code.get_json()["errors"]
    unit = client.post(
        "/api/v1/units",
        headers=admin,
        json={
            "name": "梅州市某监理公司",
            "credit_code": "91350100M000100Y43",
            "agency_id": agency.get_json()["id"],
            "password": PASSWORD,
        },
    )
    assert unit.status_code == 201
    duplicate = client.post(
        "/api/v1/units",
        headers=admin,
        json={
            "name": "梅州市某监理公司",
            "credit_code": "91110108551385082Q",
            "agency_id": agency.get_json()["id"],
            "password": PASSWORD,
        },
    )
    assert duplicate.status_code == 422
    assert (
        client.post(
            "/api/v1/agencies", headers=login("unit"), json={"name": "x", "city": "y"}
        ).status_code
        == 403
    )
    staff = client.post(
        "/api/v1/staff",
        headers=admin,
        json={"username": "mz", "name": "梅州初审员", "password": PASSWORD, "role": "boss"},
    )
    assert staff.status_code == 422 and "role" in staff.get_json()["errors"]
    url = f"/api/v1/units/{world.unit_id}/accounts"
    mobiles = ["13800138001", "+86 139-0013-8002", "19512345678"]
    for mobile in mobiles:
        reply = client.post(
            url,
            headers=login("unit"),
            json={"name": "子账号", "mobile": mobile, "password": PASSWORD},
        )
        assert reply.status_code == 201, reply.get_json()
    fourth = client.post(
        url,
        headers=login("unit"),
        json={"name": "子账号", "mobile": "13800138004", "password": PASSWORD},
    )
    assert fourth.status_code == 409 and "最多" in fourth.get_json()["message"]
    bad_mobile = client.post(
        f"/api/v1/units/{world.other_unit_id}/accounts",
        headers=login("other_unit"),
        json={"name": "子账号", "mobile": "1234", "password": PASSWORD},
    )
    assert bad_mobile.status_code == 422 and "mobile" in bad_mobile.get_json()["errors"]
    assert (
        client.post(
            f"/api/v1/units/{world.other_unit_id}/accounts",
            headers=login("unit"),
            json={"name": "x", "mobile": "13800138009", "password": PASSWORD},
        ).status_code
        == 404
    )
    sub = token_headers(client, "13900138002")
    assert client.get("/api/v1/instances", headers=sub).status_code == 200


def test_the_openapi_document_lists_every_route(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = set(spec["paths"])
    for path in (
        "/api/v1/auth/token",
        "/api/v1/processes",
        "/api/v1/processes/{key}",
        "/api/v1/processes/{key}/instances",
        "/api/v1/instances",
        "/api/v1/instances/summary",
        "/api/v1/instances/{instance_id}",
        "/api/v1/tasks",
        "/api/v1/tasks/{task_id}",
        "/api/v1/tasks/{task_id}/claim",
        "/api/v1/tasks/{task_id}/unclaim",
        "/api/v1/tasks/{task_id}/complete",
        "/api/v1/units/{unit_id}/join-codes",
        "/api/v1/join-codes/{code}",
        "/api/v1/join-codes/{code}/qr.png",
        "/api/v1/join-codes/{code}/files",
        "/api/v1/join-codes/{code}/applications",
        "/api/v1/agencies",
        "/api/v1/units",
        "/api/v1/staff",
        "/api/v1/files",
        "/api/v1/files/{file_id}",
        "/api/v1/units/{unit_id}/accounts",
    ):
        assert path in paths, path
    assert client.get("/api/v1/docs").status_code == 200


def test_processes_are_listed_with_their_lanes_and_forms(client, login, world):
    listed = client.get("/api/v1/processes", headers=login("unit")).get_json()
    join = next(p for p in listed if p["key"] == "member_join")
    assert join["name"] == "个人会员入会申请" and join["start_role"] == "unit_admin"
    assert join["lanes"]["会员服务机构"] == "agency_reviewer"
    one = client.get("/api/v1/processes/member_join", headers=login("unit")).get_json()
    assert one["bpmn"].startswith("<?xml") and len(one["tasks"]) == 6
    assert client.get("/api/v1/processes/nothing", headers=login("unit")).status_code == 404


def test_instances_are_filtered_by_status_name_and_date(client, login, world):
    first = start_join(client, login)
    start_join(client, login, id_number=make_resident_id("44010219900620432"), name="李秀英")
    step(
        client,
        login,
        first["id"],
        "unit",
        {
            **form_values(client, login("unit"), first["id"]),
            "decision": "approve",
            "member_level": "普通会员",
        },
    )
    unit = login("unit")
    assert client.get("/api/v1/instances?status=机构初审中", headers=unit).get_json()["total"] == 1
    by_name = client.get("/api/v1/instances?q=李秀英", headers=unit).get_json()
    assert [i["subject_name"] for i in by_name["items"]] == ["李秀英"]
    by_key = client.get(f"/api/v1/instances?q={first['business_key']}", headers=unit).get_json()
    assert [i["id"] for i in by_key["items"]] == [first["id"]]
    assert (
        client.get(
            "/api/v1/instances?submitted_from=2000-01-01&submitted_to=2000-12-31", headers=unit
        ).get_json()["total"]
        == 0
    )
    paged = client.get("/api/v1/instances?page=2&page_size=1", headers=unit).get_json()
    assert paged["total"] == 2 and len(paged["items"]) == 1
    bad = client.get("/api/v1/instances?page=0", headers=unit)
    assert bad.status_code == 422
    summary = client.get("/api/v1/instances/summary", headers=unit).get_json()
    assert summary["counts"] == {"单位预审中": 1, "机构初审中": 1} and summary["total"] == 2


def test_a_form_returned_too_often_is_not_returned_again_but_may_go_on(
    client, login, world, monkeypatch
):
    """Every return makes the engine's task tree deeper, up to a depth where it could no
    longer find the form's next step: well before, a return is refused (409), nothing
    changes, and the form can still be approved to its end."""
    from service.services.workflow import tasks

    monkeypatch.setattr(tasks, "RETURN_DEPTH", 32)  # 9 deep at the first return; 7 a round
    inst = start_join(client, login)
    approve_to_end(client, login, inst["id"], stop_at="agency_review")
    back = {"decision": "return", "remark": "请补充材料"}
    for _round in range(4):
        step(client, login, inst["id"], "agency", back, "agency_review")
        values = form_values(client, login("unit"), inst["id"])
        step(client, login, inst["id"], "unit", {**values, "member_level": "普通会员"})
    task = open_task(client, login("agency"), inst["id"])
    refused = complete(client, login("agency"), task["id"], back, 409)
    assert "往复退回多次" in refused["message"]
    assert open_task(client, login("agency"), inst["id"])["id"] == task["id"]
    approve_to_end(client, login, inst["id"], from_task="agency_review")
    view = client.get(f"/api/v1/instances/{inst['id']}", headers=login("association")).get_json()
    assert view["status"] == "审批完成"
