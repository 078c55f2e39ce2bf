"""Membership levels (issue 14): 普通会员 → 专业会员 through an information change that
charges the 专业会员 fee (manual §2.11.2.1), and both levels on one join (manual §3.2)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from conftest import PASSWORD, applicant_data, form_values, in_db, open_task, step_task, upload
from conftest import start_form as start
from sqlalchemy import select

from service.db.models import Bill, Member, Membership
from service.domain.validation import make_resident_id
from service.services.membership.roster import MemberSeed, add_member

TODAY = date(2026, 11, 28)  # pinned_clock
ORDINARY_UNTIL = date(2027, 6, 30)
APPROVE = {"decision": "approve", "remark": "同意"}
FINANCE_APPROVE = {
    "decision": "approve",
    "remark": "已到账",
    "receipt_number": "GD-CZ-2026-000777",
    "receipt_date": "2026-11-28",
}

pytestmark = pytest.mark.usefixtures("pinned_clock")


def seed(app, unit_id, name, prefix, **kwargs) -> str:
    """A member of the unit, 普通会员 valid to ORDINARY_UNTIL unless told otherwise."""
    id_number = make_resident_id(prefix)
    kwargs.setdefault("memberships", {"普通会员": ORDINARY_UNTIL})
    kwargs.setdefault("mobile", "13800001111")

    def add(s):
        add_member(s, MemberSeed(name, id_number, unit_id, **kwargs))
        s.commit()

    in_db(app, add)
    return id_number


def memberships(app, id_number) -> dict[str, tuple[date, date | None]]:
    def read(s):
        rows = s.execute(
            select(Membership.level, Membership.valid_from, Membership.valid_until)
            .join(Member, Member.id == Membership.member_id)
            .where(Member.id_number == id_number, Membership.cancelled_on.is_(None))
        )
        return {level: (until, since) for level, since, until in rows}

    return in_db(app, read)


def level_change(client, headers, id_number, name, **changes) -> dict:
    return {
        "id_number": id_number,
        "name": name,
        "changes": {"member_level": "专业会员", **changes},
        "diploma_scan": upload(client, headers),
        "qualification_cert": upload(client, headers),
    }


def view(client, headers, instance_id) -> dict:
    reply = client.get(f"/api/v1/instances/{instance_id}", headers=headers)
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def cpd_reasons(client, unit, unit_id, id_number) -> list[str]:
    listed = client.get(f"/api/v1/units/{unit_id}/eligibility?process=engineer_cpd", headers=unit)
    assert listed.status_code == 200, listed.get_json()
    return next(i["reasons"] for i in listed.get_json()["items"] if i["id_number"] == id_number)


# --- 普通会员 → 专业会员 -----------------------------------------------------------------------


def test_an_ordinary_member_changed_to_professional_pays_then_may_enrol_in_cpd(
    app, client, login, world
):
    unit = login("unit")
    n = seed(app, world.unit_id, "黄建明", "44010619820101123", registration_number="44001234")
    assert cpd_reasons(client, unit, world.unit_id, n) == ["该人员不是专业会员，须先成为专业会员"]

    inst = start(client, unit, "member_info_change", level_change(client, unit, n, "黄建明"))
    assert inst["status"] == "机构初审中"
    assert step_task(client, login("agency"), inst["id"], APPROVE)["status"] == "协会复核中"
    assert step_task(client, login("association"), inst["id"], APPROVE)["status"] == "待缴费"

    # the unit pays the 专业会员 fee of rules/membership_fee.dmn; nothing granted yet
    shown = view(client, unit, inst["id"])
    assert shown["data"]["fee_amount"] == "300.00"
    bill = shown["bill"]
    assert (bill["kind"], bill["amount"], bill["status"]) == ("个人会员费", "300.00", "unpaid")
    assert (bill["membership_amount"], bill["lines"]) == ("300.00", [])
    assert open_task(client, unit, inst["id"])["task_name"] == "unit_pay"
    assert set(memberships(app, n)) == {"普通会员"}

    paid = step_task(client, unit, inst["id"], {"fee_voucher": upload(client, unit)})
    assert paid["status"] == "财务复核中"
    done = step_task(client, login("finance"), inst["id"], FINANCE_APPROVE)
    assert (done["status"], done["finished"]) == ("审批完成", True)

    bill = view(client, unit, inst["id"])["bill"]
    assert (bill["status"], bill["receipt_number"]) == ("confirmed", "GD-CZ-2026-000777")
    # 专业会籍 for one year (policy membership_validity_years), 普通会籍 unchanged
    held = memberships(app, n)
    assert held["专业会员"] == (date(2027, 11, 28), TODAY)
    assert set(held) == {"普通会员", "专业会员"} and held["普通会员"][0] == ORDINARY_UNTIL

    # §2.11.1(2) 会员类型是专业会员: the member may now enrol in 注师继教
    assert cpd_reasons(client, unit, world.unit_id, n) == []
    files = ("id_front", "id_back", "diploma", "registration_cert", "social_insurance")
    person = {"id_number": n, "name": "黄建明", **{f: upload(client, unit) for f in files}}
    cpd = start(
        client,
        unit,
        "engineer_cpd",
        {"fee_voucher": upload(client, unit), "persons": [person]},
    )
    assert cpd["status"] == "机构初审中"


def test_a_lapsed_professional_membership_may_be_taken_again(app, client, login, world):
    unit = login("unit")
    n = seed(
        app,
        world.unit_id,
        "邱海燕",
        "44010619860606246",
        memberships={"普通会员": ORDINARY_UNTIL, "专业会员": date(2026, 3, 11)},
    )
    inst = start(client, unit, "member_info_change", level_change(client, unit, n, "邱海燕"))
    step_task(client, login("agency"), inst["id"], APPROVE)
    step_task(client, login("association"), inst["id"], APPROVE)
    step_task(client, unit, inst["id"], {"fee_voucher": upload(client, unit)})
    assert step_task(client, login("finance"), inst["id"], FINANCE_APPROVE)["finished"]
    assert memberships(app, n)["专业会员"] == (date(2027, 11, 28), TODAY)


def test_a_professional_member_cannot_ask_to_become_professional(app, client, login, world):
    unit = login("unit")
    n = seed(
        app,
        world.unit_id,
        "苏文博",
        "44010619790909357",
        memberships={"普通会员": ORDINARY_UNTIL, "专业会员": date(2027, 3, 1)},
    )
    body = start(client, unit, "member_info_change", level_change(client, unit, n, "苏文博"), 422)
    assert body["errors"] == {
        "eligibility": ["该人员已是专业会员（专业会籍在有效期内），不能再申请变更为专业会员"]
    }, body
    assert client.get("/api/v1/instances", headers=unit).get_json()["total"] == 0
    # the same person may still change other information (no level change, no refusal)
    data = level_change(client, unit, n, "苏文博")
    data["changes"] = {"mobile": "13922334455"}
    assert start(client, unit, "member_info_change", data)["status"] == "机构初审中"


def test_a_level_change_needs_the_qualification_certificate(app, client, login, world):
    unit = login("unit")
    n = seed(app, world.unit_id, "黄建明", "44010619820101123")
    data = level_change(client, unit, n, "黄建明")
    del data["qualification_cert"]
    body = start(client, unit, "member_info_change", data, 422)
    assert "qualification_cert" in body["errors"], body
    assert "执业资格证书" in body["errors"]["qualification_cert"]

    data = level_change(client, unit, n, "黄建明", member_level="高级会员")
    body = start(client, unit, "member_info_change", data, 422)
    assert "changes.member_level" in body["errors"], body
    assert client.get("/api/v1/instances", headers=unit).get_json()["total"] == 0


def test_an_info_change_without_a_level_change_has_no_bill(app, client, login, world):
    unit = login("unit")
    n = seed(app, world.unit_id, "杨志刚", "44010619800101123")
    data = level_change(client, unit, n, "杨志刚")
    data["changes"] = {"mobile": "13922334455", "title": "高级"}
    inst = start(client, unit, "member_info_change", data)
    step_task(client, login("agency"), inst["id"], APPROVE)
    done = step_task(client, login("association"), inst["id"], APPROVE)
    assert (done["status"], done["finished"]) == ("审批完成", True)
    assert view(client, unit, inst["id"])["bill"] is None
    assert in_db(app, lambda s: s.scalars(select(Bill)).all()) == []
    assert set(memberships(app, n)) == {"普通会员"}


def test_finance_returning_a_level_change_sends_it_back_and_bills_again(app, client, login, world):
    unit = login("unit")
    n = seed(app, world.unit_id, "黄建明", "44010619820101123")
    inst = start(client, unit, "member_info_change", level_change(client, unit, n, "黄建明"))
    step_task(client, login("agency"), inst["id"], APPROVE)
    step_task(client, login("association"), inst["id"], APPROVE)
    step_task(client, unit, inst["id"], {"fee_voucher": upload(client, unit)})
    back = step_task(
        client, login("finance"), inst["id"], {"decision": "return", "remark": "凭证金额不符"}
    )
    assert back["status"] == "退回"
    assert set(memberships(app, n)) == {"普通会员"}
    values = form_values(client, unit, inst["id"])
    assert values["changes"]["member_level"] == "专业会员"
    assert step_task(client, unit, inst["id"], values)["status"] == "机构初审中"
    step_task(client, login("agency"), inst["id"], APPROVE)
    assert step_task(client, login("association"), inst["id"], APPROVE)["status"] == "待缴费"
    bill = view(client, unit, inst["id"])["bill"]
    assert (bill["amount"], bill["status"]) == ("300.00", "unpaid")


# --- both levels on one join ------------------------------------------------------------------


def join_to_payment(client, login, data, pre_review: dict) -> int:
    inst = start(client, login("unit"), "member_join", data)
    values = form_values(client, login("unit"), inst["id"])
    step_task(client, login("unit"), inst["id"], {**values, "decision": "approve", **pre_review})
    step_task(client, login("agency"), inst["id"], APPROVE)
    assert step_task(client, login("association"), inst["id"], APPROVE)["status"] == "待缴费"
    return inst["id"]


def test_a_join_for_both_levels_pays_the_sum_and_holds_two_memberships(app, client, login, world):
    unit = login("unit")
    n = make_resident_id("44010619850315231")
    levels = {"member_level": "普通会员", "member_levels": ["普通会员", "专业会员"]}
    instance_id = join_to_payment(client, login, applicant_data(client, unit, n), levels)

    shown = view(client, unit, instance_id)
    assert shown["data"]["fee_amount"] == "500.00"  # 200.00 + 300.00
    assert shown["data"]["member_levels"] == ["普通会员", "专业会员"]
    assert (shown["bill"]["amount"], shown["bill"]["lines"]) == ("500.00", [])

    step_task(client, unit, instance_id, {"fee_voucher": upload(client, unit)})
    assert step_task(client, login("finance"), instance_id, FINANCE_APPROVE)["finished"]
    assert memberships(app, n) == {
        "普通会员": (date(2029, 11, 28), TODAY),
        "专业会员": (date(2027, 11, 28), TODAY),
    }


def test_a_join_listing_only_the_second_level_applies_for_both(app, client, login, world):
    """member_level and member_levels are merged: a client may name each level once."""
    unit = login("unit")
    n = make_resident_id("44010619850315231")
    levels = {"member_level": "专业会员", "member_levels": ["普通会员"]}
    instance_id = join_to_payment(client, login, applicant_data(client, unit, n), levels)
    assert view(client, unit, instance_id)["data"]["fee_amount"] == "500.00"


def test_a_join_for_one_level_keeps_its_fee(app, client, login, world):
    unit = login("unit")
    n = make_resident_id("44010619850315231")
    instance_id = join_to_payment(
        client, login, applicant_data(client, unit, n), {"member_level": "专业会员"}
    )
    assert view(client, unit, instance_id)["data"]["fee_amount"] == "300.00"
    step_task(client, unit, instance_id, {"fee_voucher": upload(client, unit)})
    assert step_task(client, login("finance"), instance_id, FINANCE_APPROVE)["finished"]
    assert memberships(app, n) == {"专业会员": (date(2027, 11, 28), TODAY)}


@pytest.mark.parametrize(
    "levels",
    [["高级会员"], ["普通会员", "普通会员"], "专业会员", ["普通会员", "专业会员", "普通会员"]],
)
def test_a_wrong_list_of_levels_is_named(app, client, login, world, levels):
    unit = login("unit")
    inst = start(client, unit, "member_join", applicant_data(client, unit))
    values = form_values(client, unit, inst["id"])
    task = open_task(client, unit, inst["id"])
    data = {**values, "decision": "approve", "member_level": "普通会员", "member_levels": levels}
    reply = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=unit, json={"data": data})
    assert reply.status_code == 422, reply.get_json()
    errors = reply.get_json()["errors"]
    assert [k for k in errors if k.split(".")[0] == "member_levels"] == list(errors), errors
    assert all("申请会员级别" in message for message in errors.values()), errors
    assert view(client, unit, inst["id"])["status"] == "单位预审中"


# --- the pages: both levels at 单位预审, 专业会员 on the change form ------------------------


def sign_in(client, username: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    data = {"username": username, "password": PASSWORD, "csrf_token": token}
    assert client.post("/login", data=data).status_code == 302


def test_the_pre_review_page_offers_both_levels_and_the_change_form_the_professional_one(
    app, client, login, world
):
    unit = login("unit")
    inst = start(client, unit, "member_join", applicant_data(client, unit))
    task = open_task(client, unit, inst["id"])
    sign_in(client, world.logins["unit"])
    page = client.get(f"/workbench/tasks/{task['id']}").get_data(as_text=True)
    assert "申请会员级别（可同时申请）" in page
    for level in ("普通会员", "专业会员"):
        assert f'<input type="checkbox" name="member_levels" value="{level}">' in page
    n = seed(app, world.unit_id, "黄建明", "44010619820101123")
    member = in_db(app, lambda s: s.scalar(select(Member.id).where(Member.id_number == n)))
    reply = client.get(f"/business/member_info_change/form?member={member}")
    form = reply.get_data(as_text=True)
    assert reply.status_code == 200, form[:500]
    assert "会员级别变更" in form and "普通会员变更为专业会员" in form
