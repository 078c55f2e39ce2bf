"""Certificate unit-name change and certificate cancellation over HTTP, on both databases."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import in_db, member_headers, upload
from conftest import start_form as start
from conftest import step_task as step
from sqlalchemy import func, select, update

from service.db.models import Account, Bill, Certificate, Member, Membership, ProcessInstance
from service.domain.validation import make_resident_id
from service.services.membership.roster import CertificateSeed, MemberSeed, add_member

TODAY = date(2026, 11, 28)
NEXT_YEAR = date(2027, 6, 30)
APPROVE = {"decision": "approve", "remark": "同意"}
FINANCE_APPROVE = {
    "decision": "approve",
    "remark": "已到账",
    "receipt_number": "FP2026000456",
    "receipt_date": "2026-11-28",
}
OLD_NAME = "广州珠江监理有限公司（更名前）"


pytestmark = pytest.mark.usefixtures("pinned_clock")


def seed(app, unit_id, name, prefix, certs=(), **kwargs) -> str:
    id_number = make_resident_id(prefix)
    kwargs.setdefault("memberships", {"普通会员": NEXT_YEAR})

    def add(s):
        add_member(s, MemberSeed(name, id_number, unit_id, certificates=list(certs), **kwargs))
        s.commit()

    in_db(app, add)
    return id_number


def cert(cert_type, number, until=date(2028, 12, 31), status="valid") -> CertificateSeed:
    return CertificateSeed(cert_type, number, until, status=status)


def pay_chain(client, login, instance_id, receipts=FINANCE_APPROVE) -> dict:
    """机构初审 → 协会初审 → 待缴费 → 财务复核, all approved (finance with `receipts`)."""
    assert step(client, login("agency"), instance_id, APPROVE)["status"] == "协会初审中"
    assert step(client, login("association"), instance_id, APPROVE)["status"] == "待缴费"
    unit = login("unit")
    paid = step(client, unit, instance_id, {"fee_voucher": upload(client, unit)})
    assert paid["status"] == "财务复核中"
    return step(client, login("finance"), instance_id, receipts)


def change_form(client, headers, reason, persons) -> dict:
    return {
        "reason": reason,
        "pledge": upload(client, headers),
        "persons": [
            {"id_number": n, "name": name, "social_insurance": upload(client, headers)}
            for n, name in persons
        ],
    }


def bill_of(app, instance_id):
    def read(s):
        b = s.scalars(select(Bill).where(Bill.instance_id == instance_id)).one()
        fees = {x["id_number"]: (x["support_fee"], x["membership_fee"]) for x in b.lines}
        return f"{b.amount:.2f}", f"{b.membership_amount:.2f}", b.status, fees

    return in_db(app, read)


def certificates(app, id_number) -> dict:
    def read(s):
        rows = s.execute(
            select(Certificate)
            .join(Member, Member.id == Certificate.member_id)
            .where(Member.id_number == id_number)
        ).scalars()
        return {c.type: (c.status, c.unit_name, c.cancelled_on) for c in rows}

    return in_db(app, read)


def ordinary_membership(app, id_number):
    def read(s):
        m = s.execute(
            select(Membership)
            .join(Member, Member.id == Membership.member_id)
            .where(Member.id_number == id_number, Membership.level == "普通会员")
        ).scalar_one()
        return m.valid_from, m.valid_until, m.cancelled_on

    return in_db(app, read)


# --- certificate_unit_change --------------------------------------------------------------


def test_a_renamed_unit_reissues_every_live_certificate(app, client, login, world):
    unit = login("unit")
    a = seed(
        app,
        world.unit_id,
        "梁志明",
        "44010619800101123",
        [
            cert("监理员", "JL2024000101"),
            cert("安全监理员", "AQ2024000101"),
            cert("专业监理工程师", "ZJ2020000101", status="cancelled"),
        ],
    )
    b = seed(app, world.unit_id, "黄小燕", "44010619850505234", [cert("监理员", "JL2024000102")])
    in_db(app, lambda s: (s.execute(update(Certificate).values(unit_name=OLD_NAME)), s.commit()))

    data = change_form(client, unit, "unit_renamed", [(a, "梁志明"), (b, "黄小燕")])
    inst = start(client, unit, "certificate_unit_change", data)
    assert inst["business_key"].startswith("ZSBG-") and inst["status"] == "机构初审中"

    done = pay_chain(client, login, inst["id"])
    assert (done["status"], done["finished"]) == ("审批完成", True)
    amount, membership, status, fees = bill_of(app, inst["id"])
    assert (amount, membership, status) == ("40.00", "0.00", "confirmed")
    assert fees == {a: ("20.00", "0.00"), b: ("20.00", "0.00")}

    assert certificates(app, a) == {
        "监理员": ("valid", world.unit_name, None),
        "安全监理员": ("valid", world.unit_name, None),
        "专业监理工程师": ("cancelled", OLD_NAME, None),
    }
    assert certificates(app, b) == {"监理员": ("valid", world.unit_name, None)}


def test_a_new_employer_takes_over_a_person_and_renews_an_expired_membership(
    app, client, login, world
):
    """新单位入职 with the person's consent: each scans the unit's transfer code first (FAQ
    3.23), then the new unit reprints the certificates and renews an expired membership."""
    unit = login("unit")
    lapsed = seed(
        app,
        world.other_unit_id,
        "罗文杰",
        "44050719820303345",
        [cert("监理员", "JL2024000201")],
        memberships={"普通会员": date(2026, 6, 30)},
    )
    current = seed(
        app, world.other_unit_id, "吴静", "44050719880808456", [cert("安全监理员", "AQ2024000202")]
    )
    persons = [(lapsed, "罗文杰"), (current, "吴静")]
    lines = [{"id_number": n, "name": name} for n, name in persons]

    def previewed():
        reply = client.post(
            "/api/v1/processes/certificate_unit_change/preview",
            headers=unit,
            json={"data": {"reason": "new_employment", "persons": lines}},
        )
        assert reply.status_code == 200, reply.get_json()
        return reply.get_json()["items"]

    # without their consent a unit cannot pull people from another unit
    refused = previewed()
    assert [i["eligible"] for i in refused] == [False, False]
    # (a person of another unit is not disclosed to this one: the answer says only that)
    assert all("不是本单位人员" in "".join(i["reasons"]) for i in refused)
    code = client.post(f"/api/v1/units/{world.unit_id}/transfer-codes", headers=unit)
    for n, _name in persons:
        scanned = client.post(
            f"/api/v1/confirmations/{code.get_json()['code']}/confirm",
            headers=member_headers(client, n),
        )
        assert scanned.status_code == 200, scanned.get_json()
    assert [i["eligible"] for i in previewed()] == [True, True]

    inst = start(
        client,
        unit,
        "certificate_unit_change",
        change_form(client, unit, "new_employment", persons),
    )
    assert inst["status"] == "机构初审中" and inst["agency_id"] == world.agency_id
    # the support fees' 电子发票 and the lapsed membership fee's 电子财政收据, each its own
    both = {
        **FINANCE_APPROVE,
        "membership_receipt_number": "0000541189",
        "membership_receipt_date": "2026-11-28",
    }
    assert pay_chain(client, login, inst["id"], both)["status"] == "审批完成"

    amount, membership, status, fees = bill_of(app, inst["id"])
    assert (amount, membership, status) == ("240.00", "200.00", "confirmed")
    receipts = client.get(f"/api/v1/instances/{inst['id']}", headers=unit).get_json()
    assert [
        (r["receipt_type"], r["fee_kind"], r["amount"], r["receipt_number"])
        for r in receipts["bill"]["receipts"]
    ] == [
        ("电子发票", "会员教育辅助费", "40.00", "FP2026000456"),
        ("电子财政收据", "个人会员费", "200.00", "0000541189"),
    ]
    assert fees == {lapsed: ("20.00", "200.00"), current: ("20.00", "0.00")}

    def placement(s, n):
        m = s.scalars(select(Member).where(Member.id_number == n)).one()
        acc = s.scalars(select(Account).where(Account.username == n)).one()
        return m.unit_id, m.agency_id, acc.unit_id

    for n in (lapsed, current):
        here = (world.unit_id, world.agency_id, world.unit_id)
        assert in_db(app, lambda s, n=n: placement(s, n)) == here
        assert {v[1] for v in certificates(app, n).values()} == {world.unit_name}
    # 普通会员 renews for three years, to the same day (rules/policy.json, the manual)
    assert ordinary_membership(app, lapsed) == (TODAY, date(2029, 11, 28), None)
    assert ordinary_membership(app, current)[1:] == (NEXT_YEAR, None)


def test_a_unit_change_is_refused_while_the_person_is_in_another_form(app, client, login, world):
    unit = login("unit")
    n = seed(app, world.unit_id, "陈家豪", "44010619900909567", [cert("监理员", "JL2024000301")])
    in_db(app, lambda s: (s.execute(update(Certificate).values(unit_name=OLD_NAME)), s.commit()))
    info = {
        "id_number": n,
        "name": "陈家豪",
        "changes": {"mobile": "13922223333"},
        "diploma_scan": upload(client, unit),
    }
    assert start(client, unit, "member_info_change", info)["status"] == "机构初审中"

    form = change_form(client, unit, "unit_renamed", [(n, "陈家豪")])
    body = start(client, unit, "certificate_unit_change", form, expect=422)
    reason = "有办理中的表单（个人会员信息变更），不能同时办理"
    assert body["errors"]["persons.0"] == reason
    assert body["errors"]["eligibility"] == [f"陈家豪（{n}）：{reason}"]
    assert in_db(app, lambda s: s.scalar(select(func.count(ProcessInstance.id)))) == 1


def test_a_unit_change_that_changes_no_name_is_refused(app, client, login, world):
    """Every valid certificate already carries the unit's current name: nothing to reprint
    and nothing to charge, whichever the reason; one with another name may be changed."""
    unit = login("unit")
    same = seed(app, world.unit_id, "陈伟强", "44010619790707123", [cert("监理员", "JL2024000501")])
    mixed = seed(
        app,
        world.unit_id,
        "何丽娟",
        "44010619810808234",
        [cert("监理员", "JL2024000502"), cert("安全监理员", "AQ2024000502")],
    )
    in_db(
        app,
        lambda s: (
            s.execute(
                update(Certificate)
                .where(Certificate.number == "AQ2024000502")
                .values(unit_name=OLD_NAME)
            ),
            s.commit(),
        ),
    )
    lines = [{"id_number": same, "name": "陈伟强"}, {"id_number": mixed, "name": "何丽娟"}]
    unchanged = "证书上的单位名称已是本单位现名称，无需办理证书变更（单位名称）"
    for reason in ("new_employment", "unit_renamed"):
        reply = client.post(
            "/api/v1/processes/certificate_unit_change/preview",
            headers=unit,
            json={"data": {"reason": reason, "persons": lines}},
        )
        assert reply.status_code == 200, reply.get_json()
        items = reply.get_json()["items"]
        assert [(i["eligible"], i["reasons"]) for i in items] == [(False, [unchanged]), (True, [])]

    form = change_form(client, unit, "new_employment", [(same, "陈伟强")])
    body = start(client, unit, "certificate_unit_change", form, expect=422)
    assert body["errors"]["persons.0"] == unchanged
    assert in_db(app, lambda s: s.scalar(select(func.count(ProcessInstance.id)))) == 0


# --- certificate_cancellation -------------------------------------------------------------


def cancellation(client, headers, lines) -> dict:
    return {
        "cancellation_application": upload(client, headers),
        "persons": [{"id_number": n, "name": name, "certificate_types": t} for n, name, t in lines],
    }


def approve_cancellation(client, login, data) -> dict:
    inst = start(client, login("unit"), "certificate_cancellation", data)
    assert inst["business_key"].startswith("ZSBG-") and inst["status"] == "协会复核中"
    done = step(client, login("association"), inst["id"], APPROVE)
    assert (done["status"], done["finished"]) == ("审批完成", True)
    return done


def only_and_double(app, unit_id) -> list:
    """One person holding only 监理员 (cancels it), one holding two types (cancels one)."""
    only = seed(app, unit_id, "郑海涛", "44010619781212678", [cert("监理员", "JL2024000401")])
    double = seed(
        app,
        unit_id,
        "刘晓红",
        "44010619830606789",
        [cert("监理员", "JL2024000402"), cert("安全监理员", "AQ2024000402")],
    )
    return [(only, "郑海涛", ["监理员"]), (double, "刘晓红", ["安全监理员"])]


def test_the_preview_warns_when_a_cancellation_ends_the_membership(app, client, login, world):
    unit = login("unit")
    lines = only_and_double(app, world.unit_id)
    reply = client.post(
        "/api/v1/processes/certificate_cancellation/preview",
        headers=unit,
        json={"data": {"persons": cancellation(client, unit, lines)["persons"]}},
    )
    assert reply.status_code == 200, reply.get_json()
    items = reply.get_json()["items"]
    assert [i["eligible"] for i in items] == [True, True]
    assert [i.get("cancels_membership") for i in items] == [True, False], items
    assert "普通会员会籍将同时注销" in items[0]["membership_note"]
    assert "仍持有监理员证书" in items[1]["membership_note"]


def test_cancelling_the_only_certificate_cancels_the_membership(app, client, login, world):
    unit = login("unit")
    lines = only_and_double(app, world.unit_id)
    (only, *_), (double, *_) = lines
    approve_cancellation(client, login, cancellation(client, unit, lines))
    assert certificates(app, only)["监理员"][::2] == ("cancelled", TODAY)
    assert ordinary_membership(app, only)[2] == TODAY
    kept = certificates(app, double)
    assert (kept["安全监理员"][0], kept["监理员"][0]) == ("cancelled", "valid")
    assert ordinary_membership(app, double)[2] is None


def test_the_person_and_the_unit_are_told_when_a_cancellation_ends_the_membership(
    client, login, world
):
    unit = login("unit")
    lines = only_and_double(app=client.application, unit_id=world.unit_id)
    (only, *_), (double, *_) = lines
    done = approve_cancellation(client, login, cancellation(client, unit, lines))

    # 郑海涛 held only the 监理员 certificate: the cancellation took the membership, and the
    # person is told so (the form's 审批完成 goes to the unit, whose form it is)
    member = client.get("/api/v1/notifications", headers=member_headers(client, only))
    (ended,) = member.get_json()["items"]
    assert ended["kind"] == "membership_ended"
    assert ended["title"] == "证书已注销，普通会员会籍同时终止：郑海涛"
    for text in ("郑海涛的监理员证书已注销", done["business_key"], "普通会员会籍同时终止"):
        assert text in ended["body"], text
    # the unit hears it too, after 审批完成 (newest first); 刘晓红 still holds 监理员 and
    # keeps the membership: nothing is said of her
    listed = client.get("/api/v1/notifications", headers=unit).get_json()["items"]
    assert [(n["kind"], n["body"]) for n in listed][:2] == [
        ("membership_ended", ended["body"]),
        ("approved", listed[1]["body"]),
    ]
    assert done["business_key"] in listed[1]["body"]
    assert not any("刘晓红" in n["body"] for n in listed if n["kind"] == "membership_ended")
    kept = client.get("/api/v1/notifications", headers=member_headers(client, double))
    assert kept.get_json()["items"] == []


EXPIRED_ONLY_CANCELS = [
    ("initial_education", "安全监理员"),
    ("continuing_education", "监理员"),
    ("upgrade_education", None),
    ("specialty_change", None),
    ("certificate_unit_change", None),
]


def seed_expired(app, unit_id) -> str:
    until = date(2026, 10, 31)
    return seed(app, unit_id, "孙立新", "44010619860202890", [cert("监理员", "JL2023", until)])


def test_an_expired_certificate_allows_only_a_cancellation(app, client, login, world):
    unit = login("unit")
    n = seed_expired(app, world.unit_id)
    base = f"/api/v1/units/{world.unit_id}/eligibility?process="
    for process, cert_type in EXPIRED_ONLY_CANCELS:
        query = base + process + (f"&certificate_type={cert_type}" if cert_type else "")
        reply = client.get(query, headers=unit)
        assert reply.status_code == 200, (process, reply.get_json())
        (item,) = reply.get_json()["items"]
        assert not item["eligible"], process
        assert "持有的监理员证书已过期，只能办理证书注销" in item["reasons"], (process, item)

    reply = client.get(base + "certificate_cancellation", headers=unit)
    (item,) = reply.get_json()["items"]
    assert (item["eligible"], item["reasons"]) == (True, [])
    data = cancellation(client, unit, [(n, "孙立新", ["监理员"])])
    assert start(client, unit, "certificate_cancellation", data)["status"] == "协会复核中"


def test_an_expired_certificate_is_cancelled_on_approval(app, client, login, world):
    n = seed_expired(app, world.unit_id)
    data = cancellation(client, login("unit"), [(n, "孙立新", ["监理员"])])
    approve_cancellation(client, login, data)
    assert certificates(app, n)["监理员"][0] == "cancelled"
    assert ordinary_membership(app, n)[2] == TODAY
