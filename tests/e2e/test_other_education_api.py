"""Continuing, upgrade and specialty-change education over HTTP, with learning results."""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal

import pytest
from conftest import business_day, form_values, in_db, on_day, open_task, upload
from conftest import start_form as start
from conftest import step_task as step
from openpyxl import Workbook
from sqlalchemy import select, update
from test_certificate_documents_api import pdf_text
from test_exports_api import by_header, invoice_workbook
from test_pages_http import sign_in

from service.db import db
from service.db.models import (
    Account,
    Bill,
    Certificate,
    LearningTask,
    Member,
    Membership,
    Notification,
    Unit,
)
from service.db.uow import UnitOfWork
from service.domain.validation import make_resident_id
from service.services.membership.roster import CertificateSeed, MemberSeed, add_member
from service.services.workflow.bills import added_membership
from service.services.workflow.timers import fire_due_timers

TODAY = date(2026, 11, 28)
SUBMITTED = date(2026, 11, 27)  # a form submitted the day before finance confirms it
APPROVE = {"decision": "approve", "remark": "同意"}
FINANCE_APPROVE = {
    "decision": "approve",
    "remark": "已到账",
    "receipt_number": "FP2026000789",
    "receipt_date": "2026-11-28",
}
C1 = "有办理中的表单（{}），不能同时办理"


pytestmark = pytest.mark.usefixtures("pinned_clock")


def seed(app, unit_id, name, prefix, certs, until=date(2027, 6, 30)) -> str:
    id_number = make_resident_id(prefix)
    memberships = {"普通会员": until}

    def add(s):
        add_member(
            s, MemberSeed(name, id_number, unit_id, memberships=memberships, certificates=certs)
        )
        s.commit()

    in_db(app, add)
    return id_number


def supervisor(until=date(2028, 12, 31), cert_type="监理员", number="JL2024000001", **kw):
    kw.setdefault("specialty_2", "市政公用工程")
    return CertificateSeed(cert_type, number, until, **kw)


def enrol(client, headers, key, persons, expect=201, **extra) -> dict:
    """An enrolment form for `persons` [(id_number, name)], with every required material."""
    lines = [
        {
            "id_number": n,
            "name": name,
            "diploma": upload(client, headers),
            "social_insurance": upload(client, headers),
            **extra,
        }
        for n, name in persons
    ]
    data = {"pledge": upload(client, headers), "persons": lines}
    return start(client, headers, key, data, expect)


def approve(app, client, login, instance_id, amount: str, receipts=FINANCE_APPROVE) -> None:
    """机构初审 → 协会初审 → 待缴费 (bill `amount`) → 财务复核: learning opens."""
    pay(app, client, login, instance_id, amount)
    if receipts is FINANCE_APPROVE:  # each form's own number (another's is refused), dated
        # the business day: after the day the form was submitted, whatever the clock says
        number = f"FP2026{instance_id:06d}"
        receipts = {**receipts, "receipt_number": number, "receipt_date": business_day(app)}
    done = step(client, login("finance"), instance_id, receipts)
    assert (done["status"], done["finished"]) == ("审批完成", False)


def pay(app, client, login, instance_id, amount: str) -> None:
    """机构初审 → 协会初审 → 待缴费 (bill `amount`) → the unit pays: 财务复核 waits."""
    step(client, login("agency"), instance_id, APPROVE)
    assert step(client, login("association"), instance_id, APPROVE)["status"] == "待缴费"
    assert in_db(app, lambda s: bill_amount(s, instance_id)) == amount
    unit = login("unit")
    step(client, unit, instance_id, {"fee_voucher": upload(client, unit)})


def bill_amount(s, instance_id) -> str:
    return f"{s.scalars(select(Bill).where(Bill.instance_id == instance_id)).one().amount:.2f}"


def fields(body) -> dict:
    """Field errors by dotted path (the service has written both persons/0/x and persons.0.x)."""
    return {k.replace("/", "."): v for k, v in body["errors"].items()}


RECORD = ("id_number", "name", "completed_hours", "exam_status", "exam_attempts")


def record(client, login, rows, expect=200) -> dict:
    records = [dict(zip(RECORD, r, strict=True)) for r in rows]
    reply = client.post(
        "/api/v1/learning-records", headers=login("association"), json={"records": records}
    )
    assert reply.status_code == expect, reply.get_json()
    return reply.get_json()


