"""The pages of members, finance and the secretariat over HTTP (Flask's test client), on both
databases: 我的信息 and the certificate PDF, 系统通知, 开票记录 and its export, bills by state,
agencies, units and staff; scope, CSRF and errors at their field."""

from __future__ import annotations

import io
import re
from contextlib import nullcontext
from datetime import date, datetime

import pytest
from conftest import PASSWORD, in_db, member_headers, on_day, png_bytes, upload
from conftest import step_task as step
from openpyxl import load_workbook
from sqlalchemy import select

from service.db.models import (
    Account,
    Certificate,
    Member,
    Notification,
    ProcessInstance,
    Unit,
)
from service.domain.validation import make_credit_code, make_resident_id
from service.services.documents.excel import XLSX_MIMETYPE
from service.services.membership.roster import CertificateSeed, MemberSeed, add_member

pytestmark = pytest.mark.usefixtures("pinned_clock")  # business day 2026-11-28

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
ONE_TIME = re.compile(r'id="one-time-password">([^<]+)<')


def shown_once(client, path: str, data: dict, form: str | None = None):
    """POST a form that issues a one-time password: it redirects to the page showing it
    once (post/redirect/get); that page, as fetched."""
    issued = post(client, path, data, form)
    assert issued.status_code == 302, issued.status_code
    return client.get(issued.headers["Location"])


NEXT_YEAR = date(2027, 6, 30)
APPROVE = {"decision": "approve"}
# the confirmed form's receipt is dated the day the form was submitted (a receipt is never
# dated before its form), eight days before finance confirms it
SUBMITTED = date(2026, 11, 20)
RECEIPT = {"decision": "approve", "receipt_number": "0012345678", "receipt_date": f"{SUBMITTED}"}


def text(reply) -> str:
    return reply.get_data(as_text=True)


def csrf(client, path: str = "/login") -> str:
    return TOKEN.search(text(client.get(path))).group(1)


def post(client, path: str, data: dict, form: str | None = None):
    return client.post(path, data={**data, "csrf_token": csrf(client, form or path)})


def sign_in(client, username: str, password: str = PASSWORD):
    reply = post(client, "/login", {"username": username, "password": password})
    assert reply.status_code == 302, text(reply)[:300]
    return reply


def field_error(html: str, field: str) -> str:
    """The message shown under a form field (its `f-<field>-error` paragraph)."""
    found = re.search(rf'id="f-{field}-error">([^<]+)<', html)
    assert found, f"no error at {field}"
    return found.group(1)


def seed_member(app, unit_id: int, name: str, prefix: str, **kwargs) -> tuple[str, int]:
    number = make_resident_id(prefix)
    kwargs.setdefault("memberships", {"普通会员": NEXT_YEAR})

    def add(s):
        member_id = add_member(s, MemberSeed(name, number, unit_id, **kwargs)).id
        s.commit()
        return member_id

    return number, in_db(app, add)


def enrol(client, login, unit: str, reviewer: str, number: str, name: str, until: str) -> dict:
    """An initial education of one person, walked to `until`: 待缴费, 财务复核中 or 审批完成
    (submitted on SUBMITTED, the day its receipt is dated; the others today)."""
    headers = login(unit)
    person = {
        "id_number": number,
        "name": name,
        "certificate_type": "监理员",
        "specialty_1": "房屋建筑工程",
        "diploma": upload(client, headers),
        "social_insurance": upload(client, headers),
        "verification": upload(client, headers),
    }
    data = {"pledge": upload(client, headers), "persons": [person]}
    with on_day(client, SUBMITTED) if until == "审批完成" else nullcontext():
        reply = client.post(
            "/api/v1/processes/initial_education/instances", headers=headers, json={"data": data}
        )
    assert reply.status_code == 201, reply.get_json()
    inst = reply.get_json()
    step(client, login(reviewer), inst["id"], APPROVE)
    view = step(client, login("association"), inst["id"], APPROVE)
    if until != "待缴费":
        view = step(client, headers, inst["id"], {"fee_voucher": upload(client, headers)})
    if until == "审批完成":
        view = step(client, login("finance"), inst["id"], RECEIPT)
    assert view["status"] == until
    return inst


