"""A new member and the secretariat in Chromium: the forced password change before 我的信息 and
a certificate's PDF; a disabled reviewer signed out at their next page load."""

from __future__ import annotations

import re
from datetime import date

import pytest
from browsing import assert_labelled, sign_in
from conftest import in_db, token_headers
from playwright.sync_api import expect

from service.domain.validation import make_resident_id
from service.services.membership.roster import CertificateSeed, MemberSeed, add_member

pytestmark = pytest.mark.postgres
NEW_PASSWORD = "Zhujiang-2026"


def test_a_new_member_changes_the_password_then_downloads_a_certificate_pdf(live, contexts):
    number = make_resident_id("44010619880808123")
    seed = MemberSeed(
        "孙立新",
        number,
        live.world.unit_id,
        memberships={"普通会员": date(2028, 3, 11)},
        certificates=[CertificateSeed("监理员", "JL-2025-0042", date(2028, 3, 11))],
    )
    member_id = in_db(live.app, lambda s: (add_member(s, seed).id, s.commit())[0])
    client = live.client()
    unit = token_headers(client, live.world.logins["unit"])
    base = f"/api/v1/units/{live.world.unit_id}/members/{member_id}"
    one_time = client.post(f"{base}/password-reset", headers=unit).get_json()["password"]

    page = contexts().new_page()
    sign_in(page, live, number, one_time)
    expect(page).to_have_url(re.compile(r"/password\?next=/me$"))
    page.get_by_label("当前密码", exact=True).fill(one_time)
    page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("再次输入新密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="保存新密码").click()

    expect(page).to_have_url(f"{live.url}/me")
    expect(page.get_by_role("heading", name="我的信息")).to_be_visible()
    expect(page.locator("main")).to_contain_text("2028-03-11")
    assert_labelled(page)
    row = page.get_by_role("row").filter(has_text="JL-2025-0042")
    with page.expect_download() as downloading:
        row.get_by_role("link", name="下载PDF").click()
    download = downloading.value
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"


def test_the_secretariat_disables_a_reviewer_who_is_signed_out_at_the_next_page(live, contexts):
    reviewer = contexts().new_page()
    sign_in(reviewer, live, "jigou")
    expect(reviewer).to_have_url(f"{live.url}/workbench/todo")

    admin = contexts().new_page()
    sign_in(admin, live, "admin")
    admin.get_by_role("link", name="工作人员").click()
    admin.get_by_label("登录名 / 姓名").fill("jigou")
    admin.get_by_role("button", name="查询").click()
    admin.wait_for_url(re.compile(r"[?&]q=jigou"))  # the list queried, loaded
    assert_labelled(admin)
    admin.once("dialog", lambda dialog: dialog.accept())  # 停用 asks first
    admin.get_by_role("button", name="停用 jigou", exact=True).click()
    expect(admin.locator(".flash.success")).to_contain_text("已停用")

    reviewer.reload()
    expect(reviewer).to_have_url(re.compile(r"/login\?next="))
    expect(reviewer.get_by_role("button", name="登录")).to_be_visible()