def learning(app, id_number) -> list[tuple]:
    def read(s):
        rows = s.scalars(select(LearningTask).where(LearningTask.id_number == id_number))
        return [(t.process_key, t.status, Decimal(t.required_hours)) for t in rows]

    return in_db(app, read)


def certificates(app, id_number) -> dict:
    def read(s):
        rows = s.scalars(
            select(Certificate)
            .join(Member, Member.id == Certificate.member_id)
            .where(Member.id_number == id_number)
        )
        return {
            c.type: {
                "number": c.number,
                "status": c.status,
                "valid_until": c.valid_until,
                "renewed_on": c.renewed_on,
                "specialties": (c.specialty_1, c.specialty_2),
            }
            for c in rows
        }

    return in_db(app, read)


def test_continuing_education_extends_the_certificate_from_its_old_expiry(
    app, client, login, world
):
    unit = login("unit")
    due = seed(app, world.unit_id, "蔡文华", "44010619800101123", [supervisor(date(2027, 5, 28))])
    early = seed(
        app,
        world.unit_id,
        "邓志远",
        "44010619810202234",
        [supervisor(date(2027, 6, 28), number="JL2024000002")],
    )
    reason = "监理员证书有效期至2027-06-28，到期前6个月内才能报名继续教育（现距到期7个月）"
    listed = client.get(
        f"/api/v1/units/{world.unit_id}/eligibility"
        "?process=continuing_education&certificate_type=监理员",
        headers=unit,
    ).get_json()["items"]
    assert {i["id_number"]: i["reasons"] for i in listed} == {due: [], early: [reason]}

    persons = [(due, "蔡文华"), (early, "邓志远")]
    body = enrol(client, unit, "continuing_education", persons, 422, certificate_type="监理员")
    assert body["errors"]["persons.1"] == reason and "persons.0" not in body["errors"]
    inst = enrol(client, unit, "continuing_education", persons[:1], certificate_type="监理员")
    assert inst["business_key"].startswith("JY-") and inst["status"] == "机构初审中"
    approve(app, client, login, inst["id"], "60.00")
    assert learning(app, due) == [("continuing_education", "开课未学习", Decimal(24))]

    assert record(client, login, [(due, "蔡文华", 24, "已通过", 1)])["passed"] == 1
    renewed = certificates(app, due)["监理员"]
    assert (renewed["number"], renewed["valid_until"]) == ("JL2024000001", date(2030, 5, 28))
    assert renewed["renewed_on"] == TODAY


# finance's two documents for a support fee billed with a lapsed membership's fee, each of
# its own date: the support fee's today, the membership fee's the day before, when its form
# was submitted (on_day(app, SUBMITTED): a receipt is never dated before its form)
BOTH_RECEIPTS = {
    **FINANCE_APPROVE,
    "receipt_code": "144032400110",
    "membership_receipt_number": "0000541188",
    "membership_receipt_date": SUBMITTED.isoformat(),
    "membership_receipt_code": "44070124",
    "membership_receipt_serial": "GD-FS-2026",
}


def test_a_lapsed_membership_is_billed_and_renewed_before_learning_opens(app, client, login, world):
    unit = login("unit")
    certs = [supervisor(date(2027, 3, 31))]
    n = seed(app, world.unit_id, "叶子豪", "44010619830303890", certs, until=date(2026, 6, 30))
    with on_day(app, SUBMITTED):
        inst = enrol(
            client, unit, "continuing_education", [(n, "叶子豪")], certificate_type="监理员"
        )
    approve(app, client, login, inst["id"], "260.00", BOTH_RECEIPTS)
    # the support fee's 电子发票 and the membership fee's 电子财政收据: both are issued
    bill = in_db(app, lambda s: s.scalars(select(Bill).where(Bill.instance_id == inst["id"])).one())
    assert (bill.kind, bill.receipt_type) == ("会员教育辅助费", "电子发票、电子财政收据")
    assert added_membership(bill) == "200.00"
    sign_in(client, "caiwu")
    listed = client.get("/finance/bills?status=confirmed").get_data(as_text=True)
    assert "含会员费 ¥200.00" in listed
    # the unit's messages in the order things happened: paid, approved, learning opened
    told = in_db(
        app,
        lambda s: s.scalars(
            select(Notification.kind)
            .join(Account, Account.id == Notification.account_id)
            .where(Account.username == world.unit_name)
            .order_by(Notification.id)
        ).all(),
    )
    assert told[-3:] == ["payment_confirmed", "approved", "learning_opened"], told

    def membership(s):
        m = s.scalars(select(Member).where(Member.id_number == n)).one()
        return s.scalars(select(Membership).where(Membership.member_id == m.id)).one().valid_until

    # renewed for 普通会员's three years, to the same day (rules/policy.json, the manual)
    assert in_db(app, membership) == date(2029, 11, 28)
    (task,) = client.get("/api/v1/learning-tasks", headers=unit).get_json()["items"]
    assert (task["status"], task["deadline"]) == ("开课未学习", "2029-11-28")  # FAQ 3.18
    with app.app_context():
        fire_due_timers(app.extensions["memberflow"], UnitOfWork(db.session))
        db.session.remove()
    assert learning(app, n)[0][1] == "开课未学习"  # the old, lapsed date set no deadline