@pytest.fixture
def bills(app, client, login, world) -> dict:
    """Three forms, one bill in each state finance cares about: confirmed (张三, learning
    open), unpaid (何美玲), paid and waiting for finance (the other unit's 林海)."""
    zhang, zhang_id = seed_member(
        app,
        world.unit_id,
        "张三",
        "44010619850303123",
        certificates=[CertificateSeed("安全监理员", "AQ-2024-0001", NEXT_YEAR)],
    )
    he, _ = seed_member(app, world.unit_id, "何美玲", "44010619860505224")
    lin, _ = seed_member(app, world.other_unit_id, "林海", "44050719870707335")
    confirmed = enrol(client, login, "unit", "agency", zhang, "张三", "审批完成")
    unpaid = enrol(client, login, "unit", "agency", he, "何美玲", "待缴费")
    paid = enrol(client, login, "other_unit", "other_agency", lin, "林海", "财务复核中")
    return {
        "zhang": zhang,
        "zhang_id": zhang_id,
        "confirmed": confirmed["business_key"],
        "unpaid": unpaid["business_key"],
        "paid": paid["business_key"],
    }


# --- 个人会员 -------------------------------------------------------------------------------


def test_a_member_sees_their_record_certificates_and_learning_and_only_their_own(
    app, client, world, bills
):
    other, _ = seed_member(
        app,
        world.unit_id,
        "李四",
        "44010619900101456",
        certificates=[CertificateSeed("监理员", "JL-2024-0999", NEXT_YEAR)],
    )
    member_headers(client, bills["zhang"])

    def lives_at(s):
        member = s.scalars(select(Member).where(Member.id_number == bills["zhang"])).one()
        member.address = "广州市天河区体育西路1号"
        s.commit()

    in_db(app, lives_at)
    sign_in(client, bills["zhang"])
    page = text(client.get("/me"))
    assert "我的信息" in page and "张三" in page and world.unit_name in page
    assert "<dt>通讯地址</dt><dd>广州市天河区体育西路1号</dd>" in page  # an info change changes it
    assert "普通会员" in page and "2027-06-30" in page and "有效" in page
    assert "AQ-2024-0001" in page and "JL-2024-0999" not in page and "李四" not in page
    assert "监理员初始教育" in page and "0/" in page and "0/10" in page  # learning, attempts
    mine = re.search(r'href="(/certificates/\d+/document\.pdf)"', page).group(1)
    pdf = client.get(mine)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF") and "attachment" in pdf.headers["Content-Disposition"]
    theirs = in_db(
        app,
        lambda s: s.scalar(select(Account.member_id).where(Account.username == other)),
    )
    from service.db.models import Certificate

    cert = in_db(
        app, lambda s: s.scalar(select(Certificate.id).where(Certificate.member_id == theirs))
    )
    refused = client.get(f"/certificates/{cert}/document.pdf")
    assert refused.status_code == 404 and "页面不存在" in text(refused)
    forms = text(client.get("/forms"))
    assert bills["confirmed"] in forms and bills["unpaid"] not in forms
    assert client.get("/finance/bills").status_code == 404
    assert client.get("/admin/units").status_code == 404


def test_a_new_member_changes_the_one_time_password_first_then_lands_on_my_info(
    app, client, login, world
):
    number, member_id = seed_member(app, world.unit_id, "孙立新", "44010619880808123")
    reset = client.post(
        f"/api/v1/units/{world.unit_id}/members/{member_id}/password-reset", headers=login("unit")
    )
    one_time = reset.get_json()["password"]
    signed = post(client, "/login", {"username": number, "password": one_time})
    assert signed.headers["Location"] == "/password?next=/me"
    assert client.get("/me").headers["Location"].startswith("/password")
    new = "Zhujiang-2026"
    done = post(
        client,
        "/password",
        {"current_password": one_time, "new_password": new, "new_password2": new, "next": "/me"},
        "/password?next=/me",
    )
    assert done.headers["Location"] == "/me"
    page = text(client.get("/me"))
    assert "孙立新" in page and "暂无培训证书" in page and 'href="/password"' in page


