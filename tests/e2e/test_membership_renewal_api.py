"""个人会员费缴纳 (membership_renewal) over HTTP, on both databases: a unit renews its
members' memberships in one form with one bill; finance's confirmation renews each person's
membership at the level paid for; the rules refuse, with their Chinese reasons, whoever may
not renew; a person transferred in renews at once; finance's return reopens the bill."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from conftest import form_values, in_db, member_headers, upload
from conftest import start_form as start
from conftest import step_task as step
from sqlalchemy import func, select, update
from test_pages_http import sign_in

from service.db.models import Bill, Member, Membership, Notification, ProcessInstance
from service.domain.disclosure import NOT_DISCLOSED
from service.domain.validation import make_resident_id
from service.services.membership.roster import MemberSeed, add_member

KEY = "membership_renewal"
API = "/api/v1"
TODAY = date(2026, 11, 28)  # pinned_clock's business day
RECEIPT = {
    "decision": "approve",
    "remark": "已到账",
    "receipt_number": "CZ2026000321",
    "receipt_date": "2026-11-28",
}

pytestmark = pytest.mark.usefixtures("pinned_clock")


def seed(app, unit_id: int, name: str, prefix: str, memberships: dict) -> str:
    id_number = make_resident_id(prefix)

    def add(s):
        add_member(s, MemberSeed(name, id_number, unit_id, memberships=memberships))
        s.commit()

    in_db(app, add)
    return id_number


def memberships(app, id_number: str) -> dict:
    """level -> (valid_from, valid_until, cancelled_on) of one person, as stored."""

    def read(s):
        rows = s.execute(
            select(Membership)
            .join(Member, Member.id == Membership.member_id)
            .where(Member.id_number == id_number)
        ).scalars()
        return {m.level: (m.valid_from, m.valid_until, m.cancelled_on) for m in rows}

    return in_db(app, read)


def bill(app, instance_id: int) -> dict:
    def read(s):
        b = s.scalars(select(Bill).where(Bill.instance_id == instance_id)).one()
        return {
            "kind": b.kind,
            "receipt_type": b.receipt_type,
            "amount": f"{b.amount:.2f}",
            "membership_amount": f"{b.membership_amount:.2f}",
            "status": b.status,
            "voucher": b.voucher_file_id,
            "lines": [
                (x["id_number"], x["member_level"], x["membership_fee"], x["support_fee"])
                for x in b.lines
            ],
        }

    return in_db(app, read)


def count_instances(app) -> int:
    return in_db(app, lambda s: s.scalar(select(func.count()).select_from(ProcessInstance)))


def line(id_number: str, name: str, level: str) -> dict:
    return {"id_number": id_number, "name": name, "member_level": level}


def pay(client, unit, instance_id: int) -> dict:
    return step(client, unit, instance_id, {"fee_voucher": upload(client, unit)})


def test_one_form_one_bill_and_each_membership_renewed_at_its_level(app, client, login, world):
    unit = login("unit")
    lapsed = seed(
        app, world.unit_id, "罗文杰", "44050719820303345", {"普通会员": date(2026, 6, 30)}
    )
    early = seed(app, world.unit_id, "吴静", "44050719880808456", {"普通会员": date(2027, 3, 11)})
    engineer = seed(
        app,
        world.unit_id,
        "陈国栋",
        "44010619790909567",
        {"普通会员": date(2028, 5, 1), "专业会员": date(2026, 12, 31)},
    )
    before_early = memberships(app, early)["普通会员"]
    persons = [
        line(lapsed, "罗文杰", "普通会员"),
        line(early, "吴静", "普通会员"),
        line(engineer, "陈国栋", "专业会员"),
    ]

    # who may renew (the picker's list) and what each pays (预览), from the process's tables
    listed = client.get(
        f"{API}/units/{world.unit_id}/eligibility", headers=unit, query_string={"process": KEY}
    )
    assert listed.status_code == 200, listed.get_json()
    assert {i["id_number"]: i["eligible"] for i in listed.get_json()["items"]} == {
        lapsed: True,
        early: True,
        engineer: True,
    }
    preview = client.post(
        f"{API}/processes/{KEY}/preview", headers=unit, json={"data": {"persons": persons}}
    )
    assert preview.status_code == 200, preview.get_json()
    body = preview.get_json()
    assert [(i["eligible"], i["membership_fee"], i["support_fee"]) for i in body["items"]] == [
        (True, "200.00", "0.00"),
        (True, "200.00", "0.00"),
        (True, "300.00", "0.00"),
    ]
    assert body["fee_total"] == "700.00"

    inst = start(client, unit, KEY, {"persons": persons})
    assert inst["business_key"].startswith("HF-") and inst["status"] == "待缴费"
    assert bill(app, inst["id"]) == {
        "kind": "个人会员费",
        "receipt_type": "电子财政收据",
        "amount": "700.00",
        "membership_amount": "700.00",
        "status": "unpaid",
        "voucher": None,
        "lines": [
            (lapsed, "普通会员", "200.00", "0.00"),
            (early, "普通会员", "200.00", "0.00"),
            (engineer, "专业会员", "300.00", "0.00"),
        ],
    }
    shown = client.get(f"{API}/instances/{inst['id']}", headers=unit).get_json()
    assert shown["bill"]["amount"] == "700.00" and shown["bill"]["status_label"] == "未缴费"

    paid = pay(client, unit, inst["id"])
    assert paid["status"] == "财务复核中"
    assert bill(app, inst["id"])["status"] == "paid" and bill(app, inst["id"])["voucher"]
    # said as finance's list of bills says it: paid, and waiting for finance (待确认)
    shown = client.get(f"{API}/instances/{inst['id']}", headers=unit).get_json()
    assert shown["bill"]["status_label"] == "已缴费，待财务确认"
    # nothing renews before finance confirms
    assert memberships(app, lapsed)["普通会员"][1] == date(2026, 6, 30)

    done = step(client, login("finance"), inst["id"], RECEIPT)
    assert (done["status"], done["finished"]) == ("审批完成", True)
    assert bill(app, inst["id"])["status"] == "confirmed"

    # lapsed: again from today, three years; paid early: three years on from its old end,
    # its start unchanged; 专业会员: one year on from its end, the 普通会籍 untouched
    assert memberships(app, lapsed)["普通会员"] == (TODAY, date(2029, 11, 28), None)
    assert memberships(app, early)["普通会员"] == (before_early[0], date(2030, 3, 11), None)
    renewed = memberships(app, engineer)
    assert renewed["专业会员"][1:] == (date(2027, 12, 31), None)
    assert renewed["普通会员"][1] == date(2028, 5, 1)

    # the generic business messages reached the unit (系统通知)
    kinds = in_db(
        app,
        lambda s: sorted(
            s.scalars(
                select(Notification.kind).where(
                    Notification.unit_id == world.unit_id,
                    Notification.title.contains(inst["business_key"]),
                )
            )
        ),
    )
    assert set(kinds) >= {"submitted", "bill_issued", "payment_confirmed", "approved"}


def test_whoever_may_not_renew_is_refused_with_the_reason_and_nothing_is_saved(
    app, client, login, world
):
    unit = login("unit")
    cancelled = seed(
        app, world.unit_id, "黄小燕", "44010619850505234", {"普通会员": date(2028, 1, 1)}
    )
    in_db(
        app,
        lambda s: (
            s.execute(
                update(Membership)
                .where(
                    Membership.member_id
                    == select(Member.id).where(Member.id_number == cancelled).scalar_subquery()
                )
                .values(cancelled_on=date(2026, 10, 1))
            ),
            s.commit(),
        ),
    )
    ordinary_only = seed(
        app, world.unit_id, "梁志明", "44010619800101123", {"普通会员": date(2027, 1, 1)}
    )
    busy = seed(app, world.unit_id, "何家豪", "44010619840404456", {"普通会员": date(2026, 1, 1)})
    first = start(client, unit, KEY, {"persons": [line(busy, "何家豪", "普通会员")]})
    assert first["status"] == "待缴费"
    held = {n: memberships(app, n) for n in (cancelled, ordinary_only, busy)}
    instances = count_instances(app)

    persons = [
        line(cancelled, "黄小燕", "普通会员"),
        line(ordinary_only, "梁志明", "专业会员"),
        line(busy, "何家豪", "普通会员"),
    ]
    reply = client.post(
        f"{API}/processes/{KEY}/instances", headers=unit, json={"data": {"persons": persons}}
    )
    assert reply.status_code == 422, reply.get_json()
    errors = reply.get_json()["errors"]
    assert errors["persons.0"] == "普通会员会籍已注销，不能续费；请重新办理个人会员入会申请"
    assert errors["persons.1"] == (
        "该人员不是专业会员，不能缴纳专业会员年费；成为专业会员请办理个人会员信息变更（会员级别改为专业会员）"
    )
    assert "有办理中的业务表单（个人会员费缴纳）" in errors["persons.2"]
    assert "有未缴费的账单（个人会员费缴纳）" in errors["persons.2"]
    assert count_instances(app) == instances
    assert {n: memberships(app, n) for n in held} == held

    # the picker greys the cancelled member with the reason, before any level is chosen
    listed = client.get(
        f"{API}/units/{world.unit_id}/eligibility", headers=unit, query_string={"process": KEY}
    ).get_json()["items"]
    by_id = {i["id_number"]: i for i in listed}
    assert by_id[cancelled]["eligible"] is False
    assert by_id[cancelled]["reasons"] == [
        "该人员没有可续费的会籍（从未入会或会籍已注销），请办理个人会员入会申请"
    ]
    assert by_id[ordinary_only]["eligible"] is True

    # bad input names the field, in Chinese; never a 500
    wrong = client.post(
        f"{API}/processes/{KEY}/instances",
        headers=unit,
        json={"data": {"persons": [line(ordinary_only, "梁志明", "高级会员")]}},
    )
    assert wrong.status_code == 422, wrong.get_json()
    assert (
        wrong.get_json()["errors"]["persons.0.member_level"]
        == "第1行「续费会员级别」须为以下之一：普通会员、专业会员"
    )
    empty = client.post(
        f"{API}/processes/{KEY}/instances", headers=unit, json={"data": {"persons": []}}
    )
    assert empty.status_code == 422 and "persons" in empty.get_json()["errors"]
    assert count_instances(app) == instances


def test_a_person_transferred_in_renews_an_expired_membership_at_the_new_unit(
    app, client, login, world
):
    """FAQ 3.23 and §2.11.2.1(2): the person scans the new unit's transfer code, and the new
    unit goes straight to paying the membership fee."""
    unit = login("unit")
    mover = seed(
        app, world.other_unit_id, "郑晓东", "44050719860606789", {"普通会员": date(2026, 3, 31)}
    )
    persons = [line(mover, "郑晓东", "普通会员")]

    refused = client.post(
        f"{API}/processes/{KEY}/instances", headers=unit, json={"data": {"persons": persons}}
    )
    assert refused.status_code == 422
    assert refused.get_json()["errors"]["persons.0"] == NOT_DISCLOSED  # another unit's person

    code = client.post(f"{API}/units/{world.unit_id}/transfer-codes", headers=unit).get_json()[
        "code"
    ]
    scanned = client.post(
        f"{API}/confirmations/{code}/confirm", headers=member_headers(client, mover)
    )
    assert scanned.status_code == 200, scanned.get_json()

    inst = start(client, unit, KEY, {"persons": persons})
    assert inst["status"] == "待缴费" and inst["unit_id"] == world.unit_id
    assert pay(client, unit, inst["id"])["status"] == "财务复核中"
    assert step(client, login("finance"), inst["id"], RECEIPT)["status"] == "审批完成"
    assert memberships(app, mover)["普通会员"] == (TODAY, date(2029, 11, 28), None)
    assert in_db(
        app, lambda s: s.scalar(select(Member.unit_id).where(Member.id_number == mover))
    ) == (world.unit_id)


def test_a_finance_return_keeps_no_receipt_and_a_receipt_after_today_is_refused(
    app, client, login, world
):
    """A receipt finance typed before deciding to return is not kept on the form (its bill
    is unpaid again; the next review would show the stale number filled in), and a receipt
    dated after today is refused, naming the field, with nothing changed."""
    unit, finance = login("unit"), login("finance")
    a = seed(app, world.unit_id, "罗文杰", "44050719820303345", {"普通会员": date(2026, 6, 30)})
    inst = start(client, unit, KEY, {"persons": [line(a, "罗文杰", "普通会员")]})
    pay(client, unit, inst["id"])
    typed = {"receipt_number": "CZ-STALE-1", "receipt_date": "2026-11-27"}
    back = step(
        client, finance, inst["id"], {"decision": "return", "remark": "凭证不清晰", **typed}
    )
    assert back["status"] == "退回"
    data = client.get(f"{API}/instances/{inst['id']}", headers=unit).get_json()["data"]
    assert (data.get("receipt_number"), data.get("receipt_date")) == (None, None)
    again = step(
        client, unit, inst["id"], {"persons": [line(a, "罗文杰", "普通会员")], "remark": "已更正"}
    )
    pay(client, unit, again["id"])
    assert form_values(client, finance, inst["id"]).get("receipt_number") is None

    late = {**RECEIPT, "receipt_date": (TODAY + timedelta(days=1)).isoformat()}
    refused = step(client, finance, inst["id"], late, expect=422)
    assert refused["errors"] == {"receipt_date": "开票日期不能晚于今天（2026-11-28）"}
    # nor before 2000: a year typed 0001 or 1926
    for early in ("0001-01-01", "1926-11-28", "1999-12-31"):
        refused = step(client, finance, inst["id"], {**RECEIPT, "receipt_date": early}, 422)
        assert refused["errors"] == {"receipt_date": "开票日期不能早于 2000-01-01，请核对年份"}
    assert bill(app, inst["id"])["status"] == "paid"
    assert step(client, finance, inst["id"], RECEIPT)["status"] == "审批完成"


def test_a_finance_return_puts_the_bill_back_to_unpaid_and_the_resubmission_reissues_it(
    app, client, login, world
):
    unit = login("unit")
    a = seed(app, world.unit_id, "罗文杰", "44050719820303345", {"普通会员": date(2026, 6, 30)})
    b = seed(
        app,
        world.unit_id,
        "陈国栋",
        "44010619790909567",
        {"普通会员": date(2028, 5, 1), "专业会员": date(2026, 10, 31)},
    )
    held = {n: memberships(app, n) for n in (a, b)}
    inst = start(
        client,
        unit,
        KEY,
        {"persons": [line(a, "罗文杰", "普通会员"), line(b, "陈国栋", "普通会员")]},
    )
    pay(client, unit, inst["id"])
    back = step(
        client, login("finance"), inst["id"], {"decision": "return", "remark": "缴费凭证金额不符"}
    )
    assert back["status"] == "退回"
    returned = bill(app, inst["id"])
    assert (returned["status"], returned["amount"]) == ("unpaid", "400.00")
    assert {n: memberships(app, n) for n in held} == held  # nothing renewed
    # the pages say it unpaid, not paid on the day of the returned voucher
    pages = app.test_client()
    sign_in(pages, world.logins["finance"])
    row = re.search(
        rf"<tr>(?:(?!</tr>).)*{inst['business_key']}(?:(?!</tr>).)*</tr>",
        pages.get("/finance/bills").get_data(as_text=True),
        re.S,
    ).group(0)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    assert "未缴费" in cells[1] and cells[8].strip() == "—", cells
    form = pages.get(f"/forms/{inst['id']}").get_data(as_text=True)
    assert "的缴费已被财务退回，待重新缴费" in form and "退回的凭证" in form

    # the unit corrects the level of 陈国栋 (专业会员 lapsed) and resubmits: billed again
    again = step(
        client,
        unit,
        inst["id"],
        {
            "persons": [line(a, "罗文杰", "普通会员"), line(b, "陈国栋", "专业会员")],
            "remark": "已更正",
        },
    )
    assert again["status"] == "待缴费"
    reissued = bill(app, inst["id"])
    assert (reissued["status"], reissued["amount"], reissued["voucher"]) == (
        "unpaid",
        "500.00",
        None,
    )
    assert reissued["lines"] == [
        (a, "普通会员", "200.00", "0.00"),
        (b, "专业会员", "300.00", "0.00"),
    ]

    pay(client, unit, inst["id"])
    # a return without its reason is refused, naming the field; the task stays open
    no_reason = client.post(
        f"{API}/tasks/{step_id(client, login('finance'), inst['id'])}/complete",
        headers=login("finance"),
        json={"data": {"decision": "return"}},
    )
    assert no_reason.status_code == 422 and "remark" in no_reason.get_json()["errors"]
    assert step(client, login("finance"), inst["id"], RECEIPT)["status"] == "审批完成"
    assert memberships(app, a)["普通会员"] == (TODAY, date(2029, 11, 28), None)
    assert memberships(app, b)["专业会员"][1:] == (date(2027, 11, 28), None)
    assert memberships(app, b)["普通会员"] == held[b]["普通会员"]


def step_id(client, headers, instance_id: int) -> int:
    view = client.get(f"{API}/instances/{instance_id}", headers=headers).get_json()
    return view["open_tasks"][0]["id"]


# --- the unit's pages: 缴费业务 → 个人会员费缴纳 -------------------------------------------


def test_the_unit_starts_a_renewal_from_the_payment_menu_with_a_level_per_person(
    app, client, world
):
    from test_unit_pages_http import IDEMPOTENCY, TOKEN, sign_in, text

    lapsed = seed(
        app, world.unit_id, "罗文杰", "44050719820303345", {"普通会员": date(2026, 6, 30)}
    )
    gone = seed(app, world.unit_id, "黄小燕", "44010619850505234", {})
    ids = in_db(
        app,
        lambda s: {
            n: i
            for n, i in s.execute(
                select(Member.id_number, Member.id).where(Member.unit_id == world.unit_id)
            )
        },
    )
    sign_in(client, world.logins["unit"])

    # the left menu's 缴费业务 section, and 业务办理's group of the same name
    home = text(client.get("/business"))
    menu, _, groups = home.partition('<div class="business-groups">')
    assert re.search(
        r"缴费业务.*?href=\"/business/membership_renewal\">个人会员费缴纳<", menu, re.S
    )
    group = re.search(r'<h2 id="g-\d+">缴费业务</h2>(.*?)</section>', groups, re.S)
    assert group and 'href="/business/membership_renewal">个人会员费缴纳</a>' in group.group(1)

    picker = text(client.get("/business/membership_renewal"))
    eligible, ineligible = picker.split("不符合条件（", 1)
    assert f'value="{ids[lapsed]}"' in eligible
    assert "黄小燕" in ineligible and "没有可续费的会籍" in ineligible
    assert f'value="{ids[gone]}"' not in picker

    form = client.get(f"/business/membership_renewal/form?member={ids[lapsed]}")
    assert form.status_code == 200
    page = text(form)
    assert 'name="persons.0.member_level"' in page and "专业会员" in page
    token, key = TOKEN.search(page).group(1), IDEMPOTENCY.search(page).group(1)
    posted = {
        "persons__rows": "1",
        "persons.0.id_number": lapsed,
        "persons.0.name": "罗文杰",
        "persons.0.member_level": "普通会员",
        "csrf_token": token,
    }
    preview = client.post(
        "/business/membership_renewal/form",
        data={**posted, "action": "preview"},
        content_type="multipart/form-data",
    )
    assert preview.status_code == 200 and "金额总计：<strong>¥200.00</strong>" in text(preview)
    assert "会员费 200.00" in text(preview) and "含会员费" not in text(preview)
    done = client.post(
        "/business/membership_renewal/form",
        data={**posted, "action": "submit", "idempotency_key": key},
        content_type="multipart/form-data",
    )
    assert done.status_code == 302, text(done)[:2000]
    detail = text(client.get(done.headers["Location"]))
    assert "已提交：HF-" in detail and "待缴费" in detail and "罗文杰" in detail


def test_a_renewal_left_unpaid_closes_at_the_deadline_and_frees_the_person(
    app, client, login, world
):
    from test_payment_deadline_api import PINNED, fire_at

    unit = login("unit")
    lapsed = seed(
        app, world.unit_id, "罗文杰", "44050719820303345", {"普通会员": date(2026, 6, 30)}
    )
    data = {"persons": [line(lapsed, "罗文杰", "普通会员")]}
    inst = start(client, unit, KEY, data)
    assert fire_at(app, PINNED + timedelta(days=30) - timedelta(seconds=1)) == 0
    assert fire_at(app, PINNED + timedelta(days=30, seconds=30)) == 1
    detail = client.get(f"{API}/instances/{inst['id']}", headers=unit).get_json()
    assert (detail["status"], detail["finished"]) == ("已关闭", True)
    assert detail["bill"]["status"] == "void"
    assert memberships(app, lapsed)["普通会员"][1] == date(2026, 6, 30)  # nothing renewed
    assert start(client, unit, KEY, data)["status"] == "待缴费"  # free for a new form


def test_a_receipt_number_another_form_s_bill_holds_is_refused(app, client, login, world):
    """Finance typing a receipt number already registered on another form's bill is refused
    at the field, naming that form, with nothing changed; the same number under another
    票据代码 (a number is unique within its code) and the form's own number again are not."""
    unit, finance = login("unit"), login("finance")
    forms = []
    for name, prefix in (("罗文杰", "44050719820303345"), ("陈国栋", "44010619790909567")):
        person = seed(app, world.unit_id, name, prefix, {"普通会员": date(2026, 6, 30)})
        form = start(client, unit, KEY, {"persons": [line(person, name, "普通会员")]})
        pay(client, unit, form["id"])
        forms.append(form)
    first, second = forms
    coded = {**RECEIPT, "receipt_code": "44060122"}
    assert step(client, finance, first["id"], coded)["status"] == "审批完成"

    for typed in (RECEIPT, coded, {**coded, "receipt_number": " CZ2026000321 "}):
        refused = step(client, finance, second["id"], typed, expect=422)
        assert refused["errors"] == {
            "receipt_number": f"票号 CZ2026000321 已登记在单号 {first['business_key']} "
            "的缴费单上，请核对"
        }, typed
        assert bill(app, second["id"])["status"] == "paid"
    other_code = {**RECEIPT, "receipt_code": "44060123"}
    assert step(client, finance, second["id"], other_code)["status"] == "审批完成"


