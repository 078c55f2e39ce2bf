"""A unit's own business (manual 3.24, issue 14), on SQLite and PostgreSQL.

单位名称变更 (`unit_name_change`): the unit submits its new name with the business licence;
机构初审 → 协会复核; approval renames the unit and its main login and keeps the former name
as 曾用名; a name another unit holds is refused at submission and again at approval. The
certificates keep the old name until the unit runs 证书变更（单位名称）, which then prints
the new one.

单位会员入会 (`unit_membership_join`): a non-member unit applies, the association reviews,
the unit pays the 单位会员费, finance confirms: the unit is a member unit (单位（会员）) to the
end of the year and sees its members' learning progress; applying again is refused.
"""

from __future__ import annotations

from datetime import date

import pytest
from conftest import PASSWORD, in_db, race, seed_world, token_headers, upload
from conftest import start_form as start
from conftest import step_task as step
from sqlalchemy import select
from test_account_pages_http import sign_in, text
from test_learning_progress_member_units import NON_MEMBER, non_member_unit

from service.db.models import (
    Account,
    AuditRecord,
    Bill,
    Certificate,
    Member,
    Notification,
    Unit,
)
from service.domain.validation import make_resident_id
from service.services.membership.roster import CertificateSeed, MemberSeed, add_member

RENAME, JOIN = "unit_name_change", "unit_membership_join"
NEW_NAME = "广州珠江工程咨询集团有限公司"
OLD_NAME = "广州珠江工程建设监理有限公司"  # the world's unit
APPROVE = {"decision": "approve", "remark": "同意"}
FINANCE_APPROVE = {
    "decision": "approve",
    "remark": "已到账",
    "receipt_number": "GDCZ2026000777",
    "receipt_date": "2026-11-28",
}

pytestmark = pytest.mark.usefixtures("pinned_clock")  # business day 2026-11-28


def rename_form(client, headers, new_name: str = NEW_NAME) -> dict:
    return {"new_name": new_name, "business_licence": upload(client, headers)}


def unit_row(app, unit_id: int) -> dict:
    def read(s):
        u = s.get(Unit, unit_id)
        main = s.scalars(
            select(Account).where(Account.unit_id == unit_id, Account.is_main.is_(True))
        ).one()
        return {
            "name": u.name,
            "former_name": (u.registration or {}).get("former_name"),
            "login": main.username,
            "member_unit": u.member_unit,
            "joined_on": u.joined_on,
            "valid_until": u.membership_valid_until,
        }

    return in_db(app, read)


def count_forms(client, headers, key: str) -> int:
    return client.get(f"/api/v1/instances?key={key}", headers=headers).get_json()["total"]


def reasons_of(reply) -> str:
    body = reply.get_json()
    return "；".join(body["errors"]["eligibility"])


# --- 单位名称变更 ----------------------------------------------------------------------------