def test_a_cancelled_certificates_pdf_is_refused_under_a_heading_that_says_so(app, world):
    """A cancelled certificate has no electronic certificate: asked by its holder or their
    unit, the 409 page is headed 不能下载电子证, not 409's 数据已变化 (said of a lost race)."""
    number, member_id = seed_member(
        app,
        world.unit_id,
        "黄海",
        "44010619790101123",
        certificates=[CertificateSeed("安全监理员", "AQ-2019-0001", NEXT_YEAR, status="cancelled")],
    )
    cert = in_db(
        app, lambda s: s.scalar(select(Certificate.id).where(Certificate.member_id == member_id))
    )
    member, unit = app.test_client(), app.test_client()
    member_headers(member, number)
    sign_in(member, number)
    sign_in(unit, world.logins["unit"])
    for client, path in (
        (member, f"/certificates/{cert}/document.pdf"),
        (unit, f"/unit/certificates/{cert}.pdf"),
    ):
        refused = client.get(path)
        page = text(refused)
        assert refused.status_code == 409, path
        assert "<h1>不能下载电子证</h1>" in page and "数据已变化" not in page, path
        assert "证书已注销，不能下载电子证" in page, path


def test_my_info_shows_the_status_the_units_archive_shows(app, client, login, world):
    """人员状态 on 我的信息 is the archive's 状态, computed the same way: while a form about the
    member is unfinished (a 证书注销 at 协会复核中) both say 证书注销办理中, else 自由态."""
    number, member_id = seed_member(
        app,
        world.unit_id,
        "黄海",
        "44010619790101123",
        certificates=[CertificateSeed("安全监理员", "AQ-2019-0001", NEXT_YEAR)],
    )
    member, unit = app.test_client(), app.test_client()
    member_headers(member, number)
    sign_in(member, number)
    sign_in(unit, world.logins["unit"])

    def statuses() -> tuple[str, str, str]:
        mine = re.search(r"<dt>人员状态</dt><dd>([^<]*)</dd>", text(member.get("/me")))
        record = re.search(
            r"<dt>状态</dt><dd>([^<]*)</dd>", text(unit.get(f"/unit/members/{member_id}"))
        )
        listed = re.search(
            rf"{number}</td>(?:.*?)<td>(自由态|[^<]*办理中)</td>",
            text(unit.get("/unit/members", query_string={"q": number})),
            re.S,
        )
        return mine.group(1), record.group(1), listed.group(1)

    assert statuses() == ("自由态", "自由态", "自由态")
    headers = login("unit")
    person = {"id_number": number, "name": "黄海", "certificate_types": ["安全监理员"]}
    data = {"cancellation_application": upload(client, headers), "persons": [person]}
    reply = client.post(
        "/api/v1/processes/certificate_cancellation/instances", headers=headers, json={"data": data}
    )
    assert reply.status_code == 201, reply.get_json()
    assert reply.get_json()["status"] == "协会复核中"
    assert statuses() == ("证书注销办理中",) * 3
    done = step(client, login("association"), reply.get_json()["id"], APPROVE)
    assert done["status"] == "审批完成"
    mine, record, listed = statuses()
    assert mine == record == listed and "办理中" not in mine


# --- 系统通知 -------------------------------------------------------------------------------


def _notices(app, world) -> dict[str, int]:
    def add(s):
        unit = s.scalar(select(Account.id).where(Account.username == world.unit_name))
        other = s.scalar(select(Account.id).where(Account.username == world.other_unit_name))
        rows = {
            "mine": Notification(
                account_id=unit,
                kind="certificate_expiry",
                title="培训证书即将到期",
                body="张三的监理员证书将于2027年5月1日到期",
                dedupe_key="a",
                created_at=datetime(2026, 11, 27, 2, 0),
            ),
            "mine2": Notification(
                account_id=unit, kind="return", title="表单被退回", body="请修改", dedupe_key="b"
            ),
            "theirs": Notification(
                account_id=other,
                kind="membership_expiry",
                title="会籍即将到期",
                body="…",
                dedupe_key="c",
            ),
        }
        s.add_all(rows.values())
        s.commit()
        return {k: v.id for k, v in rows.items()}

    return in_db(app, add)