def test_a_support_fee_and_a_lapsed_membership_fee_get_a_document_each(app, client, login, world):
    """Manual §3.5: 电子财政收据 for the membership fee, 电子发票 for the support fee; finance
    registers each with its own number and date, and 开票记录 (page, export) lists each."""
    unit, finance = login("unit"), login("finance")
    certs = [supervisor(date(2027, 3, 31))]
    n = seed(app, world.unit_id, "罗建平", "44010619840404567", certs, until=date(2026, 6, 30))
    with on_day(app, SUBMITTED):
        inst = enrol(
            client, unit, "continuing_education", [(n, "罗建平")], certificate_type="监理员"
        )
    pay(app, client, login, inst["id"], "260.00")
    task_id = open_task(client, finance, inst["id"])["id"]
    task = client.get(f"/api/v1/tasks/{task_id}", headers=finance).get_json()
    assert task["instance"]["data"]["membership_total"] == "200.00"
    assert "membership_receipt_number" in json.dumps(task["form"])
    # one number is not enough: the membership fee's receipt is asked for by name
    body = step(client, finance, inst["id"], FINANCE_APPROVE, 422)
    assert set(body["errors"]) == {"membership_receipt_number", "membership_receipt_date"}
    assert "电子财政收据" in body["errors"]["membership_receipt_number"]
    late = {**BOTH_RECEIPTS, "membership_receipt_date": "2026-11-29"}
    body = step(client, finance, inst["id"], late, 422)
    assert body["errors"] == {"membership_receipt_date": "开票日期不能晚于今天（2026-11-28）"}
    # the two documents under one number (and one code, or where either has none): refused
    # (under two codes, as here, one number is two documents: a number is unique in its code)
    number = FINANCE_APPROVE["receipt_number"]
    for same in (
        {
            **BOTH_RECEIPTS,
            "membership_receipt_number": number,
            "membership_receipt_code": "144032400110",
        },
        {
            **{k: v for k, v in BOTH_RECEIPTS.items() if k != "receipt_code"},
            "membership_receipt_number": f" {number} ",
        },
        {**BOTH_RECEIPTS, "membership_receipt_number": number, "membership_receipt_code": ""},
    ):
        body = step(client, finance, inst["id"], same, 422)
        said = "电子财政收据与电子发票是两张票据，票号不能相同，请核对"
        assert body["errors"] == {"membership_receipt_number": said}, same
    # a return keeps no receipt: the unit resubmits and pays again, finance registers both
    returned = {**BOTH_RECEIPTS, "decision": "return", "remark": "凭证金额不符"}
    step(client, finance, inst["id"], returned)
    view = client.get(f"/api/v1/instances/{inst['id']}", headers=unit).get_json()
    assert view["bill"]["status"] == "unpaid" and view["bill"]["receipts"] == []
    assert all(view["data"].get(k) is None for k in BOTH_RECEIPTS if "receipt" in k)
    step(client, unit, inst["id"], form_values(client, unit, inst["id"]))
    pay(app, client, login, inst["id"], "260.00")
    step(client, finance, inst["id"], BOTH_RECEIPTS)

    view = client.get(f"/api/v1/instances/{inst['id']}", headers=unit).get_json()
    assert view["bill"]["receipts"] == [
        {
            "receipt_type": "电子发票",
            "fee_kind": "会员教育辅助费",
            "amount": "60.00",
            "receipt_number": "FP2026000789",
            "receipt_date": "2026-11-28",
            "receipt_code": "144032400110",
            "receipt_serial": None,
        },
        {
            "receipt_type": "电子财政收据",
            "fee_kind": "个人会员费",
            "amount": "200.00",
            "receipt_number": "0000541188",
            "receipt_date": "2026-11-27",
            "receipt_code": "44070124",
            "receipt_serial": "GD-FS-2026",
        },
    ]
    header, rows, _ = invoice_workbook(client.get("/api/v1/bills/export.xlsx", headers=unit))
    got = [
        {k: c.value for k, c in by_header(header, row).items()}
        for row in rows
        if by_header(header, row)["单号"].value == inst["business_key"]
    ]
    assert [
        (r["票据名称"], r["费用类型"], r["金额"], r["票号"], r["票据代码"], r["票据编码"])
        for r in got
    ] == [  # newest first, as the list shows them
        ("电子发票", "会员教育辅助费", 60, "FP2026000789", "144032400110", None),
        ("电子财政收据", "个人会员费", 200, "0000541188", "44070124", "GD-FS-2026"),
    ]
    assert [r["开票日期"].date() for r in got] == [date(2026, 11, 28), date(2026, 11, 27)]

    sign_in(client, "caiwu")
    page = client.get("/finance/invoices").get_data(as_text=True)
    assert "<th>票据编码</th><th>票据名称</th><th>票据代码</th><th>票号</th>" in page
    rows = [r for r in page.split("<tr>") if inst["business_key"] in r]
    assert len(rows) == 2
    assert "电子发票" in rows[0] and "FP2026000789" in rows[0] and "60.00" in rows[0]
    assert "电子财政收据" in rows[1] and "44070124" in rows[1] and "200.00" in rows[1]
    found = client.get("/finance/invoices?q=0000541188").get_data(as_text=True)
    assert found.count(inst["business_key"]) == 1 and "0000541188" in found

    # the unit renamed afterwards (单位名称变更): the documents keep the name they were
    # issued to, on the page, in its unit filter (either name) and in the export
    renamed = "广州珠江工程咨询集团有限公司"

    def rename(s):
        s.execute(update(Unit).where(Unit.id == world.unit_id).values(name=renamed))
        s.commit()

    in_db(app, rename)
    for unit_filter in (world.unit_name, "咨询集团"):
        page = client.get(f"/finance/invoices?unit={unit_filter}").get_data(as_text=True)
        rows = [r for r in page.split("<tr>") if inst["business_key"] in r]
        assert len(rows) == 2, unit_filter
        assert all(world.unit_name in r and renamed not in r for r in rows), rows
    header, rows, _ = invoice_workbook(client.get("/api/v1/bills/export.xlsx", headers=unit))
    names = {
        by_header(header, row)["单位名称"].value
        for row in rows
        if by_header(header, row)["单号"].value == inst["business_key"]
    }
    assert names == {world.unit_name}
    # finance's 导出Excel of the list by the former name: the rows the list shows, not a
    # refusal that no unit has that name
    for unit_filter in (world.unit_name, "咨询集团"):
        reply = client.get(f"/finance/invoices/export.xlsx?unit={unit_filter}")
        header, rows, _ = invoice_workbook(reply)
        mine = [r for r in rows if by_header(header, r)["单号"].value == inst["business_key"]]
        assert len(mine) == 2, unit_filter
    refused = client.get("/finance/invoices/export.xlsx?unit=不存在的单位")
    assert refused.status_code == 422 and "没有名称包含“不存在的单位”的单位" in refused.get_data(
        as_text=True
    )