def test_an_approved_rename_renames_the_unit_and_its_login_and_keeps_the_former_name(
    app, client, login, world
):
    unit = login("unit")
    started = start(client, unit, RENAME, rename_form(client, unit))
    assert started["status"] == "机构初审中"
    assert started["business_key"].startswith("DWGM")
    assert unit_row(app, world.unit_id)["name"] == OLD_NAME  # nothing before approval
    # its notice names the unit where a person's form names the person (was: "，）")
    told = in_db(
        app,
        lambda s: s.scalars(
            select(Notification.body).where(Notification.kind == "submitted")
        ).first(),
    )
    assert f"（单号 {started['business_key']}，{OLD_NAME}）" in told, told

    assert step(client, login("agency"), started["id"], APPROVE)["status"] == "协会复核中"
    done = step(client, login("association"), started["id"], APPROVE)
    assert done["status"] == "审批完成" and done["finished"] is True

    row = unit_row(app, world.unit_id)
    assert row["name"] == NEW_NAME and row["login"] == NEW_NAME
    assert row["former_name"] == OLD_NAME  # 曾用名 in the 工商信息
    # the main account now signs in with the new full name; the old one is gone
    assert token_headers(client, NEW_NAME)
    refused = client.post("/api/v1/auth/token", json={"username": OLD_NAME, "password": PASSWORD})
    assert refused.status_code == 401
    # the unit's own page shows it, with the former name
    info = client.get(f"/api/v1/units/{world.unit_id}/information", headers=unit).get_json()
    assert NEW_NAME in str(info) and OLD_NAME in str(info)
    # one audit record of the rename, with both names
    audit = in_db(
        app,
        lambda s: s.scalars(select(AuditRecord).where(AuditRecord.action == "unit_rename")).one(),
    )
    assert audit.instance_id == started["id"]
    assert audit.detail == {"unit_id": world.unit_id, "before": OLD_NAME, "after": NEW_NAME}
    # in the order things happened: the association's approval, then the rename it made
    trail = in_db(
        app,
        lambda s: [
            (r.action, r.actor_name, r.status_after)
            for r in s.scalars(
                select(AuditRecord)
                .where(AuditRecord.instance_id == started["id"])
                .order_by(AuditRecord.id)
            )
        ],
    )
    assert trail[-2:] == [
        ("complete", "协会审核员", "审批完成"),
        ("unit_rename", "系统", "审批完成"),
    ]

    # a second rename keeps both former names, the latest first
    again = start(client, unit, RENAME, rename_form(client, unit, "珠江工程咨询有限公司"))
    step(client, login("agency"), again["id"], APPROVE)
    step(client, login("association"), again["id"], APPROVE)
    assert unit_row(app, world.unit_id)["former_name"] == f"{NEW_NAME}；{OLD_NAME}"


def test_a_name_another_unit_holds_is_refused_with_the_reason_and_nothing_is_saved(
    app, client, login, world
):
    unit = login("unit")
    taken = client.post(
        f"/api/v1/processes/{RENAME}/instances",
        headers=unit,
        json={"data": rename_form(client, unit, world.other_unit_name)},
    )
    assert taken.status_code == 422, taken.get_json()
    assert "「新单位名称」" in reasons_of(taken) and "已被其他单位使用" in reasons_of(taken)
    assert world.other_unit_name in taken.get_json()["message"]

    same = client.post(
        f"/api/v1/processes/{RENAME}/instances",
        headers=unit,
        json={"data": rename_form(client, unit, OLD_NAME)},
    )
    assert same.status_code == 422
    assert "与本单位现名称相同" in reasons_of(same)

    missing = client.post(
        f"/api/v1/processes/{RENAME}/instances",
        headers=unit,
        json={"data": {"business_licence": upload(client, unit)}},
    )
    assert missing.status_code == 422
    assert "new_name" in missing.get_json()["errors"]
    assert "新单位名称" in missing.get_json()["message"]

    assert count_forms(client, unit, RENAME) == 0  # nothing saved
    assert unit_row(app, world.unit_id)["name"] == OLD_NAME

    # one rename at a time
    first = start(client, unit, RENAME, rename_form(client, unit))
    second = client.post(
        f"/api/v1/processes/{RENAME}/instances",
        headers=unit,
        json={"data": rename_form(client, unit, "另一个新名称有限公司")},
    )
    assert second.status_code == 422
    assert f"已有办理中的单位名称变更表单（{first['business_key']}）" in reasons_of(second)


def test_a_returned_rename_is_corrected_and_resubmitted(app, client, login, world):
    unit = login("unit")
    started = start(client, unit, RENAME, rename_form(client, unit, "珠江监理（错误名称）公司"))
    returned = step(
        client,
        login("agency"),
        started["id"],
        {"decision": "return", "remark": "新名称与营业执照不一致"},
    )
    assert returned["status"] == "退回"

    # corrected to a name another unit holds: refused, the form stays returned
    refused = step(
        client, unit, started["id"], rename_form(client, unit, world.other_unit_name), expect=422
    )
    assert "已被其他单位使用" in "；".join(refused["errors"]["eligibility"])
    view = client.get(f"/api/v1/instances/{started['id']}", headers=unit).get_json()
    assert view["status"] == "退回"

    again = step(client, unit, started["id"], rename_form(client, unit))
    assert again["status"] == "机构初审中"
    step(client, login("agency"), started["id"], APPROVE)
    step(client, login("association"), started["id"], APPROVE)
    assert unit_row(app, world.unit_id)["name"] == NEW_NAME