def test_system_notices_list_the_manuals_columns_and_are_marked_read_by_their_owner(
    app, client, world
):
    ids = _notices(app, world)
    sign_in(client, world.unit_name)
    page = text(client.get("/notices"))
    for column in ("序号", "已读", "消息类型", "发起时间", "消息发起人", "消息标题", "消息内容"):
        assert f"<th>{column}</th>" in page
    assert "未读 2 条" in page and "系统消息" in page and "业务消息" in page
    assert "2026-11-27 10:00" in page and "会籍即将到期" not in page
    assert post(client, f"/notices/{ids['theirs']}/read", {}, "/notices").status_code == 404
    assert post(client, f"/notices/{ids['mine']}/read", {}, "/notices").status_code == 302
    assert "未读 1 条" in text(client.get("/notices"))
    unread = text(client.get("/notices?read=unread"))
    assert "表单被退回" in unread and "培训证书即将到期" not in unread
    assert client.get("/notices?read=maybe").status_code == 422
    assert client.post("/notices/read-all").status_code == 400  # no CSRF token
    assert "未读 1 条" in text(client.get("/notices"))
    post(client, "/notices/read-all", {}, "/notices")
    assert "未读 0 条" in text(client.get("/notices"))


# --- 财务 -----------------------------------------------------------------------------------


def test_finance_sees_bills_by_state_with_counts(client, world, bills):
    sign_in(client, "caiwu")
    page = text(client.get("/finance/bills"))
    for label in ("未缴费", "待确认", "已确认", "已作废"):
        assert f"<span>{label}</span>" in page
    counts = dict(re.findall(r"<span>(\S+?)</span><span class=\"n\">(\d+)</span>", page))
    assert counts == {"全部": "3", "未缴费": "1", "待确认": "1", "已确认": "1", "已作废": "0"}
    waiting = text(client.get("/finance/bills?status=paid"))
    assert bills["paid"] in waiting and bills["unpaid"] not in waiting
    assert world.other_unit_name in waiting
    found = text(client.get(f"/finance/bills?q={bills['unpaid']}"))
    assert bills["unpaid"] in found and bills["confirmed"] not in found
    bad = client.get("/finance/bills?status=lost")
    assert bad.status_code == 422 and "缴费状态应为" in text(bad)
    # a refused query lists nothing, yet each state still counts what there is
    assert (
        dict(re.findall(r"<span>(\S+?)</span><span class=\"n\">(\d+)</span>", text(bad))) == counts
    )
    assert 'href="/finance/invoices"' in page  # the menu: 开票记录


def test_invoice_records_filter_by_dates_and_unit_and_export_with_chinese_headers(
    client, world, bills
):
    sign_in(client, "caiwu")
    page = text(client.get("/finance/invoices"))
    for column in ("开票日期", "单位名称", "开票机构", "票据名称", "票号", "缴款人"):
        assert f"<th>{column}</th>" in page
    assert bills["confirmed"] in page and "0012345678" in page and "2026-11-20" in page
    assert 'value="2026-01-01"' in page and 'value="2026-11-28"' in page  # the default range
    assert bills["paid"] not in page  # not confirmed: no receipt yet
    late = text(client.get("/finance/invoices?receipt_from=2026-11-21"))
    assert bills["confirmed"] not in late and "该期间没有开票记录" in late
    other = text(client.get(f"/finance/invoices?unit={world.other_unit_name[:4]}"))
    assert bills["confirmed"] not in other
    backwards = client.get("/finance/invoices?receipt_from=2026-11-28&receipt_to=2026-11-01")
    assert backwards.status_code == 422
    assert "开票日期起（2026-11-28）不能晚于开票日期止（2026-11-01）" in text(backwards)
    assert 'id="receipt_from-error"' in text(backwards)
    # with no end given the end is today: the message says so, the box being empty
    ahead = client.get("/finance/invoices?receipt_from=2099-01-01")
    assert ahead.status_code == 422
    assert "开票日期起（2099-01-01）不能晚于开票日期止（默认为今天 " in text(ahead)

    reply = client.get("/finance/invoices/export.xlsx?receipt_from=2026-11-01")
    assert reply.status_code == 200 and reply.mimetype == XLSX_MIMETYPE
    assert (
        "filename*=UTF-8''%E5%BC%80%E7%A5%A8%E8%AE%B0%E5%BD%95.xlsx"
        in reply.headers["Content-Disposition"]
    )
    rows = list(load_workbook(io.BytesIO(reply.data)).worksheets[0].values)
    assert rows[0][:8] == (
        "序号",
        "开票日期",
        "单位名称",
        "开票机构",
        "票据编码",
        "票据名称",
        "票据代码",
        "票号",
    )
    assert len(rows) == 3 and rows[1][2] == world.unit_name and rows[1][7] == "0012345678"
    assert rows[2][:2] == ("合计", "共 1 条")
    none = client.get(f"/finance/invoices/export.xlsx?unit={world.other_unit_name}")
    none_rows = list(load_workbook(io.BytesIO(none.data)).worksheets[0].values)
    assert len(none_rows) == 2 and none_rows[1][:2] == ("合计", "共 0 条")
    # a filter both units match exports what the list shows for it: every unit's rows
    vague = client.get("/finance/invoices/export.xlsx?unit=监理有限公司")
    assert vague.status_code == 200
    assert list(load_workbook(io.BytesIO(vague.data)).worksheets[0].values) == rows
    unknown = client.get("/finance/invoices/export.xlsx?unit=无此单位")
    assert unknown.status_code == 422 and 'id="unit-error"' in text(unknown)