def excel(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["身份证号", "姓名", "已完成学时", "考试状态", "考试次数"])
    for row in rows:
        ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_an_upgrade_turns_the_supervisor_certificate_into_an_engineer_one(
    app, client, login, world
):
    unit = login("unit")
    n = seed(app, world.unit_id, "冯建平", "44010619850505345", [supervisor()])
    inst = enrol(client, unit, "upgrade_education", [(n, "冯建平")])
    approve(app, client, login, inst["id"], "100.00")
    assert learning(app, n) == [("upgrade_education", "开课未学习", Decimal(8))]
    types = in_db(app, lambda s: list(s.scalars(select(LearningTask.certificate_type))))
    assert types == ["监理员"]  # the certificate the upgrade learns on (the form names none)

    short = excel([(n, "冯建平", 6, "已通过", 1)])
    reply = client.post(
        "/api/v1/learning-records/import",
        headers=login("association"),
        data={"file": (io.BytesIO(short), "学习记录.xlsx")},
    )
    assert reply.status_code == 422, reply.get_json()
    (row,) = reply.get_json()["errors"].items()
    assert row[0] == "第2行" and "不足要求的8" in row[1] and "不能记为考试通过" in row[1], row
    assert learning(app, n)[0][1] == "开课未学习"

    assert record(client, login, [(n, "冯建平", 8, "已通过", 2)])["passed"] == 1
    held = certificates(app, n)
    engineer = held["专业监理工程师"]
    assert engineer["number"].startswith("ZJ2026") and engineer["status"] == "valid"
    assert engineer["specialties"] == ("房屋建筑工程", "市政公用工程")
    assert engineer["valid_until"] == date(2029, 11, 27)
    assert held.get("监理员", {}).get("status") != "valid"