def test_a_name_taken_while_the_form_was_under_review_is_refused_at_approval(
    app, client, login, world
):
    unit = login("unit")
    started = start(client, unit, RENAME, rename_form(client, unit))
    step(client, login("agency"), started["id"], APPROVE)

    def other_takes_it(s):  # the other unit was renamed meanwhile (by the secretariat)
        s.get(Unit, world.other_unit_id).name = NEW_NAME
        s.commit()

    in_db(app, other_takes_it)
    association = login("association")
    task = client.get(f"/api/v1/instances/{started['id']}", headers=association).get_json()
    reply = client.post(
        f"/api/v1/tasks/{task['open_tasks'][0]['id']}/complete",
        headers=association,
        json={"data": APPROVE},
    )
    assert reply.status_code == 409, reply.get_json()
    assert f"新单位名称“{NEW_NAME}”已被其他单位使用" in reply.get_json()["message"]
    # nothing of the approval kept: the unit keeps its name, the form waits for the review
    assert unit_row(app, world.unit_id)["name"] == OLD_NAME
    view = client.get(f"/api/v1/instances/{started['id']}", headers=unit).get_json()
    assert view["status"] == "协会复核中" and not view["finished"]
    returned = step(client, association, started["id"], {"decision": "return", "remark": "重名"})
    assert returned["status"] == "退回"


# --- the reason for it: the certificates are reprinted with the new name ---------------------


def test_after_a_rename_the_certificate_change_prints_the_new_name(app, client, login, world):
    id_number = make_resident_id("44010619800101123")

    def add(s):
        cert = CertificateSeed("监理员", "JL2024000555", date(2028, 12, 31))
        seed = MemberSeed(
            "梁志明",
            id_number,
            world.unit_id,
            memberships={"普通会员": date(2027, 6, 30)},
            certificates=[cert],
        )
        add_member(s, seed)
        s.commit()

    in_db(app, add)

    def printed(s):
        stmt = (
            select(Certificate.unit_name)
            .join(Member, Member.id == Certificate.member_id)
            .where(Member.id_number == id_number)
        )
        return s.scalar(stmt)

    assert in_db(app, printed) == OLD_NAME
    unit = login("unit")
    renamed = start(client, unit, RENAME, rename_form(client, unit))
    step(client, login("agency"), renamed["id"], APPROVE)
    step(client, login("association"), renamed["id"], APPROVE)
    assert in_db(app, printed) == OLD_NAME  # the certificate still carries the old name

    # 证书变更（单位名称）, reason 单位名称变更: the renamed unit's own staff may be on it
    listed = client.get(
        f"/api/v1/units/{world.unit_id}/eligibility?process=certificate_unit_change"
        "&reason=unit_renamed",
        headers=unit,
    ).get_json()
    assert [(i["id_number"], i["eligible"]) for i in listed["items"]] == [(id_number, True)]
    form = {
        "reason": "unit_renamed",
        "pledge": upload(client, unit),
        "persons": [
            {"id_number": id_number, "name": "梁志明", "social_insurance": upload(client, unit)}
        ],
    }
    change = start(client, unit, "certificate_unit_change", form)
    assert change["status"] == "机构初审中"
    step(client, login("agency"), change["id"], APPROVE)
    assert step(client, login("association"), change["id"], APPROVE)["status"] == "待缴费"
    step(client, unit, change["id"], {"fee_voucher": upload(client, unit)})
    done = step(client, login("finance"), change["id"], FINANCE_APPROVE)
    assert done["status"] == "审批完成"
    assert in_db(app, printed) == NEW_NAME
    certs = client.get("/api/v1/certificates?q=梁志明", headers=unit).get_json()["items"]
    assert [c.get("unit_name") for c in certs] == [NEW_NAME]


# --- 单位会员入会 ----------------------------------------------------------------------------