def test_finance_lists_are_for_finance_and_a_unit_sees_only_its_own_invoices(client, world, bills):
    for who in ("jigou", "xiehui", "admin", world.unit_name):
        sign_in(client, who)
        assert client.get("/finance/bills").status_code == 404, who
    sign_in(client, world.other_unit_name)
    page = text(client.get("/finance/invoices"))
    assert page.count("<tr>") == 2 and bills["confirmed"] not in page  # head + empty row
    sign_in(client, world.unit_name)
    assert bills["confirmed"] in text(client.get("/finance/invoices"))
    sign_in(client, "caiwu")
    assert client.get("/admin/units").status_code == 404
    assert client.get("/me").status_code == 404


# --- 秘书处 ---------------------------------------------------------------------------------


def test_creating_a_unit_names_each_wrong_or_taken_field(app, client, world):
    sign_in(client, "admin")
    form = "/admin/units/new"
    base = {"agency_id": str(world.agency_id), "member_unit": "1"}
    taken = post(
        client,
        form,
        {**base, "name": world.unit_name, "credit_code": make_credit_code("91440101555555555")},
    )
    assert taken.status_code == 422
    assert field_error(text(taken), "name").startswith("该单位名称已注册")
    code = in_db(app, lambda s: s.scalar(select(Unit.credit_code).where(Unit.id == world.unit_id)))
    dup = post(client, form, {**base, "name": "佛山新城监理有限公司", "credit_code": code})
    assert dup.status_code == 422
    assert field_error(text(dup), "credit_code") == "该统一社会信用代码已注册"
    wrong = post(client, form, {"name": "", "credit_code": "91350100M000100Y4Z", "agency_id": "x"})
    assert wrong.status_code == 422
    assert 'id="f-agency_id-error"' in text(wrong)
    missing = post(client, form, {"name": "", "credit_code": "91350100M000100Y4Z"})
    assert field_error(text(missing), "name") == "请填写单位名称"
    assert field_error(text(missing), "credit_code").startswith("统一社会信用代码")
    assert field_error(text(missing), "agency_id") == "请选择初审机构"
    assert (
        in_db(app, lambda s: s.scalar(select(Unit.id).where(Unit.name == "佛山新城监理有限公司")))
        is None
    )