def lookup(client, **args) -> list[tuple]:
    """The public lookup's (number, type, status_label, superseded_by), in its order."""
    reply = client.get("/api/v1/public/certificates", query_string=args)
    assert reply.status_code == 200, reply.get_json()
    items = reply.get_json()["items"]
    return [(i["number"], i["type"], i["status_label"], i["superseded_by"]) for i in items]


def archived(client, headers, unit_id, id_number) -> list[tuple]:
    """The person's certificates as the unit's archive shows them (one row per person)."""
    reply = client.get(f"/api/v1/units/{unit_id}/members?q={id_number}", headers=headers)
    assert reply.status_code == 200, reply.get_json()
    (row,) = reply.get_json()["items"]
    return [(c["type"], c["number"], c["status"]) for c in row["certificates"]]


def test_a_certificate_issued_again_after_cancellation_is_a_new_one(app, client, login, world):
    """邓丽华's cancelled 监理员 stays findable under its own number as 已注销 when initial
    education issues her a new one (manual §2.10.2: the lookup shows the change)."""
    unit = login("unit")
    cancelled = supervisor(number="JL2024000103", status="cancelled")
    n = seed(app, world.unit_id, "邓丽华", "44010619880303123", [cancelled])
    specialties = {"specialty_1": "房屋建筑工程", "specialty_2": "市政公用工程"}
    inst = enrol(
        client,
        unit,
        "initial_education",
        [(n, "邓丽华")],
        certificate_type="监理员",
        verification=upload(client, unit),
        **specialties,
    )
    approve(app, client, login, inst["id"], "60.00")
    assert record(client, login, [(n, "邓丽华", 24, "通过", 1)])["passed"] == 1

    (new,) = [c for c in lookup(client, id_number=n) if c[0] != "JL2024000103"]
    assert new[0].startswith("JL2026") and new[1:] == ("监理员", "有效", None)
    assert lookup(client, number="JL2024000103") == [("JL2024000103", "监理员", "已注销", new[0])]
    assert lookup(client, number=new[0]) == [new]
    # what reads "her 监理员 certificate" reads the new one: the archive, the rules
    assert archived(client, unit, world.unit_id, n) == [("监理员", new[0], "valid")]
    listed = client.get(
        f"/api/v1/units/{world.unit_id}/eligibility?process=certificate_cancellation",
        headers=unit,
    )
    (mine,) = [i for i in listed.get_json()["items"] if i["id_number"] == n]
    assert mine["eligible"], mine