def join_form(client, headers) -> dict:
    return {
        "purpose": "join",
        "legal_representative": "何建国",
        "legal_representative_mobile": "13800138000",
        "contact_name": "林晓",
        "contact_mobile": "13912345678",
        "application_form": upload(client, headers),
    }


def unit_id_of(app, name: str) -> int:
    return in_db(app, lambda s: s.scalar(select(Unit.id).where(Unit.name == name)))


def test_a_non_member_unit_joins_through_payment_and_finance(app, client, login, world):
    outsider = token_headers(client, non_member_unit(app, world))
    unit_id = unit_id_of(app, NON_MEMBER)
    assert client.get("/api/v1/learning-tasks", headers=outsider).status_code == 403

    started = start(client, outsider, JOIN, join_form(client, outsider))
    assert started["status"] == "协会审核中"
    assert started["business_key"].startswith("DWRH")
    again = client.post(
        f"/api/v1/processes/{JOIN}/instances",
        headers=outsider,
        json={"data": join_form(client, outsider)},
    )
    assert again.status_code == 422
    assert f"已有办理中的单位会员入会申请（{started['business_key']}）" in reasons_of(again)

    association = login("association")
    assert step(client, association, started["id"], APPROVE)["status"] == "待缴费"
    view = client.get(f"/api/v1/instances/{started['id']}", headers=outsider).get_json()
    bill = view["bill"]
    assert (bill["kind"], bill["amount"], bill["receipt_type"], bill["status"]) == (
        "单位会员费",
        "2000.00",
        "电子财政收据",
        "unpaid",
    )
    assert bill["membership_amount"] == "2000.00"
    assert unit_row(app, unit_id)["member_unit"] is False  # not before finance confirms

    paid = step(client, outsider, started["id"], {"fee_voucher": upload(client, outsider)})
    assert paid["status"] == "财务复核中"
    done = step(client, login("finance"), started["id"], FINANCE_APPROVE)
    assert done["status"] == "审批完成" and done["finished"] is True

    row = unit_row(app, unit_id)
    assert row["member_unit"] is True
    assert row["joined_on"] == date(2026, 11, 28)
    assert row["valid_until"] == date(2026, 12, 31)  # the year's unit fee: to the year's end
    confirmed = in_db(
        app, lambda s: s.scalars(select(Bill).where(Bill.instance_id == started["id"])).one()
    )
    assert (confirmed.status, confirmed.receipt_number) == ("confirmed", "GDCZ2026000777")
    audit = in_db(
        app,
        lambda s: s.scalars(select(AuditRecord).where(AuditRecord.action == "unit_admit")).one(),
    )
    assert audit.detail["membership_valid_until"] == "2026-12-31"
    # a member unit now: it looks its members' learning progress up (FAQ 3.17)
    assert client.get("/api/v1/learning-tasks", headers=outsider).status_code == 200

    # and may not apply again while its membership is valid
    refused = client.post(
        f"/api/v1/processes/{JOIN}/instances",
        headers=outsider,
        json={"data": join_form(client, outsider)},
    )
    assert refused.status_code == 422
    assert "本单位已是单位会员（单位会籍有效期至2026-12-31），无需重复申请入会" in reasons_of(
        refused
    )


def test_a_returned_join_is_resubmitted_and_an_expired_member_unit_may_join_again(
    app, client, login, world
):
    outsider = token_headers(client, non_member_unit(app, world))
    unit_id = unit_id_of(app, NON_MEMBER)

    def lapsed(s):  # a member unit whose membership ended last year: it may join again
        u = s.get(Unit, unit_id)
        u.member_unit, u.joined_on = True, date(2018, 1, 5)
        u.membership_valid_until = date(2025, 12, 31)
        s.commit()

    in_db(app, lapsed)
    started = start(client, outsider, JOIN, join_form(client, outsider))
    back = {"decision": "return", "remark": "申请表未盖章"}
    returned = step(client, login("association"), started["id"], back)
    assert returned["status"] == "退回"
    resent = step(client, outsider, started["id"], join_form(client, outsider))
    assert resent["status"] == "协会审核中"
    step(client, login("association"), started["id"], APPROVE)
    step(client, outsider, started["id"], {"fee_voucher": upload(client, outsider)})
    step(client, login("finance"), started["id"], FINANCE_APPROVE)
    row = unit_row(app, unit_id)
    assert row["joined_on"] == date(2018, 1, 5)  # 首次入会时间 is kept
    assert row["valid_until"] == date(2026, 12, 31)