def test_the_secretariat_creates_renames_disables_and_resets_a_unit(app, client, world):
    sign_in(client, "admin")
    name = "佛山新城监理有限公司"
    created = shown_once(
        client,
        "/admin/units/new",
        {
            "name": name,
            "credit_code": make_credit_code("91440604123456789"),
            "agency_id": str(world.agency_id),
            "member_unit": "0",
        },
    )
    assert created.status_code == 200 and created.headers["Cache-Control"] == "no-store"
    one_time = ONE_TIME.search(text(created)).group(1)
    assert "只显示这一次" in text(created)
    unit_id = in_db(app, lambda s: s.scalar(select(Unit.id).where(Unit.name == name)))
    listed = text(client.get("/admin/units?q=新城"))
    assert name in listed and "单位（非会员）" in listed and world.unit_name not in listed

    unit = app.test_client()
    first = post(unit, "/login", {"username": name, "password": one_time})
    assert first.headers["Location"].startswith("/password")  # a one-time password

    renamed = "佛山新城工程监理有限公司"
    code = make_credit_code("91440604123456789")
    saved = post(
        client,
        f"/admin/units/{unit_id}",
        {
            "name": renamed,
            "credit_code": code,
            "agency_id": str(world.agency_id),
            "member_unit": "1",
        },
    )
    assert saved.status_code == 302
    login = in_db(
        app, lambda s: s.scalar(select(Account.username).where(Account.unit_id == unit_id))
    )
    assert login == renamed

    unit = app.test_client()
    sign_in(unit, world.unit_name)
    assert unit.get("/forms").status_code == 200
    disabled = post(client, f"/admin/units/{world.unit_id}/disable", {}, "/admin/units")
    assert disabled.status_code == 302
    assert "已停用" in text(client.get("/admin/units"))
    assert unit.get("/forms").status_code == 302  # signed out at once
    refused = post(unit, "/login", {"username": world.unit_name, "password": PASSWORD})
    assert refused.status_code == 401
    post(client, f"/admin/units/{world.unit_id}/enable", {}, "/admin/units")
    reset = shown_once(client, f"/admin/units/{world.unit_id}/password-reset", {}, "/admin/units")
    new = ONE_TIME.search(text(reset)).group(1)
    assert post(unit, "/login", {"username": world.unit_name, "password": new}).status_code == 302


def test_the_secretariat_manages_agencies_and_staff_with_errors_at_their_field(app, client, world):
    sign_in(client, "admin")
    dup = post(client, "/admin/agencies/new", {"name": "汕头市建筑业协会", "city": "汕头"})
    assert dup.status_code == 422
    assert field_error(text(dup), "name") == "已存在同名的会员服务机构"
    assert (
        post(
            client,
            "/admin/agencies/new",
            {"name": "揭阳市建设执业资格培训中心有限公司", "city": "揭阳"},
        ).status_code
        == 302
    )
    agencies = text(client.get("/admin/agencies?q=揭阳"))
    assert "揭阳市建设执业资格培训中心有限公司" in agencies and "汕头" not in agencies

    form = "/admin/staff/new"
    no_agency = post(
        client, form, {"username": "jigou9", "name": "揭阳初审员", "role": "agency_reviewer"}
    )
    assert no_agency.status_code == 422
    assert field_error(text(no_agency), "agency_id") == "会员服务机构人员必须选择所属机构"
    taken = post(client, form, {"username": "jigou", "name": "重名", "role": "finance_reviewer"})
    assert field_error(text(taken), "username") == "该登录名已被使用（登录名不区分大小写）"
    created = shown_once(
        client,
        form,
        {
            "username": "jigou9",
            "name": "揭阳初审员",
            "role": "agency_reviewer",
            "agency_id": str(world.other_agency_id),
        },
    )
    assert created.status_code == 200 and ONE_TIME.search(text(created))
    staff = text(client.get("/admin/staff?role=agency_reviewer&q=jigou9"))
    assert "揭阳初审员" in staff and "汕头市建筑业协会" in staff and "广州初审员" not in staff
    assert client.get("/admin/staff?role=boss").status_code == 422

    reviewer = app.test_client()
    sign_in(reviewer, "jigou")
    assert reviewer.get("/workbench/todo").status_code == 200
    jigou = in_db(app, lambda s: s.scalar(select(Account.id).where(Account.username == "jigou")))
    assert client.post(f"/admin/staff/{jigou}/disable").status_code == 400  # no CSRF token
    assert reviewer.get("/workbench/todo").status_code == 200
    post(client, f"/admin/staff/{jigou}/disable", {}, "/admin/staff")
    assert reviewer.get("/workbench/todo").status_code == 302  # signed out
    # the account's state is named as the unit's own account pages name it
    disabled = client.get("/admin/staff?q=jigou&state=disabled").get_data(as_text=True)
    assert '<span class="badge s-已停用">已停用</span>' in disabled and "在用" not in disabled
    assert '<option value="disabled" selected>已停用</option>' in disabled
    active = client.get("/admin/staff?q=xiehui&state=active").get_data(as_text=True)
    assert '<span class="badge s-正常">正常</span>' in active and "s-已停用" not in active
    refused = client.get("/admin/staff?state=off").get_data(as_text=True)
    assert "状态应为：正常 或 已停用" in refused
    admin = in_db(app, lambda s: s.scalar(select(Account.id).where(Account.username == "admin")))
    mine = post(client, f"/admin/staff/{admin}/disable", {}, "/admin/staff")
    assert "不能停用当前登录的账号" in text(client.get(mine.headers["Location"]))
    member, _ = seed_member(app, world.unit_id, "孙立新", "44010619880808123")
    member_account = in_db(
        app, lambda s: s.scalar(select(Account.id).where(Account.username == member))
    )
    assert client.get(f"/admin/staff/{member_account}").status_code == 404  # not staff