def test_an_upgraded_supervisor_certificate_stays_findable_as_upgraded(app, client, login, world):
    unit = login("unit")
    n = seed(app, world.unit_id, "梁志远", "44010619860606234", [supervisor(number="JL2024000102")])
    inst = enrol(client, unit, "upgrade_education", [(n, "梁志远")])
    approve(app, client, login, inst["id"], "100.00")
    assert record(client, login, [(n, "梁志远", 8, "已通过", 1)])["passed"] == 1

    (engineer,) = [c for c in lookup(client, id_number=n) if c[1] == "专业监理工程师"]
    assert engineer[0].startswith("ZJ2026") and engineer[2:] == ("有效", None)
    assert lookup(client, number="JL2024000102") == [
        ("JL2024000102", "监理员", "已升级", engineer[0])
    ]
    assert archived(client, unit, world.unit_id, n) == [("专业监理工程师", engineer[0], "valid")]
    pdf = client.get("/api/v1/public/certificates/JL2024000102/document.pdf")
    assert pdf.status_code == 409 and "已升级" in pdf.get_json()["message"]
    # its unit still downloads it, marked 已升级 across the page (a printout read as valid)
    old_id = in_db(
        app,
        lambda s: s.scalar(select(Certificate.id).where(Certificate.number == "JL2024000102")),
    )
    pdf = client.get(f"/api/v1/certificates/{old_id}/document.pdf", headers=unit)
    assert pdf.status_code == 200
    text = pdf_text(pdf.data)
    assert text.count("已升级") == 2, text  # across the page, and in its status line


def test_a_second_certificate_is_enrolled_with_the_held_specialties(app, client, login, world):
    """陈志强 holds 安全监理员 (房屋建筑工程): his 监理员 initial education must name the same
    specialties in the same order (双证专业名称和顺序一致, manual §2.8.1(3))."""
    unit = login("unit")
    safety = supervisor(cert_type="安全监理员", number="AQ2026000001", specialty_2=None)
    n = seed(app, world.unit_id, "陈志强", "44010619840404123", [safety])
    me = [(n, "陈志强")]
    extra = {"certificate_type": "监理员", "verification": upload(client, unit)}
    swapped = {"specialty_1": "市政公用工程", "specialty_2": "房屋建筑工程"}
    body = enrol(client, unit, "initial_education", me, 422, **extra, **swapped)
    reason = (
        "已持有证书的专业为：房屋建筑工程。双证的专业名称和顺序须一致，请按此顺序填写专业1、专业2"
    )
    assert body["errors"]["persons.0"] == reason
    assert in_db(app, lambda s: s.scalars(select(LearningTask)).first()) is None

    inst = enrol(client, unit, "initial_education", me, **extra, specialty_1="房屋建筑工程")
    approve(app, client, login, inst["id"], "60.00")
    assert record(client, login, [(n, "陈志强", 24, "通过", 1)])["passed"] == 1
    held = {t: c["specialties"] for t, c in certificates(app, n).items()}
    assert held == {"安全监理员": ("房屋建筑工程", None), "监理员": ("房屋建筑工程", None)}


def test_a_specialty_change_is_the_sync_of_two_certificates_that_disagree(
    app, client, login, world
):
    """Two certificates with different specialties (from before the rule above) may enrol in
    a specialty change, which writes the chosen pair on both: there is no other 专业同步."""
    unit = login("unit")
    certs = [
        supervisor(),
        supervisor(cert_type="安全监理员", number="AQ2024000009", specialty_2=None),
    ]
    n = seed(app, world.unit_id, "邓丽华", "44010619870707456", certs)
    listed = client.get(
        f"/api/v1/units/{world.unit_id}/eligibility?process=specialty_change", headers=unit
    )
    (mine,) = [i for i in listed.get_json()["items"] if i["id_number"] == n]
    assert (mine["eligible"], mine["reasons"]) == (True, [])

    inst = enrol(client, unit, "specialty_change", [(n, "邓丽华")], specialty_1="房屋建筑工程")
    approve(app, client, login, inst["id"], "60.00")
    assert record(client, login, [(n, "邓丽华", 16, "通过", 1)])["passed"] == 1
    held = {t: c["specialties"] for t, c in certificates(app, n).items()}
    assert held == {"监理员": ("房屋建筑工程", None), "安全监理员": ("房屋建筑工程", None)}


