"""A unit administrator's batches in Chromium: initial passwords for the people ticked in the
archive, and certificates of people ticked on several pages of 电子证书."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
from browsing import assert_labelled, sign_in
from conftest import PASSWORD, in_db, member_headers
from playwright.sync_api import expect

from service.domain.validation import make_resident_id
from service.services.membership.roster import CertificateSeed, MemberSeed, add_member

pytestmark = pytest.mark.postgres


def member(live, name: str, prefix: str, **kwargs) -> str:
    """A member of the live unit, with a member account; its ID number."""
    number = make_resident_id(prefix)

    def add(session):
        add_member(session, MemberSeed(name, number, live.world.unit_id, **kwargs))
        session.commit()

    in_db(live.app, add)
    return number


def signs_in(live, username: str, password: str) -> bool:
    reply = live.client().post(
        "/api/v1/auth/token", json={"username": username, "password": password}
    )
    return reply.status_code == 200


def test_a_unit_ticks_two_people_and_issues_their_initial_passwords_once(live, contexts):
    numbers = {
        "周建国": member(live, "周建国", "44010619800101123"),
        "何美玲": member(live, "何美玲", "44010619850505234"),
    }
    member(live, "林小梅", "44010619830303345")  # not ticked: keeps her password
    client = live.client()
    for number in [*numbers.values(), make_resident_id("44010619830303345")]:
        member_headers(client, number)  # each has signed in and set PASSWORD
    page = contexts().new_page()
    sign_in(page, live, live.world.logins["unit"])

    page.goto(live.url + "/unit/members")
    assert_labelled(page)
    page.get_by_label("选择周建国").check()
    page.get_by_label("选择何美玲").check()
    page.get_by_role("button", name="批量生成初始密码").click()
    expect(page.get_by_role("heading", name="批量生成初始密码")).to_be_visible()
    expect(page.locator("main")).to_contain_text("将为以下 2 人生成初始密码")
    with page.expect_response(lambda r: r.url.endswith("/unit/members/initial-passwords")) as sent:
        page.get_by_role("button", name="确认生成").click()
    assert sent.value.headers["cache-control"] == "no-store"
    expect(page.get_by_role("heading", name="初始密码")).to_be_visible()
    expect(page.locator("main")).to_contain_text("只显示这一次")

    table = page.get_by_role("table", name="初始密码")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(2)
    shown = {}
    for i in range(2):
        cells = rows.nth(i).locator("td")
        shown[cells.nth(1).inner_text()] = (cells.nth(2).inner_text(), cells.nth(3).inner_text())
    assert {name: login for name, (login, _) in shown.items()} == numbers

    # the print button (shown by the script) prints the table without the menus
    expect(page.get_by_role("button", name="打印")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.locator(".sidemenu")).to_be_hidden()
    expect(page.get_by_role("button", name="打印")).to_be_hidden()
    expect(table).to_be_visible()
    page.emulate_media(media="screen")

    for name, (login, password) in shown.items():
        assert not signs_in(live, login, PASSWORD), name  # the old password no longer
        assert signs_in(live, login, password), name
    assert signs_in(live, make_resident_id("44010619830303345"), PASSWORD)

    page.reload()  # sent again: nothing reset, nothing shown
    expect(page.locator("main")).not_to_contain_text(next(iter(shown.values()))[1])
    for login, password in shown.values():
        assert signs_in(live, login, password)


NAMES = (
    "周建国",
    "何美玲",
    "林小梅",
    "陈志强",
    "黄丽华",
    "吴国平",
    "郑秀英",
    "王建军",
    "李春梅",
    "张伟东",
    "刘海燕",
)


def test_ticks_on_two_pages_of_certificates_go_into_one_zip(live, contexts):
    """电子证书 keeps the ticks between its pages (已选 N 人): one on page 1, one on page 2,
    and the zip holds both people's certificates; 清除选择 forgets them."""
    for i, name in enumerate(NAMES):  # 11 certificates: 10 on page 1, the last on page 2
        cert = CertificateSeed("监理员", f"JL20240001{i:02d}", date(2029, 6, 30))
        member(live, name, f"44010619800101{100 + i:03d}", certificates=[cert])
    page = contexts().new_page()
    sign_in(page, live, live.world.logins["unit"])
    page.goto(live.url + "/unit/certificates?page_size=10")
    picks = page.locator("[data-picks-count]")
    expect(picks).to_have_text("已选 0 人")
    page.get_by_label("选择周建国（打包其全部有效证书）").check()
    expect(picks).to_have_text("已选 1 人")

    page.get_by_role("link", name="下一页").click()
    expect(page.locator("main")).to_contain_text("第 2 / 2 页")
    expect(picks).to_have_text("已选 1 人")  # page 1's tick is kept
    page.get_by_label("选择刘海燕（打包其全部有效证书）").check()
    expect(picks).to_have_text("已选 2 人")
    with page.expect_download() as got:
        page.get_by_role("button", name="下载所选人员的证书").click()
    names = _zip_names(got.value)
    assert sorted(n for n in names if n.endswith(".pdf")) == [
        "刘海燕_监理员_JL2024000110.pdf",
        "周建国_监理员_JL2024000100.pdf",
    ], names

    page.get_by_role("link", name="上一页").click()  # back on page 1: its tick restored
    expect(page.get_by_label("选择周建国（打包其全部有效证书）")).to_be_checked()
    page.get_by_role("button", name="清除选择").click()
    expect(picks).to_have_text("已选 0 人")
    expect(page.get_by_label("选择周建国（打包其全部有效证书）")).not_to_be_checked()
    page.reload()
    expect(picks).to_have_text("已选 0 人")


def _zip_names(download) -> list[str]:
    with open(download.path(), "rb") as f:
        return zipfile.ZipFile(io.BytesIO(f.read())).namelist()