def test_disabling_an_agencys_last_reviewer_warns_and_its_count_drops(app, client, world):
    """An agency whose units send forms with no reviewer left would let them wait at 机构初审
    unclaimed: the secretariat is told at once, and the agencies list counts only reviewers
    who may work."""
    sign_in(client, "admin")

    def row_of_shantou() -> str:
        page = client.get("/admin/agencies?q=汕头").get_data(as_text=True)
        return page[page.index("汕头市建筑业协会") : page.index("编辑 汕头市建筑业协会")]

    assert "无人可初审" not in row_of_shantou() and ">1</a>" in row_of_shantou()
    st = in_db(app, lambda s: s.scalar(select(Account.id).where(Account.username == "jigou_st")))
    done = post(client, f"/admin/staff/{st}/disable", {}, "/admin/staff")
    flashed = text(client.get(done.headers["Location"]))
    assert "已停用（其登录已全部失效）：jigou_st" in flashed
    assert "“汕头市建筑业协会”已没有可办理的初审人员" in flashed
    assert "无人可初审" in row_of_shantou() and ">0</a>" in row_of_shantou()
    # a password issued to the disabled account says it signs no one in until enabled
    issued = shown_once(client, f"/admin/staff/{st}/password-reset", {}, "/admin/staff")
    assert ONE_TIME.search(text(issued)) and "该账号目前已停用" in text(issued)

    # Guangzhou keeps a reviewer when another of its reviewers is disabled: no warning
    created = shown_once(
        client,
        "/admin/staff/new",
        {
            "username": "jigou8",
            "name": "广州二审员",
            "role": "agency_reviewer",
            "agency_id": str(world.agency_id),
        },
    )
    assert created.status_code == 200
    second = in_db(app, lambda s: s.scalar(select(Account.id).where(Account.username == "jigou8")))
    done = post(client, f"/admin/staff/{second}/disable", {}, "/admin/staff")
    assert "已没有可办理的初审人员" not in text(client.get(done.headers["Location"]))

    post(client, f"/admin/staff/{st}/enable", {}, "/admin/staff")
    assert "无人可初审" not in row_of_shantou() and ">1</a>" in row_of_shantou()
    issued = shown_once(client, f"/admin/staff/{st}/password-reset", {}, "/admin/staff")
    assert ONE_TIME.search(text(issued)) and "已停用" not in text(issued)


def test_secretariat_posts_without_a_csrf_token_change_nothing(app, client, world):
    sign_in(client, "admin")
    reply = client.post("/admin/agencies/new", data={"name": "茂名市建设监理协会", "city": "茂名"})
    assert reply.status_code == 400 and "缺少安全令牌" in text(reply)
    assert "茂名" not in text(client.get("/admin/agencies"))
    assert client.post(f"/admin/units/{world.unit_id}/password-reset").status_code == 400