def test_a_specialty_change_rewrites_every_valid_certificate(app, client, login, world):
    unit = login("unit")
    certs = [
        supervisor(specialty_2=None),
        supervisor(cert_type="安全监理员", number="AQ2024000001", specialty_2=None),
        supervisor(cert_type="专业监理工程师", number="ZJ2020000001", status="cancelled"),
    ]
    n = seed(app, world.unit_id, "韩丽萍", "44010619870707456", certs)
    key = "specialty_change"
    bad = enrol(client, unit, key, [(n, "韩丽萍")], 422, specialty_1="土木工程")
    assert fields(bad) == {"persons.0.specialty_1": "专业“土木工程”不在专业字典中"}

    new = {"specialty_1": "机电安装工程", "specialty_2": "通信工程"}
    inst = enrol(client, unit, key, [(n, "韩丽萍")], **new)
    approve(app, client, login, inst["id"], "60.00")
    assert learning(app, n) == [(key, "开课未学习", Decimal(16))]
    # the learning is on every valid certificate held: its 证书类型 and 培训类别 say so (the
    # form names no type; the cancelled one is not among them)
    [task] = client.get(f"/api/v1/learning-tasks?q={n}", headers=login("association")).get_json()[
        "items"
    ]
    assert task["certificate_type"] == "安全监理员、监理员", task
    assert record(client, login, [(n, "韩丽萍", "16", "通过", 1)])["passed"] == 1
    held = {t: (c["status"], c["specialties"]) for t, c in certificates(app, n).items()}
    assert held == {
        "监理员": ("valid", ("机电安装工程", "通信工程")),
        "安全监理员": ("valid", ("机电安装工程", "通信工程")),
        "专业监理工程师": ("cancelled", ("房屋建筑工程", "市政公用工程")),
    }


def listed(client, headers, unit_id, query: str, id_number: str) -> dict:
    """One person's answer in the unit's eligibility list for `query`."""
    reply = client.get(f"/api/v1/units/{unit_id}/eligibility?{query}", headers=headers)
    assert reply.status_code == 200, reply.get_json()
    (item,) = [i for i in reply.get_json()["items"] if i["id_number"] == id_number]
    return item


def test_initial_education_keeps_to_the_two_certificate_combinations(app, client, login, world):
    """FAQ 3.12: a person holds two types at most, 监理员+安全监理员 or 专业监理工程师+安全监理员;
    FAQ 3.19: a 监理员 becomes 专业监理工程师 through 员升师, not through initial education."""
    unit = login("unit")
    both = [
        supervisor(cert_type="专业监理工程师", number="ZJ2024000001"),
        supervisor(cert_type="安全监理员", number="AQ2024000104"),
    ]
    engineer = seed(app, world.unit_id, "邓丽华", "44010619870707456", both)
    holder = seed(app, world.unit_id, "梁志远", "44010619820303345", [supervisor()])

    query = "process=initial_education&certificate_type=监理员"
    refused = listed(client, unit, world.unit_id, query, engineer)
    reason = (
        "已持有专业监理工程师证书，不能再报名监理员初始教育"
        "（一人最多持有两类证书：监理员+安全监理员，或专业监理工程师+安全监理员，手册 3.12）"
    )
    assert (refused["eligible"], refused["reasons"]) == (False, [reason])

    extra = {
        "certificate_type": "专业监理工程师",
        "verification": upload(client, unit),
        "specialty_1": "房屋建筑工程",
        "specialty_2": "市政公用工程",
    }
    body = enrol(client, unit, "initial_education", [(holder, "梁志远")], 422, **extra)
    assert body["errors"]["persons.0"] == (
        "持有监理员证书的，请报名员升师升为专业监理工程师（手册 3.19），"
        "不能报名专业监理工程师初始教育"
    )
    # the way the reason points to takes him
    assert enrol(client, unit, "upgrade_education", [(holder, "梁志远")])["status"] == "机构初审中"


def test_a_specialty_change_to_the_held_specialties_is_refused(app, client, login, world):
    """梁志远's 监理员 reads 房屋建筑工程、市政公用工程: a change to exactly those changes nothing
    and is not charged; a line whose specialties are not typed yet (the picker) is not judged."""
    unit = login("unit")
    n = seed(app, world.unit_id, "梁志远", "44010619820303345", [supervisor()])
    key, held = "specialty_change", {"specialty_1": "房屋建筑工程", "specialty_2": "市政公用工程"}
    unchanged = "报名的专业与现有证书的专业相同，无需办理专业变更"

    def preview(**specialties) -> dict:
        line = {"id_number": n, "name": "梁志远", **specialties}
        reply = client.post(
            f"/api/v1/processes/{key}/preview", headers=unit, json={"data": {"persons": [line]}}
        )
        assert reply.status_code == 200, reply.get_json()
        return reply.get_json()

    same = preview(**held)
    assert same["items"][0]["eligible"] is False and same["items"][0]["reasons"] == [unchanged]
    assert "support_fee" not in same["items"][0] and same["fee_total"] is None
    assert listed(client, unit, world.unit_id, f"process={key}", n)["eligible"] is True
    body = enrol(client, unit, key, [(n, "梁志远")], 422, **held)
    assert body["errors"]["persons.0"] == unchanged

    swapped = preview(specialty_1="市政公用工程", specialty_2="房屋建筑工程")
    assert swapped["items"][0]["eligible"] is True and swapped["fee_total"] == "60.00"