def test_a_member_unit_is_refused_and_bad_input_names_the_field(app, client, login, world):
    unit = login("unit")  # the world's units are member units without an end date
    refused = client.post(
        f"/api/v1/processes/{JOIN}/instances", headers=unit, json={"data": join_form(client, unit)}
    )
    assert refused.status_code == 422
    assert reasons_of(refused) == "本单位已是单位会员，无需重复申请入会"

    outsider = token_headers(client, non_member_unit(app, world))
    data = join_form(client, outsider)
    data["contact_mobile"] = "12345"
    del data["application_form"]
    bad = client.post(f"/api/v1/processes/{JOIN}/instances", headers=outsider, json={"data": data})
    assert bad.status_code == 422
    errors = bad.get_json()["errors"]
    assert "contact_mobile" in errors and "application_form" in errors
    assert count_forms(client, outsider, JOIN) == 0


def test_the_unit_menu_offers_both_and_says_member_after_joining(app, client, login, world):
    non_member_unit(app, world)
    page = app.test_client()
    sign_in(page, NON_MEMBER)
    home = text(page.get("/forms"))
    assert "单位（非会员）" in home
    assert f'href="/business/{RENAME}">单位名称变更' in home
    assert f'href="/business/{JOIN}">单位会员入会' in home
    form = page.get(f"/business/{JOIN}", follow_redirects=True)
    assert form.status_code == 200 and "入会申请表" in text(form)
    assert "单位业务" in text(page.get("/business"))

    member = app.test_client()
    sign_in(member, world.unit_name)
    home = text(member.get("/forms"))
    assert "单位（会员）" in home
    assert f'href="/business/{RENAME}">单位名称变更' in home
    assert f'href="/business/{JOIN}"' not in home  # a member unit is not offered to join


def test_the_pages_show_a_rename_to_its_reviewers_and_the_unit(app, client, login, world):
    unit = login("unit")
    started = start(client, unit, RENAME, rename_form(client, unit))
    agency = app.test_client()
    sign_in(agency, world.logins["agency"])
    queue = text(agency.get("/workbench/todo"))
    assert "单位名称变更" in queue and started["business_key"] in queue
    assert ">None<" not in queue
    task = client.get(f"/api/v1/instances/{started['id']}", headers=login("agency")).get_json()
    page = agency.get(f"/workbench/tasks/{task['open_tasks'][0]['id']}")
    assert page.status_code == 200 and NEW_NAME in text(page)

    own = app.test_client()
    sign_in(own, world.unit_name)
    listed = text(own.get(f"/forms?key={RENAME}"))
    assert started["business_key"] in listed and "机构初审中" in listed
    assert ">None<" not in listed
    detail = own.get(f"/forms/{started['id']}")
    assert detail.status_code == 200 and NEW_NAME in text(detail)


def test_two_renames_submitted_at_once_make_one_form(pg_app):
    """The unit's row is locked while its facts are read: of two simultaneous submissions
    the second sees the first in flight and is refused with the reason (PostgreSQL)."""
    world = seed_world(pg_app)
    client = pg_app.test_client()
    unit = token_headers(client, world.unit_name)
    forms = [rename_form(client, unit, f"珠江新名称{i}有限公司") for i in range(2)]

    def submit(i):
        reply = pg_app.test_client().post(
            f"/api/v1/processes/{RENAME}/instances", headers=unit, json={"data": forms[i]}
        )
        return reply.status_code, reply.get_json()

    results = race(2, submit)
    assert sorted(status for status, _ in results) == [201, 422], results
    refused = next(body for status, body in results if status == 422)
    assert "已有办理中的单位名称变更表单" in refused["message"]
    assert count_forms(client, unit, RENAME) == 1