def test_a_member_applies_for_an_information_change_from_their_own_pages(app, client, world):
    """A member starts 个人会员信息变更 for themself (its diagram lets a member start it):
    the form shows their own name and number, not typed; a number posted in their place is
    ignored; the form goes to the unit's pre-review. A business only a unit starts has no
    page for a member."""
    number, member_id = seed_member(app, world.unit_id, "林婉清", "44010619880808234")
    other, _ = seed_member(app, world.unit_id, "李四", "44010619900101456")
    member_headers(client, number)
    sign_in(client, number)
    me = text(client.get("/me"))
    assert 'href="/business/member_info_change/mine"' in me  # the menu and the record
    assert 'href="/workbench/todo"' not in me  # no diagram gives a member a step of their own
    page = text(client.get("/business/member_info_change/mine"))
    assert "林婉清" in page and number in page and "留存" not in page
    # the level change, one choice alone, is a box that can be unticked (not a radio button)
    raw = client.get("/business/member_info_change/mine").get_data(as_text=True)
    assert '<input type="checkbox" name="changes.member_level" value="专业会员"' in raw
    posted = client.post(
        "/business/member_info_change/mine",
        data={
            "csrf_token": TOKEN.search(page).group(1),
            "id_number": other,  # not theirs: the form's person is the member
            "name": "李四",
            "changes.mobile": "13922334455",
            "changes.title": "",  # 暂不选择, as the browser sends the radio left there
            "diploma_scan": (io.BytesIO(png_bytes()), "学历证书.png"),
            "action": "submit",
        },
        content_type="multipart/form-data",
    )
    assert posted.status_code == 302, text(posted)[-2000:]
    detail = text(client.get(posted.headers["Location"]))
    assert "单位预审中" in detail and "林婉清" in detail

    def started(s):
        row = s.scalars(select(ProcessInstance).where(ProcessInstance.member_id == member_id))
        return [(r.process_key, r.status, r.unit_id) for r in row]

    assert in_db(app, started) == [("member_info_change", "单位预审中", world.unit_id)]
    # the unit and the member are told who sent it: the member, not the unit
    told = in_db(
        app,
        lambda s: {
            n.body for n in s.scalars(select(Notification).where(Notification.kind == "submitted"))
        },
    )
    assert len(told) == 1 and next(iter(told)).startswith("林婉清已提交个人会员信息变更"), told
    # the form page now names the form in progress before anything is filled in
    again = text(client.get("/business/member_info_change/mine"))
    [key] = in_db(app, lambda s: list(s.scalars(select(ProcessInstance.business_key))))
    assert "您还有办理中的表单" in again and f"个人会员信息变更 {key}</a>（单位预审中）" in again
    assert "您还有办理中的表单" not in page  # (none before the first)
    assert client.get("/business/continuing_education/mine").status_code == 404
    assert client.get("/business/member_info_change/form").status_code in (403, 404)


def test_an_information_change_with_nothing_to_change_says_so_and_the_optional_group_says_so(
    app, client, world
):
    """Nothing to change: the page asks for one change, not for 「变更内容」 (a group a person
    cannot fill as such); 最高学历, which may be left out whole, says its stars hold only
    when it is filled."""
    number, _ = seed_member(app, world.unit_id, "林婉清", "44010619880808234")
    member_headers(client, number)
    sign_in(client, number)
    page = text(client.get("/business/member_info_change/mine"))
    assert page.count("选填：不填则整组留空") == 1  # 最高学历; 变更内容 itself is required
    # an optional choice (职称) can be taken back to 暂不选择, chosen until then
    raw = client.get("/business/member_info_change/mine").get_data(as_text=True)
    assert re.search(r'name="changes\.title" value="" checked[^>]*> 暂不选择', raw)
    posted = client.post(
        "/business/member_info_change/mine",
        data={
            "csrf_token": TOKEN.search(page).group(1),
            "diploma_scan": (io.BytesIO(png_bytes()), "学历证书.png"),
            "action": "submit",
        },
        content_type="multipart/form-data",
    )
    assert posted.status_code == 422
    assert "请至少填写一项要变更的信息" in text(posted) and "请填写「变更内容」" not in text(posted)