def test_three_education_forms_run_together_but_block_a_unit_change(app, client, login, world):
    unit = login("unit")
    # printed before the unit was renamed, so that a unit-name change has something to change
    old_name = supervisor(date(2027, 3, 31), unit_name="广州珠江建设监理有限公司")
    n = seed(app, world.unit_id, "曹国强", "44010619790909567", [old_name])
    me = [(n, "曹国强")]
    enrol(client, unit, "continuing_education", me, certificate_type="监理员")
    enrol(client, unit, "specialty_change", me, specialty_1="市政公用工程")
    enrol(client, unit, "upgrade_education", me)

    data = {
        "reason": "unit_renamed",
        "pledge": upload(client, unit),
        "persons": [{"id_number": n, "name": "曹国强", "social_insurance": upload(client, unit)}],
    }
    body = start(client, unit, "certificate_unit_change", data, expect=422)
    reason = C1.format("普通会员继续教育、普通会员专业变更、员升师")
    assert body["errors"]["persons.0"] == reason


def test_learning_records_are_recorded_all_or_nothing(app, client, login, world):
    unit = login("unit")
    n = seed(app, world.unit_id, "袁梦", "44010619900101678", [supervisor(date(2027, 2, 28))])
    inst = enrol(client, unit, "continuing_education", [(n, "袁梦")], certificate_type="监理员")
    approve(app, client, login, inst["id"], "60.00")

    stranger = make_resident_id("44010619770707789")
    body = record(
        client,
        login,
        [(n, "袁梦", 24, "已通过", 1), (stranger, "路人乙", 3, "未考试", 0)],
        expect=422,
    )
    assert fields(body) == {"records.1": f"身份证号 {stranger} 不在学习名单中"}
    assert learning(app, n)[0][1] == "开课未学习"
    assert certificates(app, n)["监理员"]["valid_until"] == date(2027, 2, 28)

    body = record(client, login, [(n, "袁梦", 24, "已通过", 11)], expect=422)
    assert fields(body) == {"records.0": "考试次数不能超过10次（现为11次）"}
    assert learning(app, n)[0][1] == "开课未学习"

    assert record(client, login, [(n, "袁梦", 20, "未通过", 9)]) == {
        "received": 1,
        "updated": 1,
        "passed": 0,
        "failed": 0,
    }
    assert learning(app, n)[0][1] == "学习中"


def test_a_person_learning_for_two_forms_is_told_apart_by_form_number(app, client, login, world):
    unit = login("unit")
    n = seed(app, world.unit_id, "沈一鸣", "44010619860606789", [supervisor(date(2027, 3, 31))])
    me = [(n, "沈一鸣")]
    cont = enrol(client, unit, "continuing_education", me, certificate_type="监理员")
    spec = enrol(client, unit, "specialty_change", me, specialty_1="市政公用工程")
    approve(app, client, login, cont["id"], "60.00")
    approve(app, client, login, spec["id"], "60.00")
    assert sorted(t[0] for t in learning(app, n)) == ["continuing_education", "specialty_change"]

    body = record(client, login, [(n, "沈一鸣", 24, "已通过", 1)], expect=422)
    assert "单号" in fields(body)["records.0"]
    row = dict(zip(RECORD, (n, "沈一鸣", 16, "已通过", 1), strict=True))
    reply = client.post(
        "/api/v1/learning-records",
        headers=login("association"),
        json={"records": [{**row, "business_key": spec["business_key"]}]},
    )
    assert reply.status_code == 200, reply.get_json()
    assert dict((t[0], t[1]) for t in learning(app, n)) == {
        "continuing_education": "开课未学习",
        "specialty_change": "已通过",
    }
    assert certificates(app, n)["监理员"]["specialties"] == ("市政公用工程", None)