def test_the_form_lists_the_picked_in_archive_order_with_an_only_level_filled(app, client, world):
    """Persons ticked in any order are listed as the picker (the archive) lists them; a
    person holding one level has it filled in (nothing to choose), one holding both not."""
    from test_unit_pages_http import sign_in, text

    one = seed(app, world.unit_id, "罗文杰", "44050719820303345", {"普通会员": date(2026, 6, 30)})
    both = seed(
        app,
        world.unit_id,
        "李文华",
        "44050719830404456",
        {"普通会员": date(2026, 6, 30), "专业会员": date(2026, 6, 30)},
    )
    ids = in_db(
        app,
        lambda s: dict(
            s.execute(
                select(Member.id_number, Member.id).where(Member.unit_id == world.unit_id)
            ).all()
        ),
    )
    sign_in(client, world.logins["unit"])
    page = text(
        client.get(f"/business/membership_renewal/form?member={ids[both]}&member={ids[one]}")
    )
    assert page.index(f'value="{one}"') < page.index(f'value="{both}"')
    first, second = (
        re.search(rf'name="persons\.{i}\.member_level".*?</select>', page, re.S).group(0)
        for i in (0, 1)
    )
    assert re.search(r'<option value="普通会员"[^>]*selected', first), first
    assert "selected" not in second.replace('value="" selected', ""), second
