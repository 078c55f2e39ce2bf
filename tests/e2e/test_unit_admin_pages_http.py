"""A unit administrator's own pages over HTTP (Flask's test client), on both databases:
codes, the member archive and its export, certificates, learning progress, sub-accounts,
one-time passwords and the unit's registration data; scope, CSRF and refusals."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from conftest import applicant_data, in_db, start_form, token_headers
from openpyxl import load_workbook
from sqlalchemy import func, select
from test_pages_http import csrf, sign_in, text

from service.db.models import Account, AuditRecord, Certificate, LearningTask, Member
from service.domain.validation import make_resident_id
from service.services.documents import certificate_documents
from service.services.documents.excel import XLSX_MIMETYPE
from service.services.membership.roster import CertificateSeed, MemberSeed, add_member

pytestmark = pytest.mark.usefixtures("pinned_clock")  # business day 2026-11-28
NEXT_YEAR = date(2027, 6, 30)
LAST_YEAR = date(2025, 6, 30)
BIG = re.compile(r'id="one-time-password">([^<]+)<')


def seed(app, unit_id: int, name: str, prefix: str, **kwargs) -> int:
    """A member of the unit (with a member login awaiting its first password); its id."""
    kwargs.setdefault("memberships", {"普通会员": NEXT_YEAR})

    def add(s):
        member = add_member(s, MemberSeed(name, make_resident_id(prefix), unit_id, **kwargs))
        s.commit()
        return member.id

    return in_db(app, add)


def member_id_number(app, member_id: int) -> str:
    return in_db(app, lambda s: s.get(Member, member_id).id_number)


def post(client, path: str, data: dict | None = None):
    """A POST from the pages (with the session's CSRF token), read and closed as a server
    does (a streamed zip's file is closed)."""
    token = csrf(client, "/unit/info")
    return client.post(path, data={"csrf_token": token, **(data or {})}, buffered=True)


def sub_accounts(app, unit_id: int) -> list[tuple[str, bool]]:
    return in_db(
        app,
        lambda s: [
            (a.username, a.active)
            for a in s.scalars(
                select(Account)
                .where(Account.unit_id == unit_id, Account.sub_slot.is_not(None))
                .order_by(Account.sub_slot)
            )
        ],
    )


def resets(app) -> int:
    return in_db(
        app,
        lambda s: s.scalar(select(func.count()).where(AuditRecord.action == "password_reset")),
    )


@pytest.fixture
def unit_client(client, world):
    sign_in(client, world.logins["unit"])
    return client


# --- who may open them ---------------------------------------------------------------------


def test_only_a_unit_administrator_opens_the_unit_pages(client, world):
    assert client.get("/unit/members").status_code == 302  # signed out: to the sign-in page
    sign_in(client, world.logins["agency"])
    for path in ("/unit/members", "/unit/codes", "/unit/accounts", "/unit/info"):
        reply = client.get(path)
        assert reply.status_code == 404, path
        assert "页面不存在" in text(reply)


def test_the_unit_menu_has_the_manuals_words(unit_client):
    page = text(unit_client.get("/unit/info"))
    for label in ("单位人员档案", "入会二维码", "电子证书", "学习中", "单位信息", "子账号管理"):
        assert f">{label}</a>" in page, label
    # UI.md's sections, in the manual's order
    sections = ("人员管理", "缴费业务", "普通会员教育学习报名", "普通会员教育学习进度")
    places = [page.index(title) for title in sections]
    assert places == sorted(places)
    for label in ("个人会员申请预审", "个人信息变更", "开票记录", "初始教育", "证书注销"):
        assert f">{label}</a>" in page, label
    # 个人会员申请预审 lists the pre-reviews alone, as 首页 counts them
    assert 'href="/workbench/todo?task_name=unit_pre_review">个人会员申请预审</a>' in page


def test_the_unit_information_is_its_registration_agency_and_contacts(app, unit_client, world):
    post(
        unit_client,
        "/unit/accounts",
        {
            "name": "张敏",
            "mobile": "13800138000",
            "password": "Zhangmin2026",
            "password2": "Zhangmin2026",
        },
    )
    page = text(unit_client.get("/unit/info"))
    assert world.unit_name in page and "广州市建设监理行业协会" in page
    assert "91440101190468342" in page  # the credit code (its check digit follows)
    assert "主账号" in page and "张敏" in page and "13800138000" in page
    main = page.split('<main id="main">', 1)[1]
    assert 'method="post"' not in main  # read-only


# --- scope ---------------------------------------------------------------------------------


def test_another_units_member_certificate_and_codes_are_the_404_page(app, client, world):
    cert = CertificateSeed("监理员", "JL2026990001", NEXT_YEAR)
    theirs = seed(app, world.other_unit_id, "吴海", "44050619800101123", certificates=[cert])
    cert_id = in_db(
        app, lambda s: s.scalar(select(Certificate.id).where(Certificate.member_id == theirs))
    )
    sign_in(client, world.logins["other_unit"])
    made = post(client, "/unit/codes/join", {"variant": "full"})
    their_code = made.headers["Location"].rsplit("/", 1)[1]
    client.post("/logout", data={"csrf_token": csrf(client, "/unit/info")})

    sign_in(client, world.logins["unit"])
    for path in (
        f"/unit/members/{theirs}",
        f"/unit/certificates/{cert_id}.pdf",
        f"/unit/codes/join/{their_code}",
        f"/unit/codes/join/{their_code}/print",
        "/unit/members/999999",
    ):
        reply = client.get(path)
        assert reply.status_code == 404, path
        assert "页面不存在" in text(reply) or "不存在" in text(reply)
    for path in (
        f"/unit/members/{theirs}/password-reset",
        f"/unit/members/{theirs}/codes/resignation",
        f"/unit/members/{theirs}/codes/id_photos",
    ):
        assert post(client, path).status_code == 404, path
    # the batch zip names the stranger instead of leaving them out silently
    reply = post(client, "/unit/certificates/download", {"member_ids": [str(theirs)]})
    assert reply.status_code == 422
    assert "不是本单位人员" in text(reply)
    assert resets(app) == 0


def test_a_post_without_a_csrf_token_changes_nothing(app, unit_client, world):
    mine = seed(app, world.unit_id, "周建国", "44010619800101123")
    form = {"name": "张敏", "mobile": "13800138000", "password": "Zhangmin2026"}
    reply = unit_client.post("/unit/accounts", data={**form, "password2": form["password"]})
    assert reply.status_code == 400 and "缺少安全令牌" in text(reply)
    assert sub_accounts(app, world.unit_id) == []
    for path in (
        f"/unit/members/{mine}/password-reset",
        "/unit/codes/join",
        "/unit/codes/transfer",
        "/unit/certificates/download",
    ):
        assert unit_client.post(path, data={"variant": "full"}).status_code == 400, path
    assert resets(app) == 0


# --- codes ---------------------------------------------------------------------------------


def test_a_join_code_shows_its_qr_and_a_print_view_with_the_unit_and_expiry(
    app, unit_client, world
):
    reply = post(unit_client, "/unit/codes/join", {"variant": "short"})
    assert reply.status_code == 302
    page_url = reply.headers["Location"]
    code = page_url.rsplit("/", 1)[1]
    page = text(unit_client.get(page_url))
    assert "简码版" in page and f'src="/api/v1/join-codes/{code}/qr.png"' in page
    assert "2027-11-28" in page  # valid one year
    assert "切换成完整版二维码" in page
    printed = unit_client.get(page_url + "/print")
    assert printed.status_code == 200
    sheet = text(printed)
    assert world.unit_name in sheet and "有效期至" in sheet and "2027年11月28日" in sheet
    assert f'src="/api/v1/join-codes/{code}/qr.png"' in sheet
    assert 'class="sidemenu"' not in sheet  # only the sheet is printed
    assert unit_client.get(f"/api/v1/join-codes/{code}/qr.png").mimetype == "image/png"
    wrong = post(unit_client, "/unit/codes/join", {"variant": "medium"})
    assert wrong.status_code == 422 and "申请码类型须为" in text(wrong)


def test_transfer_resignation_id_photo_and_password_codes_are_shown_the_same_way(
    app, unit_client, world
):
    mine = seed(app, world.unit_id, "周建国", "44010619800101123")
    expected = {
        "/unit/codes/transfer": ("个人变更单", None),
        f"/unit/members/{mine}/codes/resignation": ("离职（调出）二维码", "周**"),
        f"/unit/members/{mine}/codes/id_photos": ("补充证件照二维码", "周**"),
        f"/unit/members/{mine}/codes/password": ("领取初始密码二维码", "周**"),
    }
    for path, (title, person) in expected.items():
        reply = post(unit_client, path)
        assert reply.status_code == 302, path
        shown = text(unit_client.get(reply.headers["Location"]))
        code = reply.headers["Location"].rsplit("/", 1)[1]
        assert title in shown and f"/api/v1/confirmations/{code}/qr.png" in shown
        if person:
            assert person in shown
        printed = text(unit_client.get(reply.headers["Location"] + "/print"))
        assert world.unit_name in printed and "有效期至" in printed
    assert post(unit_client, f"/unit/members/{mine}/codes/promotion").status_code == 404


# --- 单位人员档案 -----------------------------------------------------------------------------


def rows(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [r for r in body.split("<tr>")[1:] if 'class="empty"' not in r]


def test_the_archive_lists_the_units_members_with_the_manuals_filters(app, unit_client, world):
    cert = CertificateSeed("监理员", "JL2026000001", NEXT_YEAR)
    seed(app, world.unit_id, "周建国", "44010619800101123", certificates=[cert])
    seed(app, world.unit_id, "李晓红", "44010619950505234", memberships={"普通会员": LAST_YEAR})
    seed(
        app,
        world.unit_id,
        "陈专业",
        "44010619700707345",
        memberships={"专业会员": NEXT_YEAR},
        title="高级",
    )
    seed(app, world.other_unit_id, "吴海", "44050619800101123")
    page = text(unit_client.get("/unit/members"))
    for column in (
        "普通会员",
        "专业会员",
        "普通会籍有效期",
        "专业会籍有效期",
        "入会日期",
        "资料审核",
        "监理员证书编号",
    ):
        assert f"<th>{column}</th>" in page
    assert len(rows(page)) == 3 and "吴海" not in page and "JL2026000001" in page
    # the filter is named as its column: 入会日期, from and to as the other lists write them
    assert 'for="joined_from">入会日期（起）</label>' in page and "入会时间" not in page

    def names(query: dict) -> list[str]:
        reply = unit_client.get("/unit/members", query_string=query)
        assert reply.status_code == 200, text(reply)[:400]
        found = re.findall(r'/unit/members/\d+(?:\?next=[^"]*)?">([^<]+)</a></td>', text(reply))
        return sorted(n for n in found if n != "查看")

    assert names({"q": "周"}) == ["周建国"]
    assert names({"has_certificates": "true"}) == ["周建国"]
    assert names({"certificate_type": "监理员"}) == ["周建国"]
    assert names({"membership_expired": "true"}) == ["李晓红"]
    assert names({"level": "专业会员"}) == ["陈专业"]
    assert names({"title": "高级"}) == ["陈专业"]
    assert names({"age_min": "40", "age_max": "50"}) == ["周建国"]  # born 1980
    assert names({"q": "吴海"}) == []


def test_the_archive_page_sorts_by_the_membership_that_ends_first(app, unit_client, world):
    seed(app, world.unit_id, "周建国", "44010619800101123")
    seed(app, world.unit_id, "李晓红", "44010619950505234", memberships={"普通会员": LAST_YEAR})
    reply = unit_client.get("/unit/members", query_string={"sort": "ordinary_until"})
    assert reply.status_code == 200, text(reply)[:400]
    found = re.findall(r'/unit/members/\d+(?:\?next=[^"]*)?">([^<]+)</a></td>', text(reply))
    assert [n for n in found if n != "查看"] == ["李晓红", "周建国"]
    assert '<option value="ordinary_until" selected>' in text(reply)
    wrong = unit_client.get("/unit/members", query_string={"sort": "age"})
    assert wrong.status_code == 422 and "排序：应为 档案顺序" in text(wrong)


@pytest.mark.parametrize(
    "query, message",
    [
        ({"age_min": "老"}, "年龄：应为0至150之间的整数"),
        ({"age_min": "60", "age_max": "30"}, "年龄区间的下限不能大于上限"),
        ({"has_certificates": "maybe"}, "应为“是”或“否”"),
        ({"title": "特级"}, "应为 无、初级、中级、高级 之一"),
        ({"joined_from": "2026-13-01"}, "请输入有效日期"),
        ({"colour": "red"}, "不支持的查询条件「colour」"),
    ],
)
def test_a_wrong_archive_filter_is_a_422_naming_it(unit_client, query, message):
    reply = unit_client.get("/unit/members", query_string=query)
    assert reply.status_code == 422
    assert message in text(reply)
    export = unit_client.get("/unit/members/export.xlsx", query_string=query)
    assert export.status_code == 422 and message in text(export)


def test_a_wrong_filter_value_stays_in_sight_beside_its_error(unit_client):
    """The boxes a refused filter names show what was given (a number box would show it
    empty; a list of choices would show 全部), so the error points at something."""
    reply = unit_client.get("/unit/members?age_min=老&title=特级&education=博士后")
    assert reply.status_code == 422
    html = reply.get_data(as_text=True)
    assert re.search(r'<input id="age_min" type="text" name="age_min" value="老"', html)
    assert '<option value="特级" selected>特级（无效）</option>' in html
    assert '<option value="博士后" selected>博士后（无效）</option>' in html
    fine = unit_client.get("/unit/members?title=中级").get_data(as_text=True)
    assert "（无效）" not in fine and '<option value="中级" selected>' in fine


def test_the_archive_export_has_the_lists_filters_and_only_the_units_members(
    app, unit_client, world
):
    seed(app, world.unit_id, "周建国", "44010619800101123")
    seed(app, world.unit_id, "李晓红", "44010619950505234")
    seed(app, world.other_unit_id, "吴海", "44050619800101123")
    page = text(unit_client.get("/unit/members?q=周"))
    export_form = page.split('class="export"', 1)[1].split("</form>", 1)[0]
    assert ">导出</button>" in export_form  # the export carries the list's filters
    assert '<input type="hidden" name="q" value="周">' in export_form
    reply = unit_client.get("/unit/members/export.xlsx?q=周")
    assert reply.status_code == 200 and reply.mimetype == XLSX_MIMETYPE
    sheet = load_workbook(io.BytesIO(reply.data)).worksheets[0]
    names = [r[3].value for r in sheet.iter_rows(min_row=2)]
    assert names == ["周建国"]


# --- one-time passwords ----------------------------------------------------------------------


def test_a_new_members_initial_password_is_shown_once_and_signs_them_in(app, client, world):
    mine = seed(app, world.unit_id, "周建国", "44010619800101123")
    number = member_id_number(app, mine)
    sign_in(client, world.logins["unit"])
    before = text(client.get(f"/unit/members/{mine}"))
    assert "尚未发放初始密码" in before and "发放初始密码" in before
    issued = post(client, f"/unit/members/{mine}/password-reset")
    assert issued.status_code == 302  # post/redirect/get: a reload never resets again
    reply = client.get(issued.headers["Location"])
    assert reply.status_code == 200
    assert reply.headers["Cache-Control"] == "no-store"
    password = BIG.search(text(reply)).group(1)
    assert len(password) >= 8 and "只显示这一次" in text(reply)
    after = client.get(f"/unit/members/{mine}")
    assert password not in text(after) and "已发放一次性密码" in text(after)
    assert password not in text(client.get("/unit/members"))
    again = client.get(issued.headers["Location"])  # reloaded: not shown, not reset
    assert again.status_code == 410 and password not in text(again)
    assert "一次性密码已显示过" in text(again)
    # the member signs in with it and is sent to change it first
    person = app.test_client()
    landing = sign_in(person, number, password)
    assert landing.headers["Location"].startswith("/password")


def test_a_reset_for_a_member_without_an_account_says_why(app, unit_client, world):
    mine = seed(app, world.unit_id, "周建国", "44010619800101123")
    in_db(app, lambda s: (s.query(Account).filter(Account.member_id == mine).delete(), s.commit()))
    page = text(unit_client.get(f"/unit/members/{mine}"))
    assert "尚未开通" in page and "发放初始密码" not in page
    reply = post(unit_client, f"/unit/members/{mine}/password-reset")
    assert reply.status_code == 404 and "还没有会员账号" in text(reply)


# --- sub-accounts ----------------------------------------------------------------------------


def add_sub(client, name: str, mobile: str, password: str = "Subaccount2026", again=None):
    return post(
        client,
        "/unit/accounts",
        {"name": name, "mobile": mobile, "password": password, "password2": again or password},
    )


def test_at_most_three_sub_accounts_and_the_fourth_is_refused_with_the_reason(
    app, unit_client, world
):
    for i in range(3):
        reply = add_sub(unit_client, f"子账号{i}", f"1380013800{i}")
        assert reply.status_code == 302, text(reply)[:500]
    page = text(unit_client.get("/unit/accounts"))
    assert "子账号（3 / 3）" in page and "不能再新增" in page
    fourth = add_sub(unit_client, "第四个", "13800138009")
    assert fourth.status_code == 409
    assert "每个单位最多设置3个子账号，本单位已满" in text(fourth)
    assert len(sub_accounts(app, world.unit_id)) == 3


@pytest.mark.parametrize(
    "name, mobile, password, again, field_message",
    [
        ("", "13800138000", "Subaccount2026", None, "请填写姓名"),
        ("张敏", "12345", "Subaccount2026", None, "手机号"),
        ("张敏", "13800138000", "short", None, "至少8位"),
        ("张敏", "13800138000", "Subaccount2026", "Different2026", "两次输入的密码不一致"),
    ],
)
def test_a_wrong_sub_account_form_is_a_422_at_its_field(
    app, unit_client, world, name, mobile, password, again, field_message
):
    reply = add_sub(unit_client, name, mobile, password, again)
    assert reply.status_code == 422
    page = text(reply)
    assert field_message in page and 'aria-invalid="true"' in page
    assert sub_accounts(app, world.unit_id) == []


def test_a_sub_account_is_edited_disabled_enabled_and_its_password_reset_once(app, client, world):
    sign_in(client, world.logins["unit"])
    assert add_sub(client, "张敏", "13800138000", "Zhangmin2026").status_code == 302
    account_id = in_db(
        app, lambda s: s.scalar(select(Account.id).where(Account.username == "13800138000"))
    )
    # edit: a new mobile is the new login
    edited = post(
        client, f"/unit/accounts/{account_id}/edit", {"name": "张敏华", "mobile": "13900139000"}
    )
    assert edited.status_code == 302
    assert sub_accounts(app, world.unit_id) == [("13900139000", True)]
    bad = post(
        client,
        f"/unit/accounts/{account_id}/edit",
        {"name": "张敏华", "mobile": world.logins["unit"]},
    )
    assert bad.status_code == 422 and "手机号" in text(bad)
    # disable: the sub-account can no longer sign in; enable: it can again
    assert post(client, f"/unit/accounts/{account_id}/disable").status_code == 302
    assert sub_accounts(app, world.unit_id) == [("13900139000", False)]
    sign_in(app.test_client(), "13900139000", "Zhangmin2026", expect=401)
    refused = app.test_client().post(
        "/api/v1/auth/token", json={"username": "13900139000", "password": "Zhangmin2026"}
    )  # told whom to ask: its unit disabled it
    assert refused.get_json()["message"] == "该账号已停用，请联系本单位主账号（单位管理员）启用"
    assert post(client, f"/unit/accounts/{account_id}/enable").status_code == 302
    sign_in(app.test_client(), "13900139000", "Zhangmin2026")
    # reset: the one-time password shows in this reply only
    issued = post(client, f"/unit/accounts/{account_id}/password-reset")
    reply = client.get(issued.headers["Location"])
    assert reply.status_code == 200 and reply.headers["Cache-Control"] == "no-store"
    password = BIG.search(text(reply)).group(1)
    assert password not in text(client.get("/unit/accounts"))
    landing = sign_in(app.test_client(), "13900139000", password)
    assert landing.headers["Location"].startswith("/password")
    # the main account is not a sub-account: the secretariat keeps it
    main_id = in_db(
        app, lambda s: s.scalar(select(Account.id).where(Account.username == world.logins["unit"]))
    )
    assert post(client, f"/unit/accounts/{main_id}/disable").status_code == 404
    refused = post(client, f"/unit/accounts/{main_id}/password-reset")
    assert refused.status_code == 403 and "协会秘书处" in text(refused)
    # a mobile another account signs in with is refused at its field
    assert add_sub(client, "李强", "13700137001").status_code == 302
    taken = post(
        client, f"/unit/accounts/{account_id}/edit", {"name": "张敏华", "mobile": "13700137001"}
    )
    assert taken.status_code == 422 and "该手机号已被其他账号使用" in text(taken)
    assert sub_accounts(app, world.unit_id) == [("13900139000", True), ("13700137001", True)]


def test_another_units_sub_account_is_the_404_page(app, client, world):
    sign_in(client, world.logins["other_unit"])
    assert add_sub(client, "别家", "13700137000").status_code == 302
    theirs = in_db(
        app, lambda s: s.scalar(select(Account.id).where(Account.username == "13700137000"))
    )
    client.post("/logout", data={"csrf_token": csrf(client, "/unit/info")})
    sign_in(client, world.logins["unit"])
    assert client.get(f"/unit/accounts/{theirs}/edit").status_code == 404
    for action in ("disable", "enable", "password-reset", "edit"):
        reply = post(
            client, f"/unit/accounts/{theirs}/{action}", {"name": "x", "mobile": "13600136000"}
        )
        assert reply.status_code == 404, action
    assert sub_accounts(app, world.other_unit_id) == [("13700137000", True)]


# --- certificates ----------------------------------------------------------------------------


def test_certificates_download_one_pdf_or_several_in_one_zip(app, unit_client, world, monkeypatch):
    a = seed(
        app,
        world.unit_id,
        "周建国",
        "44010619800101123",
        certificates=[CertificateSeed("监理员", "JL2026000001", NEXT_YEAR)],
    )
    b = seed(
        app,
        world.unit_id,
        "李晓红",
        "44010619950505234",
        certificates=[CertificateSeed("安全监理员", "AQ2026000002", NEXT_YEAR)],
    )
    page = text(unit_client.get("/unit/certificates"))
    assert "JL2026000001" in page and "AQ2026000002" in page
    assert text(unit_client.get("/unit/certificates?certificate_type=监理员")).count("下载PDF") == 1
    bad = unit_client.get("/unit/certificates?certificate_type=总监")
    assert bad.status_code == 422 and "证书类型" in text(bad)
    cert_id = int(re.search(r"/unit/certificates/(\d+)\.pdf", page).group(1))
    pdf = unit_client.get(f"/unit/certificates/{cert_id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    ticked = post(unit_client, "/unit/certificates/download", {"member_ids": [str(a)]})
    assert ticked.status_code == 200 and ticked.mimetype == "application/zip"
    assert [n for n in zipfile.ZipFile(io.BytesIO(ticked.data)).namelist()] == [
        "周建国_监理员_JL2026000001.pdf"
    ]
    whole = post(
        unit_client,
        "/unit/certificates/download",
        {"scope": "page", "page_member_ids": [str(a), str(b)]},
    )
    assert len(zipfile.ZipFile(io.BytesIO(whole.data)).namelist()) == 2
    none = post(unit_client, "/unit/certificates/download", {"scope": "ticked"})
    assert none.status_code == 302
    assert "请先勾选" in text(unit_client.get(none.headers["Location"]))
    forged = post(unit_client, "/unit/certificates/download", {"member_ids": ["1x"]})
    assert forged.status_code == 422

    # 下载全部筛选结果的证书: every page's persons the filters find, not only this page's
    assert "下载全部筛选结果的证书" in text(unit_client.get("/unit/certificates?page_size=1"))
    assert "下载全部筛选结果的证书" not in page  # one page: 下载本页全部证书 is the same
    found = post(unit_client, "/jobs/certificates", {"scope": "all", "certificate_type": "监理员"})
    assert found.status_code == 200 and found.mimetype == "application/zip"
    assert zipfile.ZipFile(io.BytesIO(found.data)).namelist() == ["周建国_监理员_JL2026000001.pdf"]
    every = post(unit_client, "/jobs/certificates", {"scope": "all"})
    assert len(zipfile.ZipFile(io.BytesIO(every.data)).namelist()) == 2
    # a list filtered by 证书类型 downloads that type alone, whichever button: 周建国's
    # 安全监理员 certificate stays out of the 监理员 list's zip

    def another(session):
        session.add(
            Certificate(
                member_id=a,
                type="安全监理员",
                number="AQ2026000003",
                first_issued_on=date(2025, 1, 1),
                valid_until=NEXT_YEAR,
                unit_name=world.unit_name,
            )
        )
        session.commit()

    in_db(app, another)
    for scope in ("all", "page", "ticked"):
        typed = post(
            unit_client,
            "/jobs/certificates",
            {
                "scope": scope,
                "certificate_type": "监理员",
                "page_member_ids": [str(a)],
                "member_ids": [str(a)],
            },
        )
        assert typed.status_code == 200, (scope, typed.status_code)
        assert zipfile.ZipFile(io.BytesIO(typed.data)).namelist() == [
            "周建国_监理员_JL2026000001.pdf"
        ], scope
    wrong = post(unit_client, "/jobs/certificates", {"scope": "page", "certificate_type": "总监"})
    assert wrong.status_code == 302
    assert "证书类型有误" in text(unit_client.get(wrong.headers["Location"]))
    monkeypatch.setattr(certificate_documents, "MAX_BATCH", 1)
    over = post(unit_client, "/jobs/certificates", {"scope": "all", "next": "/unit/certificates"})
    assert over.status_code == 302
    assert "筛选结果共2人，超过每次最多1人" in text(unit_client.get(over.headers["Location"]))


# --- 学习进度 ---------------------------------------------------------------------------------


def test_learning_progress_is_filtered_and_exported(app, client, world):
    unit = token_headers(client, world.logins["unit"])
    inst = start_form(client, unit, "member_join", applicant_data(client, unit))
    mine = seed(app, world.unit_id, "周建国", "44010619800101123")
    number = member_id_number(app, mine)

    def add(s):
        for name, status, key in (
            ("周建国", "学习中", "continuing_education"),
            ("李晓红", "已通过", "initial_education"),
        ):
            s.add(
                LearningTask(
                    instance_id=inst["id"],
                    unit_id=world.unit_id,
                    member_id=mine if name == "周建国" else None,
                    id_number=number if name == "周建国" else make_resident_id("44010619950505234"),
                    name=name,
                    process_key=key,
                    certificate_type="监理员",
                    required_hours=Decimal(24),
                    completed_hours=Decimal("0") if name == "周建国" else Decimal("7.5"),
                    status=status,
                )
            )
        s.commit()

    in_db(app, add)
    sign_in(client, world.logins["unit"])
    page = text(client.get("/unit/learning"))
    assert "监理员继续教育" in page and "监理员初始教育" in page
    # whole hours without decimals, as the association's pages and the export write them
    detail = text(client.get(f"/forms/{inst['id']}"))
    for shown in (page, detail):
        assert "0/24" in shown and "7.5/24" in shown and ".0/" not in shown
    # the date pair's boxes are named as the other lists name theirs: 提交日期（起）
    assert 'for="opened_from">开始学习日期（起）</label>' in page
    assert 'for="opened_to">开始学习日期（止）</label>' in page
    # the status panel counts each status under the other filters, as the other lists do
    panel = dict(re.findall(r'<span>(\S+?)</span><span class="n">(\d+)</span>', page))
    assert panel == {
        "全部": "2",
        "开课未学习": "0",
        "学习中": "1",
        "已通过": "1",
        "未通过": "0",
        "已过期": "0",
    }
    named = text(client.get("/unit/learning?q=周建国&status=已通过"))
    assert (
        dict(re.findall(r'<span>(\S+?)</span><span class="n">(\d+)</span>', named))["学习中"] == "1"
    )
    studying = text(client.get("/unit/learning?status=学习中"))
    assert "周建国" in studying and "李晓红" not in studying
    assert "李晓红" in text(client.get("/unit/learning?process=initial_education"))
    for query, message in (
        ({"year": "1999"}, "年份应为2000至2100之间的整数"),
        ({"status": "休学"}, "学习状态"),
        ({"opened_from": "2026-05-01", "opened_to": "2026-04-01"}, "不能晚于"),
    ):
        reply = client.get("/unit/learning", query_string=query)
        assert reply.status_code == 422 and message in text(reply), query
    export = client.get("/unit/learning/export.xlsx?status=学习中")
    assert export.status_code == 200 and export.mimetype == XLSX_MIMETYPE
    sheet = load_workbook(io.BytesIO(export.data)).worksheets[0]
    assert [r[2].value for r in sheet.iter_rows(min_row=2)] == ["周建国"]


def test_only_a_valid_certificate_row_can_be_ticked_for_the_zip(app, unit_client, world):
    """The zip holds valid certificates only: an expired certificate's row offers no box to
    tick (ticking it packed nothing, silently), a valid one's picks its holder."""
    member = seed(
        app,
        world.unit_id,
        "邓丽华",
        "44010619870707456",
        certificates=[
            CertificateSeed("监理员", "JL2026000011", NEXT_YEAR),
            CertificateSeed("安全监理员", "AQ2020000011", LAST_YEAR),
        ],
    )
    html = unit_client.get("/unit/certificates?q=邓丽华").get_data(as_text=True)
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    rows = [row for row in body.split("<tr>") if "JL2026000011" in row or "AQ2020000011" in row]
    ticks = {("JL2026000011" in row): 'type="checkbox"' in row for row in rows}
    assert ticks == {True: True, False: False}, rows
    assert f'name="member_ids" value="{member}"' in html


def test_a_sub_account_sees_the_sub_accounts_but_only_the_main_account_manages_them(
    app, client, world
):
    """Manual 3.15: sub-accounts are added in the main account (登录公司主账号→单位信息→
    管理员维护). A sub-account does the unit's business as the main account does, but may
    not add, edit, disable or reset another sub-account (it would take one over): its page
    lists them without the buttons and says who manages them; each POST is a 403 and
    nothing changes, through the pages and the API alike."""
    sign_in(client, world.logins["unit"])
    assert add_sub(client, "张敏", "13800138000", "Zhangmin2026").status_code == 302
    assert add_sub(client, "李强", "13700137001", "Liqiang2026x").status_code == 302
    other = in_db(
        app, lambda s: s.scalar(select(Account.id).where(Account.username == "13700137001"))
    )
    sub = app.test_client()
    landing = sign_in(sub, "13800138000", "Zhangmin2026")
    assert landing.status_code == 302
    page = text(sub.get("/unit/accounts"))
    assert "李强" in page and "请用主账号登录后操作" in page
    assert "重置密码</button>" not in page and "新增子账号</button>" not in page
    for path, form in (
        ("/unit/accounts", {"name": "王五", "mobile": "13600136000", "password": "Wangwu2026x"}),
        (f"/unit/accounts/{other}/edit", {"name": "李强强", "mobile": "13600136001"}),
        (f"/unit/accounts/{other}/disable", {}),
        (f"/unit/accounts/{other}/password-reset", {}),
    ):
        if path == "/unit/accounts":
            form["password2"] = form["password"]
        reply = post(sub, path, form)
        assert reply.status_code == 403, (path, text(reply)[:500])
        assert "子账号由单位主账号管理" in text(reply), path
    token = sub.post(
        "/api/v1/auth/token", json={"username": "13800138000", "password": "Zhangmin2026"}
    ).get_json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    for path, body in (
        (
            f"/api/v1/units/{world.unit_id}/accounts",
            {"name": "王五", "mobile": "13600136000", "password": "Wangwu2026x"},
        ),
        (f"/api/v1/units/{world.unit_id}/accounts/{other}/password-reset", None),
    ):
        reply = sub.post(path, headers=bearer, json=body)
        assert reply.status_code == 403, (path, reply.get_json())
        assert "子账号由单位主账号管理" in reply.get_json()["message"]
    assert sub_accounts(app, world.unit_id) == [("13800138000", True), ("13700137001", True)]
    sign_in(app.test_client(), "13700137001", "Liqiang2026x")  # its password unchanged
    # the main account's page keeps its buttons
    assert "重置密码</button>" in text(client.get("/unit/accounts"))
